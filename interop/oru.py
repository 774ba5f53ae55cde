"""HL7 v2 ORU^R01 lab results in (v2.3 to v2.5.1), read with python-hl7, answered with an ACK.

One function, :func:`receive_oru`, serves both channels (HTTP and MLLP): it keeps the message
raw (interop.intake.store_inbound), reads each OBX with the PID and OBR it belongs to into an
:class:`~interop.intake.IncomingObservation`, passes them to the shared intake, and answers:

- ``AA`` every result was stored (or is known and not used by NETcare, or preliminary);
- ``AE`` the message was kept but some results wait in the unmatched-results inbox: one ERR
  segment per result says which (segment, field) and why;
- ``AR`` the message was refused as a whole (not ER7, not ORU^R01, an unsupported version, no
  control id, no patient or no result); it is kept raw all the same.

A resend (the same MSH-10) changes nothing and gets the first answer again.

Fields read (v2.5.1 segment definitions): MSH-4 sending facility, MSH-9 message type, MSH-10
control id, MSH-12 version; PID-3 patient identifiers (the one typed MR, with the system's
assigning authority when it has one); OBR-3 filler order number, OBR-7 observation time; OBX-1
set id, OBX-2 value type, OBX-3 code (LN), OBX-4 sub-id, OBX-5 value, OBX-6 units, OBX-7
reference range, OBX-11 result status, OBX-14 observation time, OBX-23 performing organisation.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import hl7
from django.db import transaction
from django.utils import timezone

from interop.intake import (
    CORRECTED,
    FINAL,
    PRELIMINARY,
    IncomingObservation,
    message_finish,
    receive_observations,
    store_inbound,
)
from interop.models import InboundMessage, Problem, SystemClient
from netcare.clock import centre_zone

logger = logging.getLogger(__name__)

SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
CONTENT_TYPES = ("application/hl7-v2", "x-application/hl7-v2+er7", "text/plain")
STATUS = {"F": FINAL, "C": CORRECTED, "P": PRELIMINARY}

# HL7 table 0357 (message error condition codes) and where each problem points.
ERROR_CODES = {
    Problem.UNKNOWN_PATIENT: ("204", "Unknown key identifier", "PID", 3),
    Problem.UNKNOWN_CODE: ("103", "Table value not found", "OBX", 3),
    Problem.NOT_A_NUMBER: ("102", "Data type error", "OBX", 5),
    Problem.IMPLAUSIBLE_VALUE: ("207", "Application internal error", "OBX", 5),
    Problem.BAD_UNIT: ("103", "Table value not found", "OBX", 6),
    Problem.BAD_RANGE: ("102", "Data type error", "OBX", 7),
    Problem.NO_TIME: ("101", "Required field missing", "OBX", 14),
    Problem.NOT_FINAL: ("103", "Table value not found", "OBX", 11),
    Problem.CORRECTS_UNKNOWN: ("204", "Unknown key identifier", "OBX", 3),
}


class Rejected(Exception):  # noqa: N818 - a refusal, answered AR
    def __init__(self, code: str, name: str, text: str, location: tuple[str, int, int] = ("MSH",
                                                                                           1, 0)):
        super().__init__(text)
        self.error = {"code": code, "name": name, "text": text, "segment": location[0],
                      "sequence": location[1], "field": location[2]}


@dataclass
class Answer:
    """The ACK to send back, and what happened."""

    code: str  # AA, AE or AR
    er7: str
    message: InboundMessage | None = None
    duplicate: bool = False
    summary: dict = field(default_factory=dict)


# --- reading ---------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Segments end with a carriage return; bodies sent over HTTP often end lines with LF."""
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x0b\x1c ") + "\r"


def _get(segment, field_num: int, repeat: int = 1, component: int = 1) -> str:
    """One component of one repetition of a field, "" when the message does not have it."""
    try:
        return str(segment.extract_field(1, field_num, repeat, component, 1)).strip()
    except IndexError:
        return ""


def _repetitions(segment, field_num: int) -> int:
    try:
        return len(segment(field_num)) if field_num < len(segment) else 0
    except (IndexError, TypeError):
        return 0


def _moment(text: str, centre) -> dt.datetime | None:
    """An HL7 DTM as an aware time; without an offset it is the centre's local time."""
    if not text:
        return None
    try:
        moment = hl7.parse_datetime(text)
    except (ValueError, TypeError):
        return None
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=centre_zone(centre))
    return moment


