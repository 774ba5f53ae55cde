"""What the PRRT viewsets share: body parsing and the action schema. Their errors, a service's
refusal naming its field included, answer in the API's one shape (netcare.api)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from netcare.api import (
    CONFLICT,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    NetcareViewMixin,
)

# --- shared view pieces ---------------------------------------------------------------------


class PrrtViewMixin(NetcareViewMixin):
    def parse(self, serializer_class) -> dict:
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return dict(body.validated_data)


def action_schema(summary: str, request, response, *, description: str = "",
                   operation_id: str):
    return extend_schema(
        summary=summary, description=description, request=request, operation_id=operation_id,
        responses={200: response, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
