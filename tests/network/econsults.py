"""Helpers of the e-consult, contact and bulletin tests: e-consults in any state, a summary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from network.models import EConsult, EConsultState

SUMMARY = {
    "question": "Is she a candidate for PRRT?",
    "primary_site": "small_bowel", "grade": "G2", "ki67_percent": Decimal("4.0"),
    "sstr_imaging": True, "sstr_modality": "ga68_dotatate_pet",
    "sstr_imaging_on": dt.date(2026, 10, 1), "sstr_positive": True,
    "current_ssa": "octreotide_lar", "labs_on": dt.date(2026, 11, 15),
    "labs": "Platelets 210, creatinine 0.9 mg/dL.",
}


def make_econsult(*, centre, asked_by, state=EConsultState.ASKED, answered_by=None,
                  **overrides) -> EConsult:
    """An e-consult created in `state` (as if its earlier steps were taken)."""
    now = timezone.now()
    fields = {**SUMMARY, **overrides}
    if state in (EConsultState.ANSWERED, EConsultState.CLOSED):
        fields.setdefault("answer", "Yes: refer her.")
        fields.setdefault("answered_at", now)
        fields.setdefault("response_hours", Decimal("2.0"))
        fields.setdefault("answered_by", answered_by)
    if state in (EConsultState.CLOSED, EConsultState.WITHDRAWN):
        fields.setdefault("closed_at", now)
    return EConsult.objects.create(centre=centre, asked_by=asked_by, state=state,
                                   asked_at=now - dt.timedelta(hours=2), **fields)