def _mrn(pid, authority: str) -> str:
    """The MRN from PID-3: the identifier typed MR (with the system's assigning authority when
    it names one); a lone identifier without a type is taken as the MRN. Several candidates,
    or none: no MRN (the results then wait for a navigator)."""
    candidates: list[str] = []
    untyped: list[str] = []
    for repeat in range(1, _repetitions(pid, 3) + 1):
        value = _get(pid, 3, repeat, 1)
        kind = _get(pid, 3, repeat, 5)
        issuer = _get(pid, 3, repeat, 4)
        if not value:
            continue
        if authority and issuer != authority:
            continue
        if kind == "MR":
            candidates.append(value)
        elif not kind:
            untyped.append(value)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates and len(untyped) == 1 and _repetitions(pid, 3) == 1:
        return untyped[0]
    return ""


def _code(obx) -> str:
    """The LOINC code of OBX-3 (its identifier, or its alternate identifier, coded LN); a code
    of another system is kept as "system:code" and is unknown to NETcare."""
    for position in (1, 4):
        system = _get(obx, 3, 1, position + 2)
        if system.upper() in ("LN", "LOINC"):
            return _get(obx, 3, 1, position)
    code, system = _get(obx, 3, 1, 1), _get(obx, 3, 1, 3)
    return f"{system}:{code}" if system else code


def _value(obx) -> str:
    """OBX-5 as sent. A structured numeric (SN) keeps its comparator ("<20"), so a censored
    value is never read as a plain number."""
    if _get(obx, 2) == "SN":
        parts = [_get(obx, 5, 1, n) for n in (1, 2, 3, 4)]
        comparator = "" if parts[0] == "=" else parts[0]
        return f"{comparator}{''.join(parts[1:])}"
    try:
        return str(obx.extract_field(1, 5, 1, 1, 1)).strip() if _repetitions(obx, 5) else ""
    except IndexError:  # a value with components that is not SN: keep it whole
        return str(obx(5)).strip()


@dataclass
class ReadMessage:
    control_id: str
    message_type: str
    observations: list[IncomingObservation]
    locations: dict[str, tuple[int, int]]  # result key -> (PID sequence, OBX sequence)


def read_oru(text: str, *, centre, authority: str = "") -> ReadMessage:
    """Read an ORU^R01 message, or raise :class:`Rejected`."""
    try:
        message = hl7.parse(text)
        msh = message.segment("MSH")
    except Exception as exc:  # the library raises several kinds for text that is not ER7
        raise Rejected("100", "Segment sequence error",
                       "The body is not an HL7 v2 message (ER7, starting with MSH).") from exc
    control_id = _get(msh, 10)
    kind = f"{_get(msh, 9, 1, 1)}^{_get(msh, 9, 1, 2)}"
    if not control_id:
        raise Rejected("101", "Required field missing", "MSH-10 (message control id) is "
                       "missing.", ("MSH", 1, 10))
    if kind != "ORU^R01":
        raise Rejected("200", "Unsupported message type",
                       f"Only ORU^R01 is accepted, not {kind}.", ("MSH", 1, 9))
    version = _get(msh, 12)
    if version not in SUPPORTED_VERSIONS:
        raise Rejected("203", "Unsupported version id",
                       f"HL7 version {version or '(none)'} is not supported (2.3 to 2.5.1).",
                       ("MSH", 1, 12))
    facility = _get(msh, 4)
    observations: list[IncomingObservation] = []
    locations: dict[str, tuple[int, int]] = {}
    mrn, pid_seq, obx_seq, obr_seq = "", 0, 0, 0
    order_time, filler = "", ""
    seen_pid = False
    for segment in message:
        name = str(segment[0]).strip()
        if name == "PID":
            pid_seq += 1
            seen_pid = True
            mrn = _mrn(segment, authority)
        elif name == "OBR":
            obr_seq += 1
            order_time = _get(segment, 7)
            filler = _get(segment, 3)
        elif name == "OBX":
            obx_seq += 1
            if not seen_pid:
                raise Rejected("100", "Segment sequence error", "An OBX comes before any PID.",
                               ("OBX", obx_seq, 0))
            status_code = _get(segment, 11)
            status = STATUS.get(status_code, status_code)
            code = _code(segment)
            if filler:
                # The laboratory's own identity of the result: a resend with a new MSH-10 is
                # the same result; a preliminary, a final and each correction are not.
                key = f"hl7|{facility}|{filler}|{code}|{_get(segment, 4)}|{status_code}"
                if status == CORRECTED:
                    key += f"|{control_id}"
            else:
                key = f"hl7|{facility}|{control_id}|{obr_seq}|{_get(segment, 1) or obx_seq}"
            observations.append(IncomingObservation(
                result_key=key[:255], mrn=mrn, loinc=code, value=_value(segment),
                unit=_get(segment, 6, 1, 1), reference_range=_get(segment, 7),
                collected_at=_moment(_get(segment, 14) or order_time, centre),
                laboratory=_get(segment, 23, 1, 1) or facility, status=status))
            locations[key[:255]] = (pid_seq, obx_seq)
    if not seen_pid:
        raise Rejected("100", "Segment sequence error", "The message has no PID segment.",
                       ("PID", 1, 0))
    if not observations:
        raise Rejected("101", "Required field missing", "The message has no OBX segment.",
                       ("OBX", 1, 0))
    return ReadMessage(control_id, kind, observations, locations)


