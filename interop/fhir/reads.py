"""Read, search and ``$everything``, scoped by netcare.access: what a user may not see does not
exist (a read is a 404, a search leaves it out). Each returns the records with the source that
maps them; the views audit and render."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from interop.fhir import registry
from interop.fhir.errors import FhirError, not_found
from interop.fhir.registry import Source
from interop.fhir.search import Search


@dataclass(frozen=True)
class Found:
    resource_type: str
    source: Source
    obj: Any

    @property
    def patient(self):
        return self.source.patient_of(self.obj)

    def resource(self):
        return self.source.to_resource(self.obj)


@dataclass(frozen=True)
class Page:
    total: int
    found: list[Found]


def sources_of(resource_type: str) -> list[Source]:
    sources = registry.resource_types().get(resource_type)
    if sources is None:
        raise FhirError.of(404, "not-supported",
                           f"NETcare does not serve {resource_type} resources.")
    return sources


def _patient_filter(source: Source, patient_id: uuid.UUID) -> dict:
    path = f"{source.patient_path}__external_id" if source.patient_path else "external_id"
    return {path: patient_id}


def _filtered(user, source: Source, search: Search) -> QuerySet | None:
    """The source's rows matching `search`, or None when none can."""
    queryset = source.scoped(user)
    if search.ids:
        wanted = [parsed for parsed in map(source.parse_id, search.ids) if parsed is not None]
        if not wanted:
            return None
        queryset = queryset.filter(**{f"{source.id_field}__in": wanted})
    if search.patient_id is not None:
        queryset = queryset.filter(**_patient_filter(source, search.patient_id))
    if search.identifier is not None:
        system, value = search.identifier
        queryset = queryset.filter(mrn=value)
        if system is not None:
            centre = system.removeprefix("urn:uuid:")
            if centre == system:
                return None
            try:
                queryset = queryset.filter(centre__external_id=uuid.UUID(centre))
            except ValueError:
                return None
    if search.codes is not None:
        if source.code_filter is None:
            return None
        queryset = queryset.filter(source.code_filter(search.codes))
    if search.updated:
        queryset = queryset.filter(search.updated_q())
    return queryset


def search_page(user, resource_type: str, search: Search) -> Page:
    """One page (``_offset``, ``_count``) of the resources matching `search`, across the
    type's sources in order, with the total."""
    matching = []
    for source in sources_of(resource_type):
        queryset = _filtered(user, source, search)
        if queryset is not None:
            matching.append((source, queryset, queryset.count()))
    total = sum(count for _source, _queryset, count in matching)
    found: list[Found] = []
    skip, wanted = search.offset, search.count
    for source, queryset, count in matching:
        if wanted <= 0:
            break
        if skip >= count:
            skip -= count
            continue
        rows = list(queryset[skip:skip + wanted])
        found.extend(Found(resource_type, source, row) for row in rows)
        wanted -= len(rows)
        skip = 0
    return Page(total=total, found=found)


def read(user, resource_type: str, resource_id: str) -> Found:
    sources_of(resource_type)
    for source, parsed in registry.sources_for(resource_type, resource_id):
        obj = source.scoped(user).filter(**{source.id_field: parsed}).first()
        if obj is not None:
            return Found(resource_type, source, obj)
    raise not_found(f"{resource_type}/{resource_id} is not known.")


def everything(user, patient, *, types: list[str] | None, since=None) -> list[Found]:
    """Every resource of `patient`'s record (the Patient first), of `types` (all by default),
    changed since `since` when given. `patient` was fetched through netcare.access."""
    found: list[Found] = []
    for resource_type, sources in registry.resource_types().items():
        if types is not None and resource_type not in types:
            continue
        for source in sources:
            queryset = source.scoped(user).filter(source.for_patient(patient))
            if since is not None:
                queryset = queryset.filter(fhir_updated__gte=since)
            found.extend(Found(resource_type, source, row) for row in queryset)
    return found


def resource_id(resource) -> str:
    return f"{resource.get_resource_type()}/{resource.id}"

