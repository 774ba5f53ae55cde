"""Search parameters: parsed and checked before anything is read. An unknown parameter, a bad
value or an unsupported prefix is a 400 OperationOutcome naming the parameter.

Every type takes ``_id``, ``_lastUpdated`` (``eq`` ``gt`` ``ge`` ``lt`` ``le``, a date or a time
with its zone; repeat it for a range), ``_count`` (0 to :data:`MAX_COUNT`), ``_offset`` (the
paging links set it) and ``_format`` (JSON only); the types of a patient's record take
``patient`` (or ``subject``: ``Patient/<id>`` or the bare id); Patient takes ``identifier``
(``<system>|<mrn>`` or the MRN) and Observation ``code`` (LOINC, comma-separated for any of
several).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from interop.fhir.errors import invalid

DEFAULT_COUNT = 50
MAX_COUNT = 500
MAX_OFFSET = 1_000_000
JSON_FORMATS = ("json", "application/json", "application/fhir+json")

COMMON = {"_id": "token", "_lastUpdated": "date", "_count": "number", "_offset": "number",
          "_format": "special"}
PATIENT_PARAMS = {"patient": "reference", "subject": "reference"}
EXTRA = {
    "Patient": {"identifier": "token"},
    "Observation": {"code": "token"},
}

DOCUMENTATION = {
    "_id": "The resource's id.",
    "_lastUpdated": "When the resource last changed: eq, gt, ge, lt or le with a date or a "
                    "time with its zone; repeat for a range.",
    "_count": f"Resources per page, 0 to {MAX_COUNT} (default {DEFAULT_COUNT}).",
    "_offset": "Where the page starts (set by the paging links).",
    "patient": "The patient: Patient/<id> or <id>.",
    "subject": "The patient: Patient/<id> or <id>.",
    "identifier": "The medical record number: <system>|<value> or <value>.",
    "code": "LOINC code(s), comma-separated: http://loinc.org|<code> or <code>.",
}

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_PREFIXES = ("eq", "gt", "ge", "lt", "le")


def parameters_of(resource_type: str) -> dict[str, str]:
    """The search parameters `resource_type` takes, with their FHIR types."""
    params = dict(COMMON)
    if resource_type != "Patient":
        params |= PATIENT_PARAMS
    return params | EXTRA.get(resource_type, {})


@dataclass
class Search:
    count: int = DEFAULT_COUNT
    offset: int = 0
    ids: list[str] = field(default_factory=list)
    patient_id: uuid.UUID | None = None
    updated: list[tuple[str, dt.datetime, dt.datetime]] = field(default_factory=list)
    identifier: tuple[str | None, str] | None = None
    codes: set[str] | None = None
    # The parameters as given (all but _offset), for the paging links.
    echo: list[tuple[str, str]] = field(default_factory=list)

    def updated_q(self) -> Q:
        """The ``_lastUpdated`` conditions on the ``fhir_updated`` annotation."""
        condition = Q()
        for prefix, start, end in self.updated:
            condition &= {
                "eq": Q(fhir_updated__gte=start, fhir_updated__lt=end),
                "gt": Q(fhir_updated__gte=end),
                "ge": Q(fhir_updated__gte=start),
                "lt": Q(fhir_updated__lt=start),
                "le": Q(fhir_updated__lt=end),
            }[prefix]
        return condition


def _single(name: str, values: list[str]) -> str:
    if len(values) != 1:
        raise invalid(f"Give {name} once.", name)
    return values[0].strip()


def _whole(name: str, raw: str, low: int, high: int) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))
            and low <= int(raw) <= high):
        raise invalid(f"{name} takes a whole number from {low} to {high}.", name)
    return int(raw)


def moment_range(raw: str, name: str = "_lastUpdated") -> tuple[dt.datetime, dt.datetime]:
    """The span a FHIR date or dateTime stands for: a year, a month, a day (in the server's
    time zone) or a second (with its zone)."""
    match = _DATE.match(raw)
    zone = timezone.get_current_timezone()
    try:
        if match:
            year, month, day = (int(part) if part else None for part in match.groups())
            start = dt.datetime(year, month or 1, day or 1, tzinfo=zone)
            if day:
                end = start + dt.timedelta(days=1)
            elif month:
                end = start.replace(year=year + (month == 12), month=month % 12 + 1)
            else:
                end = start.replace(year=year + 1)
            return start, end
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None:
        raise invalid(f"{name}: {raw!r} is not a date (2025-03-01) or a time with its zone "
                      "(2025-03-01T09:00:00+00:00).", name)
    if timezone.is_naive(moment):
        raise invalid(f"{name}: give the time with its zone, e.g. 2025-03-01T09:00:00+00:00.",
                      name)
    return moment, moment + dt.timedelta(seconds=1)


def _updated(raw: str) -> tuple[str, dt.datetime, dt.datetime]:
    prefix = raw[:2] if raw[:2].isalpha() else "eq"
    value = raw[2:] if raw[:2].isalpha() else raw
    if prefix not in _PREFIXES:
        raise invalid(f"_lastUpdated: the prefix {prefix!r} is not supported; use one of "
                      f"{', '.join(_PREFIXES)}.", "_lastUpdated")
    start, end = moment_range(value)
    return prefix, start, end


def _patient(name: str, raw: str) -> uuid.UUID:
    value = raw.removeprefix("Patient/")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid(f"{name}: give Patient/<id> or the patient's id.", name) from None


def _token(raw: str) -> tuple[str | None, str]:
    if "|" in raw:
        system, value = raw.split("|", 1)
        return (system or None), value
    return None, raw


def parse(resource_type: str, query) -> Search:
    """The search `query` (a QueryDict) asks for on `resource_type`."""
    allowed = parameters_of(resource_type)
    search = Search()
    for name in query:
        values = query.getlist(name)
        base = name.split(":", 1)[0]
        if base not in allowed or ":" in name:
            known = ", ".join(sorted(allowed))
            raise invalid(f"Unknown or unsupported search parameter {name!r} for "
                          f"{resource_type}; this server takes {known}.", name)
        if name != "_offset":
            search.echo.extend((name, value) for value in values)
        if name == "_count":
            search.count = _whole(name, _single(name, values), 0, MAX_COUNT)
        elif name == "_offset":
            search.offset = _whole(name, _single(name, values), 0, MAX_OFFSET)
        elif name == "_format":
            if _single(name, values) not in JSON_FORMATS:
                raise invalid("_format: this server speaks JSON only "
                              "(application/fhir+json).", name)
        elif name == "_id":
            search.ids = [part.strip() for part in _single(name, values).split(",")
                          if part.strip()]
        elif name == "_lastUpdated":
            search.updated = [_updated(value.strip()) for value in values]
        elif name in ("patient", "subject"):
            patient = _patient(name, _single(name, values))
            if search.patient_id is not None and search.patient_id != patient:
                search.patient_id = uuid.UUID(int=0)  # two different patients: nothing
            else:
                search.patient_id = patient
        elif name == "identifier":
            search.identifier = _token(_single(name, values))
        elif name == "code":
            asked = set()
            for part in _single(name, values).split(","):
                system, code = _token(part.strip())
                if system not in (None, "http://loinc.org") or not code:
                    raise invalid("code: give LOINC codes, http://loinc.org|<code> or <code>.",
                                  name)
                asked.add(code)
            search.codes = asked
    return search