# --- answering -------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Free text for an ACK field, with no HL7 delimiter in it."""
    return "".join(" " if ch in "|^~\\&\r\n" else ch for ch in text)[:200]


def build_ack(*, code: str, control_id: str, errors: list[dict], source: str = "",
              facility: str = "NETcare", text: str = "") -> str:
    """An ACK in ER7: MSH, MSA (code, the message's control id, a short text) and one ERR per
    error (location, HL7 error code, severity, user message)."""
    try:
        original = hl7.parse(source) if source else None
        original.segment("MSH") if original is not None else None
    except Exception:  # an unreadable message gets an ACK of its own making
        original = None
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    ack_id = f"ACK{stamp}{control_id}"[:20] if control_id else f"ACK{stamp}"
    if original is not None:
        ack = original.create_ack(ack_code=code, message_id=ack_id, application="NETcare",
                                  facility=_clean(facility))
    else:
        ack = hl7.parse(f"MSH|^~\\&|NETcare|{_clean(facility)}|||{stamp}||ACK|{ack_id}|P|2.5.1\r"
                        f"MSA|{code}|{_clean(control_id)}\r")
    msa = ack.segment("MSA")
    if text:
        msa.assign_field(_clean(text), 3)
    for error in errors:
        err = ack.create_segment([ack.create_field(["ERR"])])
        err.assign_field(error["segment"], 2, 1, 1)
        err.assign_field(str(error["sequence"]), 2, 1, 2)
        if error.get("field"):
            err.assign_field(str(error["field"]), 2, 1, 3)
        err.assign_field(error["code"], 3, 1, 1)
        err.assign_field(_clean(error["name"]), 3, 1, 2)
        err.assign_field("HL70357", 3, 1, 3)
        err.assign_field("E", 4)
        err.assign_field(_clean(error["text"]), 8)
        ack.append(err)
    return str(ack)


def receive_oru(*, text: str, system: SystemClient, channel: str, actor,
                content_type: str = "application/hl7-v2") -> Answer:
    """Keep, read and take in one ORU^R01 message from `system` (its account is `actor`, marked
    as the system), and answer it with an ACK."""
    centre = system.centre
    text = normalise(text)
    try:
        read = read_oru(text, centre=centre, authority=system.mrn_authority)
    except Rejected as refusal:
        control_id = control_id_of(text)
        with transaction.atomic():
            message, created = store_inbound(centre=centre, channel=channel,
                                             control_id=control_id, body=text,
                                             content_type=content_type, actor=actor)
            if created:
                message_finish(message=message, outcome=InboundMessage.Outcome.REJECTED,
                               ack_code="AR", errors=[refusal.error])
        return _answer(message, text, duplicate=not created)
    with transaction.atomic():
        message, created = store_inbound(centre=centre, channel=channel,
                                         control_id=read.control_id, body=text,
                                         content_type=content_type, actor=actor,
                                         message_type=read.message_type)
        if created:
            outcome = receive_observations(centre=centre, message=message,
                                           observations=read.observations, actor=actor)
            errors = []
            for entry in outcome.unmatched:
                code, name, segment, field_num = ERROR_CODES[entry.problem]
                pid_seq, obx_seq = read.locations.get(entry.received.result_key, (1, 1))
                errors.append({"code": code, "name": name, "text": entry.detail,
                               "segment": segment,
                               "sequence": pid_seq if segment == "PID" else obx_seq,
                               "field": field_num})
            message_finish(
                message=message, ack_code="AE" if errors else "AA", errors=errors,
                outcome=(InboundMessage.Outcome.PARTLY if errors
                         else InboundMessage.Outcome.ACCEPTED),
                summary=outcome.summary())
    return _answer(message, text, duplicate=not created)


def _answer(message: InboundMessage, text: str, *, duplicate: bool) -> Answer:
    code = message.ack_code or "AR"
    summary = dict(message.summary)
    words = ", ".join(f"{n} {what}" for what, n in summary.items() if n)
    note = ("Duplicate: already received; nothing changed. " if duplicate else "") + words
    er7 = build_ack(code=code, control_id=message.control_id, errors=message.errors,
                    source=text, facility=message.centre.name, text=note)
    return Answer(code=code, er7=er7, message=message, duplicate=duplicate, summary=summary)


def control_id_of(text: str) -> str:
    """MSH-10 of a message refused for another reason, when the library can read it."""
    try:
        return _get(hl7.parse(text).segment("MSH"), 10)
    except Exception:  # not readable at all: no control id
        return ""
