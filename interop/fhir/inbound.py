"""Lab results in by FHIR: ``POST /Observation`` and a ``transaction`` Bundle of Observations.

The body is validated with fhir.resources (R4B); what is malformed is a 400 OperationOutcome
naming the element (``Bundle.entry[1].resource.subject``) and nothing is kept. A well-formed
message is stored raw and its Observations go through the same intake as HL7 v2
(interop.intake): the same result arriving again (a FHIR retry) is stored once, an unknown
patient or code, a unit NETcare does not read or an implausible value waits in the centre's
unmatched-results inbox (202, with an OperationOutcome saying why). The result key is the
Observation's identifier (``system|value``), or, without one, a digest of what it says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from decimal import Decimal

import pydantic
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from rest_framework.permissions import BasePermission

from interop import auth
from interop.fhir import codes
from interop.fhir.errors import FhirError, Issue, from_validation_error, invalid, outcome
from interop.fhir.mapping_labs import lab_observation
from interop.fhir.responses import fhir_response
from interop.intake import (
    CORRECTED,
    FINAL,
    PRELIMINARY,
    IncomingObservation,
    message_finish,
    receive_observations,
    store_inbound,
)
from interop.models import Channel, InboundMessage, ReceivedResult
from netcare import access
from netcare.models import Role

JSON_TYPES = ("application/fhir+json", "application/json")
STATUS = {"final": FINAL, "amended": CORRECTED, "corrected": CORRECTED,
          "preliminary": PRELIMINARY}


class MaySendLabs(BasePermission):
    """A registered system with ``labs.write``, or the centre's team (navigators and
    specialists, whose centre receives the results)."""

    message = ("Sending lab results needs a system token with the labs.write scope, or a "
               "navigator's or specialist's session.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if access.is_system(user):
            return access.has_scope(user, auth.LABS_WRITE)
        centre = user.centre
        return (user.role in (Role.NAVIGATOR, Role.SPECIALIST) and centre is not None
                and centre.is_specialist_centre)


def _body(request) -> tuple[dict, str]:
    content_type = request.content_type.split(";")[0].strip()
    if content_type not in JSON_TYPES:
        raise FhirError.of(415, "not-supported",
                           "Send application/fhir+json (or application/json).")
    raw = request.body.decode("utf-8", errors="replace")
    try:
        data = json.loads(raw)
    except ValueError:
        raise FhirError.of(400, "structure", "The body is not JSON.") from None
    if not isinstance(data, dict):
        raise FhirError.of(400, "structure", "The body is not a FHIR resource.")
    return data, raw


def _validate(model, data: dict, path: str):
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise from_validation_error(path, exc) from None
    except (TypeError, ValueError) as exc:
        raise invalid(str(exc), path) from None


def _text(value: Decimal | int) -> str:
    return format(Decimal(value), "f")


def _mrn(observation: Observation, centre, user, path: str) -> str:
    subject = observation.subject
    if subject is None:
        raise invalid("Give the patient: subject as Patient/<id> or an identifier "
                      f"({codes.mrn_system(centre)}|<MRN>).", f"{path}.subject")
    if subject.reference:
        patient_id = subject.reference.removeprefix("Patient/")
        try:
            parsed = uuid.UUID(patient_id)
        except ValueError:
            parsed = None
        patient = (None if parsed is None else access.visible_patients(user)
                   .filter(external_id=parsed, centre=centre).first())
        if patient is None:
            raise FhirError.of(400, "not-found", f"No patient {subject.reference} at "
                               f"{centre.name} that you may see.", f"{path}.subject.reference")
        return patient.mrn
    identifier = subject.identifier
    if identifier is None or not identifier.value:
        raise invalid("Give subject.reference (Patient/<id>) or subject.identifier (the MRN).",
                      f"{path}.subject")
    if identifier.system and identifier.system != codes.mrn_system(centre):
        raise invalid(f"The MRN's system for {centre.name} is {codes.mrn_system(centre)}.",
                      f"{path}.subject.identifier.system")
    return identifier.value


def _value(observation: Observation, path: str) -> tuple[str, str]:
    quantity = observation.valueQuantity
    if quantity is not None:
        if quantity.value is None:
            raise invalid("Give the value.", f"{path}.valueQuantity.value")
        unit = quantity.code if quantity.system == codes.UCUM and quantity.code else (
            quantity.unit or quantity.code or "")
        return f"{quantity.comparator or ''}{_text(quantity.value)}", unit
    if observation.valueString is not None:
        return observation.valueString, ""
    if observation.valueInteger is not None:
        return str(observation.valueInteger), ""
    raise invalid("Give the result as valueQuantity (or valueString).", f"{path}.value[x]")


def _collected(observation: Observation) -> dt.datetime | None:
    moment = observation.effectiveDateTime
    if moment is None and observation.effectivePeriod is not None:
        moment = observation.effectivePeriod.start
    if isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        return moment
    return None  # a day without a time, or no time: the inbox asks for it


def _range(observation: Observation) -> str:
    if not observation.referenceRange:
        return ""
    first = observation.referenceRange[0]
    low = first.low.value if first.low is not None else None
    high = first.high.value if first.high is not None else None
    if low is None and high is None:
        return first.text or ""
    return f"{'' if low is None else _text(low)}-{'' if high is None else _text(high)}"


def _result_key(observation: Observation, said: list) -> str:
    for identifier in observation.identifier or []:
        if identifier.value:
            return f"fhir:{identifier.system or ''}|{identifier.value}"[:255]
    digest = hashlib.sha256(json.dumps(said, default=str).encode()).hexdigest()
    return f"fhir:sha256:{digest}"


def incoming(observation: Observation, *, centre, user, path: str) -> IncomingObservation:
    """What the intake needs from one Observation; a 400 naming the element at fault."""
    mrn = _mrn(observation, centre, user, path)
    loinc = next((c.code for c in observation.code.coding or []
                  if c.system == codes.LOINC and c.code), "")
    value, unit = _value(observation, path)
    collected = _collected(observation)
    reference_range = _range(observation)
    laboratory = next((p.display for p in observation.performer or [] if p.display), "")
    key = _result_key(observation, [mrn, loinc, value, unit,
                                    collected.isoformat() if collected else "", reference_range])
    return IncomingObservation(
        result_key=key, mrn=mrn, loinc=loinc, value=value, unit=unit, collected_at=collected,
        reference_range=reference_range, laboratory=laboratory,
        status=STATUS.get(observation.status, observation.status))


def _validate_at(data: dict, path: str) -> Observation:
    try:
        return Observation.model_validate(data)
    except pydantic.ValidationError as exc:
        raise from_validation_error(path, exc) from None


def _receive(view, request, *, observations: list[IncomingObservation], control_id: str,
             raw: str, message_type: str) -> tuple[InboundMessage, dict[str, ReceivedResult],
                                                   set[int]]:
    user = request.user
    centre = user.centre
    message, new = store_inbound(centre=centre, channel=Channel.FHIR, control_id=control_id,
                                 body=raw, content_type=request.content_type[:100], actor=user,
                                 message_type=message_type)
    stored_now: set[int] = set()
    if new:
        result = receive_observations(centre=centre, message=message,
                                      observations=observations, actor=user)
        stored_now = {lab.pk for lab in result.stored}
        message_finish(message=message, outcome=(InboundMessage.Outcome.PARTLY
                                                 if result.unmatched
                                                 else InboundMessage.Outcome.ACCEPTED),
                       summary=result.summary())
    received = {row.result_key: row for row in ReceivedResult.objects.filter(
        centre=centre, result_key__in=[o.result_key for o in observations])
        .select_related("lab_result__patient", "inbox_entry")}
    return message, received, stored_now


_HELD = {
    ReceivedResult.Status.PRELIMINARY: ("informational", "Kept as preliminary: a preliminary "
                                        "result is never used for a dose decision."),
    ReceivedResult.Status.NOT_USED: ("informational", "A test NETcare knows and does not use; "
                                     "kept with the message."),
}


def _answer(received: ReceivedResult | None, stored_now: set[int], base_url: str):
    """(HTTP status, the resource to answer with, Location) for one result."""
    if received is None:  # pragma: no cover - every result the intake sees gets its row
        return 500, outcome([Issue("exception", "The result was not kept.")]), None
    if received.status == ReceivedResult.Status.STORED and received.lab_result is not None:
        lab = received.lab_result
        status = 201 if lab.pk in stored_now else 200
        return status, lab_observation(lab), f"{base_url}Observation/{lab.external_id}"
    if received.status == ReceivedResult.Status.UNMATCHED:
        entry = getattr(received, "inbox_entry", None)
        why = entry.detail if entry is not None else "it could not be matched"
        problem = entry.get_problem_display() if entry is not None else ""
        return 202, outcome([Issue(
            "processing", f"Accepted: the result waits in the centre's unmatched-results "
                          f"inbox ({problem}: {why})", severity="warning")]), None
    severity, text = _HELD.get(received.status, ("informational", "Kept."))
    return 202, outcome([Issue("informational", text, severity="information")]), None


def post_observation(view, request):
    data, raw = _body(request)
    if data.get("resourceType") != "Observation":
        raise invalid("POST /Observation takes an Observation.", "resourceType")
    observation = _validate_at(data, "Observation")
    item = incoming(observation, centre=request.user.centre, user=request.user,
                    path="Observation")
    _message, received, stored_now = _receive(view, request, observations=[item],
                                              control_id="", raw=raw,
                                              message_type="Observation")
    status, resource, location = _answer(received.get(item.result_key), stored_now,
                                         view.base_url())
    return fhir_response(resource, status=status,
                         headers={"Location": location} if location else None)


def post_transaction(view, request):
    data, raw = _body(request)
    if data.get("resourceType") != "Bundle":
        raise invalid("POST / takes a transaction Bundle.", "resourceType")
    bundle = _validate(Bundle, data, "Bundle")
    if bundle.type != "transaction":
        raise invalid("Send a Bundle of type transaction.", "Bundle.type")
    items = []
    for index, entry in enumerate(bundle.entry or []):
        path = f"Bundle.entry[{index}]"
        request_part = entry.request
        if request_part is None or request_part.method != "POST" or (
                request_part.url or "").split("?")[0].rstrip("/") != "Observation":
            raise invalid("Each entry is POST Observation.", f"{path}.request")
        if entry.resource is None or entry.resource.get_resource_type() != "Observation":
            raise invalid("Each entry is an Observation.", f"{path}.resource")
        items.append(incoming(entry.resource, centre=request.user.centre, user=request.user,
                              path=f"{path}.resource"))
    if not items:
        raise invalid("The transaction has no Observations.", "Bundle.entry")
    control_id = ""
    if bundle.identifier is not None and bundle.identifier.value:
        control_id = f"{bundle.identifier.system or ''}|{bundle.identifier.value}"
    _message, received, stored_now = _receive(view, request, observations=items,
                                              control_id=control_id, raw=raw,
                                              message_type="Bundle/transaction")
    entries = []
    for item in items:
        status, resource, location = _answer(received.get(item.result_key), stored_now,
                                             view.base_url())
        answer = {"status": {200: "200 OK", 201: "201 Created",
                             202: "202 Accepted"}.get(status, str(status))}
        if location:
            answer["location"] = location
        if isinstance(resource, OperationOutcome):
            answer["outcome"] = resource
            entries.append({"response": answer})
        else:
            entries.append({"fullUrl": location, "resource": resource, "response": answer})
    return fhir_response(Bundle(type="transaction-response", entry=entries))
