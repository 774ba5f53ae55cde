"""The codes and units NETcare reads lab results by: LOINC codes to analytes, units as sent to
the rules' unit table, and reference ranges as sent to limits of normal.

Each table is explicit: a code or unit that is not listed is never guessed (the result waits in
the unmatched-results inbox). Every code NETcare itself writes into a FHIR Observation
(`interop.fhir.codes`) reads back here as the same analyte (tests/interop/test_codes.py).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# LOINC code -> NETcare analyte (patients.LabResult.Analyte).
ANALYTE_BY_LOINC: dict[str, str] = {
    "777-3": "platelets", "26515-7": "platelets",
    "718-7": "hemoglobin", "59260-0": "hemoglobin",
    "751-8": "neutrophils", "26499-4": "neutrophils",
    "6690-2": "white_cells", "26464-8": "white_cells",
    "731-0": "lymphocytes", "26474-7": "lymphocytes",
    "2160-0": "creatinine", "14682-9": "creatinine",
    "1975-2": "bilirubin", "14631-6": "bilirubin",
    "1751-7": "albumin",
    "1920-8": "ast",
    "1742-6": "alt",
    "5894-1": "prothrombin_ratio_percent",
    "6301-6": "inr", "34714-6": "inr",
}

# LOINC codes of a CBC with differential and a chemistry panel that NETcare knowingly does not
# keep (it computes creatinine clearance itself; an eGFR is not the clearance the label asks
# for). Their results are kept with the raw message, marked "not used", never in the inbox.
NOT_USED_LOINC: dict[str, str] = {
    "789-8": "Erythrocytes", "4544-3": "Hematocrit", "787-2": "MCV", "785-6": "MCH",
    "786-4": "MCHC", "788-0": "RDW", "742-7": "Monocytes", "711-2": "Eosinophils",
    "704-7": "Basophils", "770-8": "Neutrophils/100 leukocytes",
    "736-9": "Lymphocytes/100 leukocytes", "5905-5": "Monocytes/100 leukocytes",
    "713-8": "Eosinophils/100 leukocytes", "706-2": "Basophils/100 leukocytes",
    "3094-0": "Urea nitrogen", "6768-6": "Alkaline phosphatase", "98979-8": "eGFR (CKD-EPI 2021)",
    "2951-2": "Sodium", "2823-3": "Potassium", "2345-7": "Glucose", "2885-2": "Protein",
}

# Units as sent (UCUM or common free text in OBX-6) -> the rules' unit. Case matters (UCUM is
# case-sensitive: "G/L" is not "g/L"); only the spellings listed here are read.
UNIT_BY_SENT: dict[str, str] = {
    # cell counts: 10*9/L, and 10*3/uL (the same amount)
    "10*9/L": "10^9/L", "10^9/L": "10^9/L", "x10E9/L": "10^9/L", "10E9/L": "10^9/L",
    "x10^9/L": "10^9/L", "10*3/uL": "10^9/L", "10^3/uL": "10^9/L", "x10E3/uL": "10^9/L",
    "10*3/mm3": "10^9/L", "K/uL": "10^9/L", "/uL": "/uL", "/mm3": "/mm3", "{cells}/uL": "/uL",
    # mass and substance concentrations
    "g/dL": "g/dL", "g/dl": "g/dL", "g/L": "g/L", "g/l": "g/L", "mmol/L": "mmol/L",
    "mg/dL": "mg/dL", "mg/dl": "mg/dL", "umol/L": "umol/L", "µmol/L": "umol/L",
    "μmol/L": "umol/L", "umol/l": "umol/L", "µmol/l": "umol/L",
    # enzymes
    "U/L": "U/L", "U/l": "U/L", "IU/L": "IU/L", "[IU]/L": "IU/L",
    # plain numbers
    "%": "%", "{INR}": "", "{ratio}": "", "{Ratio}": "", "1": "", "": "",
}


def analyte_for(loinc: str) -> str | None:
    return ANALYTE_BY_LOINC.get(loinc.strip())


def is_not_used(loinc: str) -> bool:
    return loinc.strip() in NOT_USED_LOINC


def unit_for(sent: str) -> str | None:
    """The rules' unit for a unit as sent, or None when it is not one NETcare reads."""
    return UNIT_BY_SENT.get(sent.strip())


_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")
_RANGE = re.compile(r"^\s*(?P<low>[0-9]*\.?[0-9]+)?\s*-\s*(?P<high>[0-9]*\.?[0-9]+)?\s*$")
_BELOW = re.compile(r"^\s*<=?\s*(?P<high>[0-9]*\.?[0-9]+)\s*$")
_ABOVE = re.compile(r"^\s*>=?\s*(?P<low>[0-9]*\.?[0-9]+)\s*$")


def plain_number(text: str) -> Decimal | None:
    """A value that is a plain, unsigned decimal ("4.2"); None for anything else ("<20",
    ">1000", "positive", "1e3"), which is never read as a number."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


def parse_range(text: str) -> tuple[Decimal | None, Decimal | None]:
    """(LLN, ULN) from a reference range as sent: "150-400", "-1.2", "<1.2", ">60" or "".
    A ValueError for anything else (the result then waits in the inbox)."""
    if not text.strip():
        return None, None
    for pattern in (_RANGE, _BELOW, _ABOVE):
        match = pattern.match(text)
        if match:
            groups = match.groupdict()
            low = groups.get("low")
            high = groups.get("high")
            if low is None and high is None:
                break
            return (None if low is None else Decimal(low), None if high is None else Decimal(high))
    raise ValueError(f"The reference range '{text}' is not low-high.")
