"""What the PRRT viewsets share: one 400 shape, body parsing, the action schema."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from netcare.api import (
    CONFLICT,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    NetcareViewMixin,
    exception_handler,
)
from netcare.workflow import (
    TransitionInvalid,
)

# --- shared view pieces ---------------------------------------------------------------------


def prrt_exception_handler(exc, context):
    """NETcare's handler; a service's refusal that names its field answers like a serializer's
    field error, so every 400 here has one shape."""
    if isinstance(exc, TransitionInvalid) and exc.field:
        exc = serializers.ValidationError({exc.field: [exc.message]})
    return exception_handler(exc, context)


class PrrtViewMixin(NetcareViewMixin):
    def get_exception_handler(self):
        return prrt_exception_handler

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
