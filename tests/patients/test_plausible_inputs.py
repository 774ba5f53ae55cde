"""§4.6 plausible values on every path that stores a lab: the patient page's lab form, the API and
the referral intake all validate through the rules' one definition; the error names the field and
the accepted range, and nothing implausible is saved. And the pregnancy entry."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from netcare.models import AuditEvent
from patients.models import LabResult, Patient
from patients.services import lab_validate, pregnancy_record
from referrals.services import referral_intake
from rules import PLAIN_RANGES, SPECS
from tests.apiclient import API, client_for

STEP = Decimal("0.0001")  # lab values are stored to four decimals


def _ceil4(value: Fraction) -> Decimal:
    return Decimal(math.ceil(value * 10**4)).scaleb(-4)


def _floor4(value: Fraction) -> Decimal:
    return Decimal(math.floor(value * 10**4)).scaleb(-4)


def _uln(analyte: str, unit: str) -> str | None:
    spec = SPECS[analyte]
    if not spec.needs_uln:
        return None
    low, high = spec.uln_range_in(unit)
    return str(_ceil4((low + high) / 2))


def _cases():
    for analyte, spec in SPECS.items():
        for unit in spec.factors:
            low, high = spec.range_in(unit)
            for value, ok, where in ((_ceil4(low), True, "low"), (_ceil4(low) - STEP, False,
                                                                  "below"),
                                     (_floor4(high), True, "high"),
                                     (_floor4(high) + STEP, False, "above")):
                yield pytest.param(str(analyte), unit, str(value), ok,
                                   id=f"{analyte}-{unit}-{where}")


@pytest.mark.parametrize(("analyte", "unit", "value", "accepted"), list(_cases()))
def test_lab_validate_at_both_ends_of_every_range_in_every_unit(analyte, unit, value, accepted):
    uln = _uln(analyte, unit)
    if accepted:
        assert lab_validate(analyte=analyte, value=value, unit=unit, uln=uln) == Decimal(value)
        return
    with pytest.raises(ValidationError) as error:
        lab_validate(analyte=analyte, value=value, unit=unit, uln=uln)
    assert list(error.value.message_dict) == ["value"]
    assert "accepted range is" in error.value.message_dict["value"][0]


@pytest.mark.parametrize("analyte", ["bilirubin", "ast", "alt"])
def test_the_uln_is_required_and_in_range(analyte):
    spec = SPECS[analyte]
    for unit in spec.factors:
        low, high = spec.uln_range_in(unit)
        value = str(_ceil4(low))
        with pytest.raises(ValidationError) as error:
            lab_validate(analyte=analyte, value=value, unit=unit)
        assert "upper limit of normal" in error.value.message_dict["uln"][0]
        for uln, ok in ((_ceil4(low), True), (_ceil4(low) - STEP, False),
                        (_floor4(high), True), (_floor4(high) + STEP, False)):
            if ok:
                lab_validate(analyte=analyte, value=value, unit=unit, uln=str(uln))
                continue
            with pytest.raises(ValidationError) as error:
                lab_validate(analyte=analyte, value=value, unit=unit, uln=str(uln))
            assert "accepted range is" in error.value.message_dict["uln"][0]


@pytest.mark.parametrize(("analyte", "unit"), [("prothrombin_ratio_percent", "%"), ("inr", "")])
def test_prothrombin_ratio_and_inr_ranges(analyte, unit):
    low, high, *_rest = PLAIN_RANGES[analyte]
    for value, ok in ((_ceil4(low), True), (_ceil4(low) - STEP, False), (_floor4(high), True),
                      (_floor4(high) + STEP, False)):
        if ok:
            assert lab_validate(analyte=analyte, value=str(value), unit=unit) == value
            continue
        with pytest.raises(ValidationError) as error:
            lab_validate(analyte=analyte, value=str(value), unit=unit)
        assert "accepted range is" in error.value.message_dict["value"][0]


# The reviewer's cases, through each path: (form/API fields, the field named, the range shown).
REVIEWED = [
    ({"analyte": "bilirubin", "value": "20", "unit": "umol/L", "uln": "1.2"}, "uln",
     "5.13–51.3 µmol/L"),
    ({"analyte": "platelets", "value": "5000000", "unit": "/uL"}, "value",
     "0–2,000,000 /µL (0–2,000 ×10⁹/L)"),
    ({"analyte": "albumin", "value": "100", "unit": "g/L"}, "value", "5–70 g/L"),
    ({"analyte": "ast", "value": "900", "unit": "U/L"}, "uln", "10–200 U/L"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("lab", "field", "accepted"), REVIEWED,
                         ids=[f"{lab['analyte']}-{field}" for lab, field, _ in REVIEWED])
def test_the_api_refuses_implausible_values(patient, navigator, lab, field, accepted):
    response = client_for(navigator).post(
        f"{API}/patients/{patient.external_id}/labs/",
        {**lab, "collected_at": "2025-03-10T08:30:00Z"}, format="json")
    assert response.status_code == 400
    body = response.json()["errors"]
    assert list(body) == [field]
    assert accepted in body[field][0]
    assert not LabResult.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("lab", "field", "accepted"), REVIEWED,
                         ids=[f"{lab['analyte']}-{field}" for lab, field, _ in REVIEWED])
def test_the_lab_form_refuses_implausible_values(client, patient, navigator, lab, field,
                                                 accepted):
    client.force_login(navigator)
    analyte = lab["analyte"]
    data = {"labs-collected_on": "2025-03-10", f"labs-{analyte}_value": lab["value"],
            f"labs-{analyte}_unit": lab["unit"]}
    if "uln" in lab:
        data[f"labs-{analyte}_uln"] = lab["uln"]
    response = client.post(reverse("patients:labs-add", args=[patient.external_id]), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert accepted in page
    form = response.context["lab_form"]
    assert accepted in " ".join(form.errors[f"{analyte}_{field}"])
    assert not LabResult.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("lab", "field", "accepted"), REVIEWED,
                         ids=[f"{lab['analyte']}-{field}" for lab, field, _ in REVIEWED])
def test_the_referral_intake_refuses_implausible_values(oncologist, centre, lab, field,
                                                         accepted):
    collected = dt.datetime(2025, 3, 10, 8, 30, tzinfo=dt.UTC)
    with pytest.raises(ValidationError) as error:
        referral_intake(
            actor=oncologist, centre=centre,
            patient={"given_name": "Maya", "family_name": "Moorland",
                     "date_of_birth": dt.date(1962, 5, 14), "sex": "F"},
            tumour={"primary_site": "small_bowel", "differentiation": "well"},
            imaging=[], labs=[{**lab, "collected_at": collected}], question="PRRT?")
    messages = error.value.message_dict
    assert list(messages) == [f"labs[0].{field}"]
    assert accepted in messages[f"labs[0].{field}"][0]
    assert not LabResult.objects.exists()
    assert not Patient.objects.exists()


# --- the pregnancy entry ------------------------------------------------------------------------


@pytest.mark.django_db
def test_pregnancy_record_keeps_who_and_when(patient, specialist, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))
    pregnancy_record(actor=specialist, patient=patient, result="negative",
                     tested_on=dt.date(2026, 11, 21))
    patient.refresh_from_db()
    assert (patient.pregnancy, patient.pregnancy_tested_on, patient.pregnancy_stated_by,
            patient.pregnancy_recorded_by) == ("excluded", dt.date(2026, 11, 21), "", specialist)
    audit = AuditEvent.objects.get(action="update", object_id=str(patient.external_id))
    assert "pregnancy" in audit.changes
    pregnancy_record(actor=specialist, patient=patient, result="not_applicable",
                     stated_by="Dr Okafor: post-menopausal")
    patient.refresh_from_db()
    assert (patient.pregnancy, patient.pregnancy_tested_on, patient.pregnancy_stated_by) == (
        "not_applicable", None, "Dr Okafor: post-menopausal")


@pytest.mark.django_db
@pytest.mark.parametrize(("kwargs", "field"), [
    ({"result": "maybe"}, "pregnancy_test"),
    ({"result": "negative"}, "pregnancy_tested_on"),
    ({"result": "positive", "tested_on": dt.date(2026, 11, 23)}, "pregnancy_tested_on"),
    ({"result": "not_applicable", "stated_by": "  "}, "pregnancy_stated_by"),
])
def test_pregnancy_record_refuses_what_it_cannot_use(patient, specialist, time_machine, kwargs,
                                                     field):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))
    with pytest.raises(ValidationError) as error:
        pregnancy_record(actor=specialist, patient=patient, **kwargs)
    assert list(error.value.message_dict) == [field]
    patient.refresh_from_db()
    assert patient.pregnancy == ""
