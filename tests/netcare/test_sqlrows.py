"""Reads written in SQL (netcare/sqlrows.py) give the values a queryset gives, field by field."""

import datetime as dt
from decimal import Decimal

import pytest

from netcare.sqlrows import fetch
from patients.models import LabResult
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_values_come_back_as_the_orm_reads_them(patient, navigator):
    lab = LabResult.objects.create(
        patient=patient, analyte="platelets", value=Decimal("84.0"), unit="10^9/L",
        collected_at=dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC), entered_by=navigator)
    fields = [LabResult._meta.get_field(name)
              for name in ("external_id", "value", "collected_at")]
    [row] = fetch("SELECT external_id, value, collected_at FROM patients_labresult "
                  "WHERE id = %s", [lab.pk], fields)
    expected = LabResult.objects.filter(pk=lab.pk).values_list(
        "external_id", "value", "collected_at").get()
    assert row == expected
    assert [type(value) for value in row] == [type(value) for value in expected]
    assert str(row[1]) == str(expected[1])


def test_a_column_without_a_field_comes_as_the_driver_gives_it(centre, oncologist):
    PatientFactory(centre=centre, referring_oncologist=oncologist)
    [(count,)] = fetch("SELECT COUNT(*) FROM patients_patient WHERE centre_id = %s",
                       [centre.pk], [None])
    assert count == 1
