"""Read queries for the patient record, scoped by netcare.access."""

from __future__ import annotations

from netcare import access
from patients.models import Patient


def patient_record_for(user, external_id) -> Patient:
    """One patient with what the record page shows, or 404 outside the user's scope."""
    return access.get_object_for(
        user,
        access.visible_patients(user).select_related(
            "centre", "referring_oncologist", "primary_oncologist", "tumour"),
        patient_path="", external_id=external_id,
    )
