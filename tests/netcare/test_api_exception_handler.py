"""netcare.api.exception_handler: NETcare's errors become the HTTP answers the API promises."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework.exceptions import ValidationError as DRFValidationError

from netcare.api import exception_handler
from netcare.workflow import TransitionConflict, TransitionForbidden, TransitionInvalid
from rules import RulesInputError


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (TransitionConflict("Cannot accept the referral: it is declined now."), 409,
         {"detail": "Cannot accept the referral: it is declined now.", "field": None}),
        (TransitionForbidden("Your role cannot accept the referral."), 403,
         {"detail": "Your role cannot accept the referral.", "field": None}),
        (TransitionInvalid("A reason is required.", field="reason"), 400,
         {"detail": "A reason is required.", "field": "reason"}),
        (ValidationError({"unit": "Unknown unit."}), 400, {"unit": ["Unknown unit."]}),
        (ValidationError({"__all__": ["Out of range."], "value": ["Too big.", "Odd."]}), 400,
         {"non_field_errors": ["Out of range."], "value": ["Too big.", "Odd."]}),
        (ValidationError("Not allowed now."), 400, {"non_field_errors": ["Not allowed now."]}),
        (RulesInputError("labs.platelets.unit", "unknown unit 'G/L'"), 400,
         {"unit": ["unknown unit 'G/L'"]}),
        (Http404("Not found."), 404, {"detail": "Not found."}),
        (PermissionDenied(), 403, None),
        (DRFValidationError({"value": ["Bad."]}), 400, {"value": ["Bad."]}),
    ],
)
def test_errors_map_to_their_status_and_body(exc, status, body):
    response = exception_handler(exc, {})
    assert response.status_code == status
    if body is not None:
        assert response.data == body


def test_other_exceptions_are_left_to_fail_loudly():
    assert exception_handler(RuntimeError("boom"), {}) is None
