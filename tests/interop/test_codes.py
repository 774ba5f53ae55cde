"""The two directions of NETcare's LOINC tables agree: what NETcare writes into a FHIR
Observation (interop.fhir.codes) is read back by the intake (interop.codes) as the same analyte,
so a record exported and sent back in is never left unmatched by its own codes."""

from __future__ import annotations

import pytest

from interop import codes as intake_codes
from interop.fhir import codes as fhir_codes
from patients.models import LabResult


@pytest.mark.parametrize("analyte", [a.value for a in LabResult.Analyte])
def test_every_code_written_reads_back_as_its_analyte(analyte):
    written = fhir_codes.lab_loinc(analyte, None)
    assert written is not None, f"no LOINC code written for {analyte}"
    for loinc in (written, *fhir_codes.lab_loinc_variants(analyte).values()):
        assert intake_codes.analyte_for(loinc.code) == analyte, loinc


def test_a_code_is_never_both_read_and_not_used():
    assert not set(intake_codes.ANALYTE_BY_LOINC) & set(intake_codes.NOT_USED_LOINC)
