"""The shared lab intake: every result that arrives by HL7 v2 or FHIR comes through here.

A message is stored raw and audited first (:func:`store_inbound`); the same control id again is
the same message and changes nothing. Its results (:class:`IncomingObservation`, already read
from the message by the channel) then go through :func:`receive_observations`:

- a result whose key was seen before is a duplicate and changes nothing;
- the patient is the one with that MRN at the receiving centre, seen through netcare.access:
  a message never creates a patient and never attaches a result by a guess;
- the LOINC code gives the analyte, the unit as sent maps to the rules' unit table, the
  reference range gives the LLN and ULN, and the value is checked by the same validation as a
  typed lab (patients.services.lab_validate);
- what passes is recorded through the typed labs' own service (patients.services.lab_panel_add),
  so the domain events follow (readiness, task fulfilment, the team told);
- what does not waits in the centre's unmatched-results inbox (interop.inbox), with why.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from interop import codes
from interop.models import (
    InboundMessage,
    Problem,
    ReceivedResult,
    UnmatchedResult,
    protocol_of,
)
from netcare import access, audit
from netcare.clock import past_moment_error
from netcare.models import AuditEvent
from patients.models import LabResult, Patient
from patients.ranges import CentreRanges
from patients.services import lab_panel_add, lab_result_mark_in_error, lab_validate

logger = logging.getLogger(__name__)

FINAL, CORRECTED, PRELIMINARY = "final", "corrected", "preliminary"


@dataclass(frozen=True)
class IncomingObservation:
    """One lab result as a channel read it from its message, before NETcare judges it."""

    result_key: str  # stable identity for de-duplication ("<MSH-10>/<OBX-1>", "system|value")
    mrn: str  # the patient's MRN at the receiving centre
    loinc: str  # LOINC code
    value: str  # as sent
    unit: str  # as sent (UCUM or local)
    collected_at: dt.datetime | None  # aware datetime
    reference_range: str = ""  # e.g. "150-400" as sent; parsed to LLN/ULN
    laboratory: str = ""
    status: str = FINAL  # final, corrected, preliminary, or what was sent (not final)


@dataclass
class IntakeOutcome:
    stored: list[LabResult] = field(default_factory=list)
    duplicates: int = 0
    unmatched: list[UnmatchedResult] = field(default_factory=list)
    preliminary: int = 0
    not_used: int = 0
    corrected: int = 0

    def summary(self) -> dict[str, int]:
        return {"stored": len(self.stored), "duplicates": self.duplicates,
                "unmatched": len(self.unmatched), "preliminary": self.preliminary,
                "not_used": self.not_used, "corrected": self.corrected}


# --- the raw message ---------------------------------------------------------------------------


def store_inbound(*, centre, channel: str, control_id: str, body: str, content_type: str,
                  actor, message_type: str = "") -> tuple[InboundMessage, bool]:
    """Keep the message raw, audited as `actor` (the sending system's account). Returns the
    message and whether it is new: False means the same control id from this centre's protocol
    was received before, and that first message is returned unchanged."""
    control_id = (control_id or "").strip()[:199]
    protocol = protocol_of(channel)
    if control_id:
        existing = InboundMessage.objects.filter(centre=centre, protocol=protocol,
                                                 control_id=control_id).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                centre=centre, channel=channel, protocol=protocol, control_id=control_id,
                message_type=message_type[:40], content_type=content_type[:100], body=body,
                received_by=actor if getattr(actor, "is_authenticated", False) else None)
            audit.record(actor=actor, action=AuditEvent.Action.CREATE, obj=message,
                         changes={"channel": [None, channel], "control_id": [None, control_id],
                                  "message_type": [None, message_type]},
                         note=f"Message received ({message.get_channel_display()})")
    except IntegrityError:  # the same message, received at the same moment
        return InboundMessage.objects.get(centre=centre, protocol=protocol,
                                          control_id=control_id), False
    return message, True


def message_finish(*, message: InboundMessage, outcome: str, ack_code: str = "",
                   errors: list[dict[str, Any]] | None = None,
                   summary: dict[str, Any] | None = None) -> InboundMessage:
    """Record how a message was answered, so a resend gets the same answer."""
    message.outcome = outcome
    message.ack_code = ack_code
    message.errors = errors or []
    message.summary = summary or {}
    message.save(update_fields=["outcome", "ack_code", "errors", "summary"])
    return message


# --- its results -------------------------------------------------------------------------------


@dataclass
class _Checked:
    """An observation judged: stored (with the values to store), or a problem."""

    observation: IncomingObservation
    status: str
    patient: Patient | None = None
    analyte: str = ""
    problem: str = ""
    detail: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    replaces: LabResult | None = None


def receive_observations(*, centre, message: InboundMessage,
                         observations: Sequence[IncomingObservation], actor) -> IntakeOutcome:
    """Judge and keep each observation of `message` (see the module's docstring), in one
    transaction. The results stored are recorded as `actor` (the system's account)."""
    ranges = CentreRanges.of(centre.pk)
    try:
        return _receive(centre=centre, message=message, observations=observations,
                        actor=actor, ranges=ranges)
    except IntegrityError:
        # Another message carrying the same results was stored at the same moment: once it has
        # committed, they are duplicates here.
        return _receive(centre=centre, message=message, observations=observations,
                        actor=actor, ranges=ranges)


def _receive(*, centre, message: InboundMessage, observations: Sequence[IncomingObservation],
             actor, ranges: CentreRanges) -> IntakeOutcome:
    outcome = IntakeOutcome()
    with transaction.atomic():
        seen = set(ReceivedResult.objects.filter(
            centre=centre, result_key__in=[o.result_key for o in observations])
            .values_list("result_key", flat=True))
        checked: list[_Checked] = []
        for observation in observations:
            if observation.result_key in seen:
                outcome.duplicates += 1
                continue
            seen.add(observation.result_key)
            checked.append(_check(centre=centre, observation=observation, actor=actor,
                                  ranges=ranges))
        _store(centre=centre, message=message, checked=checked, actor=actor, outcome=outcome)
    return outcome


def _patient(centre, mrn: str, actor) -> Patient | None:
    """The patient with this MRN at the receiving centre, if `actor` may add to their record;
    exactly that, never a near match."""
    mrn = (mrn or "").strip()
    if not mrn:
        return None
    patient = access.scope_to_patients(
        actor, Patient.objects.filter(centre=centre, mrn=mrn).select_related("centre"),
        patient_path="").first()
    if patient is None or not access.can_change_patient(actor, patient):
        return None
    return patient


def _check(*, centre, observation: IncomingObservation, actor,
           ranges: CentreRanges) -> _Checked:
    o = observation
    analyte = codes.analyte_for(o.loinc) or ""
    if not analyte and codes.is_not_used(o.loinc):
        return _Checked(o, ReceivedResult.Status.NOT_USED)
    if o.status == PRELIMINARY:
        return _Checked(o, ReceivedResult.Status.PRELIMINARY, analyte=analyte)

    def problem(kind: str, detail: str, patient: Patient | None = None) -> _Checked:
        return _Checked(o, ReceivedResult.Status.UNMATCHED, patient=patient, analyte=analyte,
                        problem=kind, detail=detail[:300])

    patient = _patient(centre, o.mrn, actor)
    if patient is None:
        return problem(Problem.UNKNOWN_PATIENT,
                       f"No patient with MRN '{o.mrn}' at {centre.name}.")
    if not analyte:
        return problem(Problem.UNKNOWN_CODE, f"LOINC '{o.loinc}' is not a test NETcare reads.",
                       patient)
    if o.status not in (FINAL, CORRECTED):
        return problem(Problem.NOT_FINAL, f"The result status is '{o.status}', not final.",
                       patient)
    number = codes.plain_number(o.value)
    if number is None:
        return problem(Problem.NOT_A_NUMBER,
                       f"'{o.value}' is not a plain number; it is never read as one.", patient)
    unit = codes.unit_for(o.unit)
    if unit is None:
        return problem(Problem.BAD_UNIT, f"The unit '{o.unit}' is not one NETcare reads.",
                       patient)
    try:
        lln, uln = codes.parse_range(o.reference_range)
    except ValueError as exc:
        return problem(Problem.BAD_RANGE, str(exc), patient)
    if analyte in LabResult.PLAIN_NUMBER_ANALYTES:
        lln = uln = None
    time_error = past_moment_error(o.collected_at, what="the sample was collected")
    if time_error:
        return problem(Problem.NO_TIME, time_error, patient)
    try:
        lab_validate(analyte=analyte, value=number, unit=unit, uln=uln, lln=lln, ranges=ranges)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        kind = {"unit": Problem.BAD_UNIT, "uln": Problem.BAD_RANGE,
                "lln": Problem.BAD_RANGE}.get(name, Problem.IMPLAUSIBLE_VALUE)
        return problem(kind, " ".join(messages), patient)
    replaces = None
    if o.status == CORRECTED:
        replaces = _corrected_result(centre=centre, patient=patient, analyte=analyte,
                                     collected_at=o.collected_at)
        if replaces is None:
            return problem(Problem.CORRECTS_UNKNOWN,
                           "A correction, but NETcare holds no result of this test collected "
                           "at that time to correct.", patient)
    values = {"analyte": analyte, "value": number, "unit": unit,
              "collected_at": o.collected_at, "uln": uln, "lln": lln}
    return _Checked(o, ReceivedResult.Status.STORED, patient=patient, analyte=analyte,
                    values=values, replaces=replaces)


def _corrected_result(*, centre, patient: Patient, analyte: str,
                      collected_at: dt.datetime) -> LabResult | None:
    """The result a correction replaces: the one received for this patient, test and
    collection time that is not already in error."""
    received = (ReceivedResult.objects
                .filter(centre=centre, lab_result__patient=patient, lab_result__analyte=analyte,
                        lab_result__collected_at=collected_at,
                        lab_result__entered_in_error=False)
                .select_related("lab_result__patient").order_by("-id").first())
    return None if received is None else received.lab_result


def _store(*, centre, message: InboundMessage, checked: list[_Checked], actor,
           outcome: IntakeOutcome) -> None:
    by_patient: dict[int, list[_Checked]] = {}
    for item in checked:
        if item.status == ReceivedResult.Status.STORED:
            by_patient.setdefault(item.patient.pk, []).append(item)
    # Corrections first: the earlier result is marked in error (kept, struck through).
    for items in by_patient.values():
        for item in items:
            if item.replaces is not None:
                lab_result_mark_in_error(
                    actor=actor, result=item.replaces,
                    reason=f"Corrected by message {message.control_id or message.external_id}.")
                outcome.corrected += 1
    lab_for: dict[int, LabResult] = {}
    for items in by_patient.values():
        saved = lab_panel_add(actor=actor, patient=items[0].patient,
                              results=[item.values for item in items])
        for item, lab in zip(items, saved, strict=True):
            lab_for[id(item)] = lab
            outcome.stored.append(lab)
    for item in checked:
        o = item.observation
        received = ReceivedResult.objects.create(
            centre=centre, message=message, result_key=o.result_key[:255], status=item.status,
            mrn=o.mrn[:64], loinc=o.loinc[:20], analyte=item.analyte, value=o.value[:64],
            unit=o.unit[:40], reference_range=o.reference_range[:60],
            collected_at=o.collected_at, laboratory=o.laboratory[:120],
            lab_result=lab_for.get(id(item)))
        if item.status == ReceivedResult.Status.PRELIMINARY:
            outcome.preliminary += 1
        elif item.status == ReceivedResult.Status.NOT_USED:
            outcome.not_used += 1
        elif item.status == ReceivedResult.Status.UNMATCHED:
            entry = UnmatchedResult.objects.create(received=received, centre=centre,
                                                   problem=item.problem, detail=item.detail)
            audit.record(actor=actor, action=AuditEvent.Action.CREATE, obj=entry,
                         changes={"problem": [None, item.problem]},
                         note="Result waits in the unmatched-results inbox")
            outcome.unmatched.append(entry)
