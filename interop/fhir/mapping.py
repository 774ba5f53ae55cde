"""Helpers shared by the mapping modules (``mapping_*.py``): references, numbers and meta.

Each mapping module holds pure functions from NETcare records to fhir.resources R4B models: they
read what they are given (loaded with its related rows by the registry's querysets) and query
nothing themselves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from interop.fhir import codes


def number(value: Decimal) -> Decimal:
    """``210.0000`` as ``210``, ``0.9000`` as ``0.9``: no exponent, no trailing zeros."""
    return Decimal(format(Decimal(value).normalize(), "f"))


def meta(last_updated: dt.datetime | None) -> dict:
    return {"lastUpdated": last_updated} if last_updated else {}


def ref(resource_type: str, resource_id, display: str = "") -> dict:
    reference = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        reference["display"] = display
    return reference


def patient_ref(patient) -> dict:
    return ref("Patient", patient.external_id)


def practitioner_ref(user) -> dict | None:
    """A NETcare user as a Practitioner: their name and NETcare identifier (NETcare does not
    serve Practitioner resources)."""
    if user is None:
        return None
    return {"type": "Practitioner", "display": str(user),
            "identifier": {"system": codes.user_system(), "value": str(user.external_id)}}


def organization_ref(centre) -> dict | None:
    if centre is None:
        return None
    return {"type": "Organization", "display": centre.name,
            "identifier": {"system": codes.centre_system(), "value": str(centre.external_id)}}


def condition_id(patient) -> str:
    """The NET of a patient (one tumour profile each)."""
    return f"net-{patient.external_id}"


def latest(*moments: dt.datetime | None) -> dt.datetime | None:
    present = [moment for moment in moments if moment is not None]
    return max(present) if present else None


def concept(system: str, code_display: tuple[str, str], text: str = "") -> dict:
    return {"coding": [codes.coding(system, code_display)], "text": text or code_display[1]}


def netcare_concept(system_name: str, code: str, display: str) -> dict:
    return {"coding": [{"system": codes.code_system(system_name), "code": code,
                        "display": display}], "text": display}
