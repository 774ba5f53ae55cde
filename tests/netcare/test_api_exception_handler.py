"""netcare.api.exception_handler: NETcare's errors become the HTTP answers the API promises, in
two shapes only: every 400 is `InvalidInput` (naming the field), every other error `Error`."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework.exceptions import MethodNotAllowed, NotAuthenticated, ParseError
from rest_framework.exceptions import ValidationError as DRFValidationError

from netcare.api import exception_handler
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from rules import RulesInputError


def invalid(errors: dict, field: str | None) -> dict:
    """The one 400 shape: the first message, the field it is about, every message by field."""
    first = errors[field if field is not None else "non_field_errors"][0]
    return {"detail": first, "field": field, "errors": errors}


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (TransitionConflict("Cannot accept the referral: it is declined now."), 409,
         {"detail": "Cannot accept the referral: it is declined now.", "field": None}),
        (TransitionForbidden("Your role cannot accept the referral."), 403,
         {"detail": "Your role cannot accept the referral.", "field": None}),
        (TransitionInvalid("A reason is required.", field="reason"), 400,
         invalid({"reason": ["A reason is required."]}, "reason")),
        (TransitionInvalid("Not now."), 400, invalid({"non_field_errors": ["Not now."]}, None)),
        (ValidationError({"unit": "Unknown unit."}), 400,
         invalid({"unit": ["Unknown unit."]}, "unit")),
        (ValidationError({"__all__": ["Out of range."], "value": ["Too big.", "Odd."]}), 400,
         invalid({"non_field_errors": ["Out of range."], "value": ["Too big.", "Odd."]},
                 "value")),
        (ValidationError("Not allowed now."), 400,
         invalid({"non_field_errors": ["Not allowed now."]}, None)),
        (RulesInputError("labs.platelets.unit", "unknown unit 'G/L'"), 400,
         invalid({"unit": ["unknown unit 'G/L'"]}, "unit")),
        (Http404("Not found."), 404, {"detail": "Not found.", "field": None}),
        (PermissionDenied(), 403, None),
        (NotAuthenticated(), 401, {"detail": NotAuthenticated.default_detail, "field": None}),
        (MethodNotAllowed("PATCH"), 405, {"detail": 'Method "PATCH" not allowed.',
                                          "field": None}),
        (ParseError("JSON parse error - Expecting value"), 400,
         invalid({"non_field_errors": ["JSON parse error - Expecting value"]}, None)),
        (DRFValidationError({"value": ["Bad."]}), 400, invalid({"value": ["Bad."]}, "value")),
        # Nested serializers and list items are named by their path in the request body.
        (DRFValidationError({"categories": {0: ["Not a category."]},
                             "owner": {"non_field_errors": ["Give one."]}}), 400,
         invalid({"categories.0": ["Not a category."], "owner.non_field_errors": ["Give one."]},
                 "categories.0")),
        (DRFValidationError([{}, {"value": ["Bad."]}]), 400,
         invalid({"1.value": ["Bad."]}, "1.value")),
        (DRFValidationError("Invalid data."), 400,
         invalid({"non_field_errors": ["Invalid data."]}, None)),
    ],
)
def test_errors_map_to_their_status_and_body(exc, status, body):
    response = exception_handler(exc, {})
    assert response.status_code == status
    if body is not None:
        assert response.data == body
    assert set(response.data) == ({"detail", "field", "errors"} if status == 400
                                  else {"detail", "field"})


def test_other_exceptions_are_left_to_fail_loudly():
    assert exception_handler(RuntimeError("boom"), {}) is None
