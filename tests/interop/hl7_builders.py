"""HL7 v2 ORU^R01 test messages, written field by field from the v2.5.1 segment definitions
(chapter 2 MSH, chapter 3 PID/PV1, chapter 4 ORC/OBR, chapter 7 OBX), and the test systems.

Synthetic data only. Each segment is a list of its fields in order (index 0 is the segment id),
so every position below is the field number it says it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from interop.systems import system_register


def dtm(moment: dt.datetime) -> str:
    """An HL7 DTM with its offset: YYYYMMDDHHMMSS+ZZZZ."""
    return moment.strftime("%Y%m%d%H%M%S%z")


@dataclass(frozen=True)
class Obx:
    code: str
    text: str
    value: str
    unit: str = ""
    range: str = ""
    value_type: str = "NM"
    status: str = "F"
    flag: str = "N"
    sub_id: str = ""


def msh(control_id: str, *, sent: dt.datetime, version: str = "2.5.1",
        kind: str = "ORU^R01^ORU_R01", facility: str = "RIVERSIDE LAB") -> str:
    fields = ["MSH", "^~\\&",       # MSH-1 field separator (the '|' itself), MSH-2 encoding
              "LABSYS",             # MSH-3 sending application
              facility,             # MSH-4 sending facility
              "NETCARE",            # MSH-5 receiving application
              "RIVERSIDE",          # MSH-6 receiving facility
              dtm(sent),            # MSH-7 date/time of message
              "",                   # MSH-8 security
              kind,                 # MSH-9 message type
              control_id,           # MSH-10 message control id
              "P",                  # MSH-11 processing id
              version,              # MSH-12 version id
              "", "",               # MSH-13 sequence number, MSH-14 continuation pointer
              "AL", "NE"]           # MSH-15 accept ack type, MSH-16 application ack type
    return "|".join(fields)


def pid(mrn: str, *, authority: str = "RIVERSIDE", extra_ids: str = "") -> str:
    identifiers = f"{mrn}^^^{authority}^MR" if mrn else ""
    if extra_ids:
        identifiers = f"{identifiers}~{extra_ids}" if identifiers else extra_ids
    fields = ["PID", "1",           # PID-1 set id
              "",                   # PID-2 patient id (backwards compatible)
              identifiers,          # PID-3 patient identifier list (CX, typed MR)
              "",                   # PID-4 alternate patient id
              "Testperson^Alex",    # PID-5 patient name (synthetic)
              "",                   # PID-6 mother's maiden name
              "19620601",           # PID-7 date of birth
              "F"]                  # PID-8 administrative sex
    return "|".join(fields)


def pv1() -> str:
    return "|".join(["PV1", "1", "O"])  # PV1-1 set id, PV1-2 patient class (outpatient)


def orc(filler: str) -> str:
    return "|".join(["ORC", "RE", f"P{filler}", filler])  # ORC-1 control, -2 placer, -3 filler


def obr(seq: int, filler: str, panel: str, *, observed: dt.datetime | None) -> str:
    fields = ["OBR", str(seq),      # OBR-1 set id
              f"P{filler}",         # OBR-2 placer order number
              filler,               # OBR-3 filler order number
              panel,                # OBR-4 universal service identifier
              "", "",               # OBR-5 priority, OBR-6 requested date/time
              dtm(observed) if observed else "",  # OBR-7 observation date/time (collection)
              *[""] * 14,           # OBR-8 .. OBR-21
              dtm(observed) if observed else "",  # OBR-22 results rpt/status change
              "",                   # OBR-23 charge to practice
              "HM",                 # OBR-24 diagnostic service section id
              "F"]                  # OBR-25 result status
    return "|".join(fields)


def obx(seq: int, item: Obx, *, observed: dt.datetime | None,
        lab: str = "Riverside Laboratory") -> str:
    unit = f"{item.unit}^{item.unit}^UCUM" if item.unit else ""
    fields = ["OBX", str(seq),      # OBX-1 set id
              item.value_type,      # OBX-2 value type (NM, SN, ST)
              f"{item.code}^{item.text}^LN",  # OBX-3 observation identifier (LOINC)
              item.sub_id,          # OBX-4 observation sub-id
              item.value,           # OBX-5 observation value
              unit,                 # OBX-6 units (CWE)
              item.range,           # OBX-7 references range
              item.flag,            # OBX-8 abnormal flags
              "", "",               # OBX-9 probability, OBX-10 nature of abnormal test
              item.status,          # OBX-11 observation result status
              "", "",               # OBX-12 effective date of ref range, OBX-13 access checks
              dtm(observed) if observed else "",  # OBX-14 date/time of the observation
              *[""] * 8,            # OBX-15 .. OBX-22
              lab]                  # OBX-23 performing organization name
    return "|".join(fields)


def oru(control_id: str, mrn: str, groups: list[tuple[str, str, list[Obx]]], *,
        collected: dt.datetime | None, version: str = "2.5.1", kind: str = "ORU^R01^ORU_R01",
        obx_time: bool = True, segment_end: str = "\r", **pid_kw) -> str:
    """A message for one patient; `groups` are (filler order number, OBR-4 panel, results)."""
    sent = (collected or dt.datetime(2025, 1, 3, 12, tzinfo=dt.UTC)) + dt.timedelta(hours=2)
    segments = [msh(control_id, sent=sent, version=version, kind=kind), pid(mrn, **pid_kw),
                pv1()]
    for number, (filler, panel, items) in enumerate(groups, start=1):
        segments += [orc(filler), obr(number, filler, panel, observed=collected)]
        segments += [obx(i, item, observed=collected if obx_time else None)
                     for i, item in enumerate(items, start=1)]
    return segment_end.join(segments) + segment_end


CBC_PANEL = "57021-8^CBC W Auto Differential panel - Blood^LN"
CHEM_PANEL = "24323-8^Comprehensive metabolic 2000 panel - Serum or Plasma^LN"

# A CBC with automated differential: NETcare keeps WBC, haemoglobin, platelets, neutrophils and
# lymphocytes; the red-cell indices and the other cells are known and not used.
CBC = [
    Obx("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "6.1", "10*9/L", "4.0-11.0"),
    Obx("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "4.5", "10*12/L",
        "3.8-5.2"),
    Obx("718-7", "Hemoglobin [Mass/volume] in Blood", "12.8", "g/dL", "12.0-15.5"),
    Obx("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "39", "%", "35-46"),
    Obx("787-2", "MCV [Entitic volume] by Automated count", "88", "fL", "80-100"),
    Obx("777-3", "Platelets [#/volume] in Blood by Automated count", "210", "10*9/L", "150-400"),
    Obx("751-8", "Neutrophils [#/volume] in Blood by Automated count", "3.2", "10*9/L",
        "2.0-7.5"),
    Obx("731-0", "Lymphocytes [#/volume] in Blood by Automated count", "1.9", "10*9/L",
        "1.0-4.0"),
    Obx("742-7", "Monocytes [#/volume] in Blood by Automated count", "0.5", "10*9/L", "0.2-1.0"),
    Obx("711-2", "Eosinophils [#/volume] in Blood by Automated count", "0.2", "10*9/L",
        "0.0-0.5"),
    Obx("704-7", "Basophils [#/volume] in Blood by Automated count", "0.05", "10*9/L",
        "0.0-0.1"),
]

# The same CBC as a laboratory reporting counts per microlitre in thousands and Hb in g/L.
CBC_SI = [
    Obx("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "6.1", "10*3/uL",
        "4.0-11.0"),
    Obx("718-7", "Hemoglobin [Mass/volume] in Blood", "128", "g/L", "120-155"),
    Obx("777-3", "Platelets [#/volume] in Blood by Automated count", "210", "10*3/uL",
        "150-400"),
    Obx("751-8", "Neutrophils [#/volume] in Blood by Automated count", "3.2", "10*3/uL",
        "2.0-7.5"),
    Obx("731-0", "Lymphocytes [#/volume] in Blood by Automated count", "1.9", "10*3/uL",
        "1.0-4.0"),
]

CHEM_MG_DL = [
    Obx("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "0.9", "mg/dL", "0.6-1.2"),
    Obx("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "14", "mg/dL", "7-20"),
    Obx("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "0.6", "mg/dL", "0.1-1.2"),
    Obx("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "4.1", "g/dL", "3.5-5.0"),
    Obx("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "22", "U/L", "10-40"),
    Obx("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "25", "U/L", "7-56"),
    Obx("6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma", "80",
        "U/L", "44-147"),
]

# Creatinine and bilirubin in µmol/L (reported under the same LOINC test codes here: the moles
# codes are not assumed by these tests), albumin in g/L.
CHEM_UMOL = [
    Obx("2160-0", "Creatinine", "80", "umol/L", "45-90"),
    Obx("1975-2", "Bilirubin.total", "10", "umol/L", "3-21"),
    Obx("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "41", "g/L", "35-50"),
    Obx("1920-8", "Aspartate aminotransferase", "22", "U/L", "10-40"),
    Obx("1742-6", "Alanine aminotransferase", "25", "U/L", "7-56"),
]


def register(centre, *, name: str = "Riverside lab engine", scopes=("labs.write",), **kw):
    return system_register(actor=None, centre=centre, name=name, scopes=list(scopes), **kw)


def token(client, registered, scope: str = "labs.write") -> str:
    """A bearer token from the real token endpoint (client credentials, HTTP Basic)."""
    import base64

    basic = base64.b64encode(
        f"{registered.client_id}:{registered.client_secret}".encode()).decode()
    response = client.post("/o/token/", {"grant_type": "client_credentials", "scope": scope},
                           HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def post_oru(client, bearer: str, body: str, content_type: str = "application/hl7-v2"):
    return client.post("/api/v1/hl7/oru", data=body.encode(), content_type=content_type,
                       HTTP_AUTHORIZATION=f"Bearer {bearer}")


def ack_fields(er7: str) -> dict[str, list[str]]:
    """The ACK read back with python-hl7: MSA-1, MSA-2, MSA-3 and each ERR's code and field."""
    import hl7

    message = hl7.parse(er7.replace("\n", "\r"))
    msa = message.segment("MSA")
    errs = [str(seg.extract_field(1, 3, 1, 1, 1)) + "@" + str(seg.extract_field(1, 2, 1, 1, 1))
            + str(seg.extract_field(1, 2, 1, 3, 1)) for seg in message.segments("ERR")] \
        if any(str(s[0]) == "ERR" for s in message) else []
    return {"code": [str(msa.extract_field(1, 1))], "control": [str(msa.extract_field(1, 2))],
            "text": [str(msa.extract_field(1, 3))], "errors": errs}
