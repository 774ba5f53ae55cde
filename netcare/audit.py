"""The audit trail: who viewed which patient record and who changed what.

Functions here only add rows; rows are never updated or deleted. Values written into `changes`
are the field values of clinical records, so the table is protected like the records themselves
and only administrators read it (Django admin, read-only).
"""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models, transaction

from netcare.models import AuditEvent, AuditEventPatient


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return str(getattr(value, "external_id", value.pk))
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The current concrete field values of `instance`, ready to diff and store as JSON."""
    names = fields or [
        f.attname for f in instance._meta.concrete_fields if not f.primary_key  # noqa: SLF001
    ]
    return {name: _jsonable(getattr(instance, name)) for name in names}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def _patient_uuid(obj: models.Model | None) -> uuid.UUID | None:
    if obj is None:
        return None
    if obj._meta.label == "patients.Patient":  # noqa: SLF001
        return obj.external_id
    # A record of the patient, of their course, or of one of its cycles (a decision, an
    # administration, a booking): the audit row names the patient either way.
    for path in (("patient",), ("course", "patient"), ("cycle", "course", "patient")):
        target = obj
        for name in path:
            target = getattr(target, name, None)
            if target is None:
                break
        if target is not None:
            return getattr(target, "external_id", None)
    return None


def _object_identity(obj: models.Model | None) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label, str(getattr(obj, "external_id", obj.pk))  # noqa: SLF001


_CHANGES = (AuditEvent.Action.CREATE, AuditEvent.Action.UPDATE, AuditEvent.Action.DELETE,
            AuditEvent.Action.TRANSITION)


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    note: str = "",
    ip_address: str | None = None,
) -> AuditEvent:
    object_type, object_id = _object_identity(obj)
    person = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=person,
        # A change with no acting person is NETcare's own (a computed transition, a plan sync).
        by_system=person is None and action in _CHANGES,
        action=action,
        object_type=object_type,
        object_id=object_id,
        patient_id=_patient_uuid(obj),
        changes=changes or {},
        note=note[:255],
        ip_address=ip_address,
    )


def record_view(*, actor, obj: models.Model, ip_address: str | None = None) -> AuditEvent:
    return record(actor=actor, action=AuditEvent.Action.VIEW, obj=obj, ip_address=ip_address)


def record_list(*, request, what: str, patient_ids: Iterable[uuid.UUID | str]) -> AuditEvent | None:
    """One row for a list or page that showed the data of several patients, naming each of them
    (`AuditEventPatient`), so "who saw this patient" also finds the caseload, the home pages and
    the API's lists. `what` names the list (a URL name, never its query: no PHI). Nothing is
    written when the list showed no patient."""
    named = list(dict.fromkeys(str(pid) for pid in patient_ids if pid))
    if not named:
        return None
    with transaction.atomic(savepoint=False):  # the row and the patients it names, together
        event = record(actor=request.user, action=AuditEvent.Action.LIST, note=what,
                       changes={"count": len(named)}, ip_address=client_ip(request))
        AuditEventPatient.objects.bulk_create(
            [AuditEventPatient(event=event, patient_id=pid) for pid in named])
    return event


def patients_named(objects: Iterable[Any], path: str = "patient") -> list[uuid.UUID]:
    """The public ids of the patients of `objects`, following the dotted attribute `path` to
    each one's Patient ("" when the objects are patients). The relations must already be
    loaded (select_related): a page audits what it shows, at no extra query."""
    ids = []
    for obj in objects:
        target = obj
        for name in filter(None, path.split(".")):
            target = getattr(target, name)
        ids.append(target.external_id)
    return ids


def record_refused(*, request, status: int) -> AuditEvent:
    """A request NETcare refused (401, 403, or a 404 for a signed-in user asking for a record
    outside their scope): who, from where, the method and the path (ids only, no query)."""
    return record(actor=getattr(request, "user", None), action=AuditEvent.Action.REFUSED,
                  changes={"status": status, "method": request.method},
                  note=f"{request.method} {request.path}"[:255],
                  ip_address=client_ip(request))


def record_export(*, actor, obj: models.Model, note: str = "") -> AuditEvent:
    return record(actor=actor, action=AuditEvent.Action.EXPORT, obj=obj, note=note)


def record_create(*, actor, obj: models.Model) -> AuditEvent:
    return record(actor=actor, action=AuditEvent.Action.CREATE, obj=obj,
                  changes={k: [None, v] for k, v in snapshot(obj).items()})


def record_update(
    *, actor, obj: models.Model, before: dict[str, Any], note: str = ""
) -> AuditEvent:
    """Store what changed between `before` (a :func:`snapshot`) and the object as it is now."""
    return record(actor=actor, action=AuditEvent.Action.UPDATE, obj=obj,
                  changes=diff(before, snapshot(obj, before.keys())), note=note)


def record_transition(*, actor, obj: models.Model, source: str, target: str,
                      note: str = "") -> AuditEvent:
    return record(actor=actor, action=AuditEvent.Action.TRANSITION, obj=obj,
                  changes={"state": [source, target]}, note=note)


def _address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def _trusted(address, proxies) -> bool:
    return any(address in network for network in proxies)


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, unless that is one of settings.NETCARE_TRUSTED_PROXIES;
    then the right-most X-Forwarded-For entry that is not a trusted proxy (what the proxies in
    front of NETcare appended; anything to its left was written by the client and is ignored).

    Used by the audit trail and, through AXES_CLIENT_IP_CALLABLE, by the sign-in limits."""
    remote = _address(request.META.get("REMOTE_ADDR"))
    if remote is None:
        return None
    proxies = settings.NETCARE_TRUSTED_PROXIES
    if not proxies or not _trusted(remote, proxies):
        return str(remote)
    client = remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for entry in reversed(forwarded):
        address = _address(entry)
        if address is None:
            break  # a malformed hop: trust nothing further left
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)
