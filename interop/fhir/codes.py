"""The code systems, codes and identifiers NETcare's FHIR resources use: LOINC and UCUM for labs,
ICD-O-3 for the tumour, ATC for the medicines, SNOMED CT for routes, and NETcare's own code
systems and extensions (under :data:`CANONICAL`) for what no standard names."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from rules.units import unit_label

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ICD_O_3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ATC = "http://www.whocc.no/atc"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
MCODE_HISTOLOGY = ("http://hl7.org/fhir/us/mcode/StructureDefinition/"
                   "mcode-histology-morphology-behavior")


def canonical() -> str:
    """The base of NETcare's own code systems and extensions (``NETCARE_FHIR_CANONICAL``)."""
    return getattr(settings, "NETCARE_FHIR_CANONICAL", "https://netcare.invalid/fhir").rstrip("/")


def code_system(name: str) -> str:
    return f"{canonical()}/CodeSystem/{name}"


def extension_url(name: str) -> str:
    return f"{canonical()}/StructureDefinition/{name}"


def mrn_system(centre) -> str:
    """The identifier system of a centre's medical record numbers: the centre's own URI."""
    return f"urn:uuid:{centre.external_id}"


def user_system() -> str:
    """The identifier system of NETcare's users (practitioners) by their id."""
    return f"{canonical()}/NamingSystem/user"


def centre_system() -> str:
    return f"{canonical()}/NamingSystem/centre"


# --- labs: LOINC and UCUM ----------------------------------------------------------------------


@dataclass(frozen=True)
class Loinc:
    code: str
    display: str


_COUNT_UNITS = ("10^9/L", "/uL", "/µL", "/μL", "/mm3")
_UMOL_UNITS = ("umol/L", "µmol/L", "μmol/L")

# (analyte, unit as NETcare stores it) -> LOINC; None as unit: whatever the unit.
_LOINC: dict[tuple[str, str | None], Loinc] = {
    ("platelets", None): Loinc("777-3", "Platelets [#/volume] in Blood by Automated count"),
    ("neutrophils", None): Loinc("751-8",
                                 "Neutrophils [#/volume] in Blood by Automated count"),
    ("white_cells", None): Loinc("6690-2", "Leukocytes [#/volume] in Blood by Automated count"),
    ("lymphocytes", None): Loinc("731-0",
                                 "Lymphocytes [#/volume] in Blood by Automated count"),
    ("hemoglobin", None): Loinc("718-7", "Hemoglobin [Mass/volume] in Blood"),
    ("hemoglobin", "mmol/L"): Loinc("59260-0", "Hemoglobin [Moles/volume] in Blood"),
    ("creatinine", None): Loinc("2160-0", "Creatinine [Mass/volume] in Serum or Plasma"),
    **{("creatinine", unit): Loinc("14682-9", "Creatinine [Moles/volume] in Serum or Plasma")
       for unit in _UMOL_UNITS},
    ("bilirubin", None): Loinc("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma"),
    **{("bilirubin", unit): Loinc("14631-6",
                                  "Bilirubin.total [Moles/volume] in Serum or Plasma")
       for unit in _UMOL_UNITS},
    ("albumin", None): Loinc("1751-7", "Albumin [Mass/volume] in Serum or Plasma"),
    ("ast", None): Loinc("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in "
                                   "Serum or Plasma"),
    ("alt", None): Loinc("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in "
                                   "Serum or Plasma"),
    ("prothrombin_ratio_percent", None): Loinc("5894-1",
                                               "Prothrombin time (PT) actual/normal"),
    ("inr", None): Loinc("6301-6", "INR in Platelet poor plasma by Coagulation assay"),
}

KI67 = Loinc("29593-1", "Cells.Ki-67 nuclear Ag/cells in Tissue by Immune stain")
GRADE = Loinc("33732-9", "Histology grade [Identifier] in Cancer specimen")


def lab_loinc(analyte: str, unit: str | None) -> Loinc | None:
    """The LOINC code of `analyte` in `unit` (None: the analyte's usual code)."""
    return _LOINC.get((analyte, unit)) or _LOINC.get((analyte, None))


def lab_loinc_variants(analyte: str) -> dict[str, Loinc]:
    """The units in which `analyte` has a code of its own."""
    return {unit: loinc for (name, unit), loinc in _LOINC.items()
            if name == analyte and unit is not None}


# NETcare's stored unit -> its UCUM code ("" is INR's plain number).
_UCUM: dict[str, str] = {
    **{unit: "/uL" for unit in ("/uL", "/µL", "/μL")},
    "10^9/L": "10*9/L", "/mm3": "/mm3", "g/L": "g/L", "g/dL": "g/dL", "mg/dL": "mg/dL",
    "mmol/L": "mmol/L", **{unit: "umol/L" for unit in _UMOL_UNITS}, "U/L": "U/L",
    "IU/L": "[IU]/L", "%": "%", "": "{INR}",
}


def ucum(unit: str) -> str | None:
    return _UCUM.get(unit)


def unit_display(unit: str) -> str:
    return unit_label(unit) if unit else "INR"


# --- the tumour: ICD-O-3 ----------------------------------------------------------------------

# Primary site -> ICD-O-3 topography.
TOPOGRAPHY: dict[str, tuple[str, str]] = {
    "pancreas": ("C25.9", "Pancreas, NOS"),
    "small_bowel": ("C17.9", "Small intestine, NOS"),
    "other_gi": ("C26.9", "Gastrointestinal tract, NOS"),
    "lung": ("C34.9", "Lung, NOS"),
    "unknown": ("C80.9", "Unknown primary site"),
}

NET_NOS = ("8240/3", "Neuroendocrine tumor, NOS")


def morphology(*, differentiation: str, grade: str) -> tuple[str, str]:
    """ICD-O-3 morphology (WHO 2019 classification of digestive NENs, ICD-O-3.2 codes): NET G1
    8240/3, NET G2 and G3 8249/3, a poorly differentiated carcinoma (NEC) 8246/3; a
    well-differentiated tumour of unknown grade is a NET, NOS."""
    if differentiation == "poor" or grade == "NEC":
        return ("8246/3", "Neuroendocrine carcinoma, NOS")
    if grade == "G1":
        return ("8240/3", "Neuroendocrine tumor, grade 1")
    if grade == "G2":
        return ("8249/3", "Neuroendocrine tumor, grade 2")
    if grade == "G3":
        return ("8249/3", "Neuroendocrine tumor, grade 3")
    return NET_NOS


# --- medicines and routes ---------------------------------------------------------------------

LUTETIUM_DOTATATE = ("V10XX04", "lutetium (177Lu) oxodotreotide")
OCTREOTIDE = ("H01CB02", "octreotide")
LANREOTIDE = ("H01CB03", "lanreotide")

SSA_MEDICINE = {"octreotide_lar": OCTREOTIDE, "octreotide_sc": OCTREOTIDE,
                "lanreotide": LANREOTIDE}

INTRAVENOUS = ("47625008", "Intravenous route")
INTRAMUSCULAR = ("78421000", "Intramuscular route")
SUBCUTANEOUS = ("34206005", "Subcutaneous route")

SSA_ROUTE = {"octreotide_lar": INTRAMUSCULAR, "octreotide_sc": SUBCUTANEOUS,
             "lanreotide": SUBCUTANEOUS}

PATIENT_REFERRAL = ("3457005", "Patient referral")


def coding(system: str, code_display: tuple[str, str]) -> dict:
    code, display = code_display
    return {"system": system, "code": code, "display": display}
