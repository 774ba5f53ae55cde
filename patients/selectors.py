"""Read queries for the patient record, scoped by netcare.access.

The patient page must stay near its bare SQL (bench/dashboard.py), so its reads are written in
SQL, as the caseload's are (netcare.sqlrows): compiling them through the ORM cost more than
running them. :class:`Columns` keeps them model-shaped: each row gives the model instances a
queryset would (``Model.from_db``; a field not read is deferred, so reading one would be a query
more, which the page's query-count tests catch), and :func:`joined` leaves the related rows
read by a join where ``select_related`` and ``prefetch_related`` leave them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.http import Http404

from netcare import access
from netcare.models import Centre, User
from netcare.sqlrows import conversions, convert
from patients.models import ImagingStudy, LabResult, Patient, TumourProfile

# What a page shows of a person (User.__str__: the full name, else the username).
PERSON = ("id", "first_name", "last_name", "username")


def patient_record_for(user, external_id) -> Patient:
    """One patient with what the record page shows, or 404 outside the user's scope."""
    return access.get_object_for(
        user,
        access.visible_patients(user).select_related(
            "centre", "referring_oncologist", "primary_oncologist", "tumour"),
        patient_path="", external_id=external_id,
    )


# --- reads written in SQL ----------------------------------------------------------------------


class Columns:
    """One model's columns in a read written in SQL: `sql`, the select list under the table's
    `alias`, and :meth:`build`, the instance of a row's values for them. `names`: the fields
    read (all the model's concrete fields when empty); the primary key always comes first.
    `shared`: one instance per primary key in a read (:func:`read`'s `known`), for a row
    many rows name (the person who entered them), only ever read with the same `names`."""

    def __init__(self, model: type[Model], alias: str, names: Iterable[str] = (), *,
                 shared: bool = False) -> None:
        wanted = set(names)
        self.model, self.shared = model, shared
        self.fields = [field for field in model._meta.concrete_fields
                       if not wanted or field.attname in wanted or field.name in wanted
                       or field.primary_key]
        unknown = wanted - {field.attname for field in self.fields} - {
            field.name for field in self.fields}
        if unknown:
            raise ValueError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
        self.attnames = tuple(field.attname for field in self.fields)
        connection = connections[DEFAULT_DB_ALIAS]
        self.sql = ", ".join(f"{alias}.{connection.ops.quote_name(field.column)}"
                             for field in self.fields)
        # The same columns, empty but typed: this model's place in a UNION's other branches.
        self.nulls = ", ".join(f"CAST(NULL AS {field.db_type(connection)})"
                               for field in self.fields)

    @cached_property
    def _conversions(self) -> list[tuple]:
        """How each column the database returns otherwise than the model field holds it is
        converted, as a queryset converts it (netcare.sqlrows), worked out once."""
        return conversions(self.fields)

    def build(self, values: Sequence, known: dict) -> Model | None:
        """The instance of `values` (these columns of one row, in order, as the database
        returns them); None when its primary key is NULL (a LEFT JOIN that found no row).
        `known`: the instances of shared columns already built, by model and primary key."""
        pk = values[0]
        if pk is None:
            return None
        if self.shared and (self.model, pk) in known:
            return known[self.model, pk]
        if self._conversions:
            values = convert(values, self._conversions)
        instance = self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, values)
        if self.shared:
            known[self.model, pk] = instance
        return instance


def read(columns: Sequence[Columns | str], tail: str, params: Sequence, *,
         head: str | None = None, known: dict | None = None) -> list[list]:
    """The rows of ``SELECT <columns> <tail>`` (`head`: another first SELECT clause with the
    same columns, as a UNION's first branch), each as one value per entry of `columns`: the
    instance of a model's :class:`Columns` (:meth:`Columns.build`; `known` keeps the shared ones,
    across reads when given), or a str's one column as the database returns it."""
    spans, start = [], 0
    for entry in columns:
        width = 1 if isinstance(entry, str) else len(entry.fields)
        spans.append((None if isinstance(entry, str) else entry, start, start + width))
        start += width
    if head is None:
        head = "SELECT " + ", ".join(entry if isinstance(entry, str) else entry.sql
                                     for entry in columns)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"{head} {tail}", list(params))
        rows = cursor.fetchall()
    known = {} if known is None else known
    return [[row[begin] if entry is None else entry.build(row[begin:end], known)
             for entry, begin, end in spans] for row in rows]


def joined(instance: Model, name: str, value) -> None:
    """Keep `value` as `instance.<name>`, read by a join, where select_related (a forward or
    one-to-one relation: an instance, or None for none) or prefetch_related (a reverse foreign
    key: a list) leave it, so reading it runs no query."""
    field = instance._meta.get_field(name)
    if field.one_to_many:
        cached = QuerySet(model=field.related_model)
        cached._result_cache, cached._prefetch_done = list(value), True
        instance.__dict__.setdefault("_prefetched_objects_cache", {})[field.cache_name] = cached
    else:
        field.set_cached_value(instance, value)


_PATIENT = Columns(Patient, "patients_patient", (
    field.name for field in Patient._meta.concrete_fields
    if field.name not in ("created_at", "updated_at")))
_CENTRE = Columns(Centre, "ce")
_REFERRING = Columns(User, "ro", PERSON, shared=True)
_PRIMARY = Columns(User, "po", PERSON, shared=True)
_PREGNANCY_RECORDED_BY = Columns(User, "pr", PERSON, shared=True)
_TUMOUR = Columns(TumourProfile, "tu", (
    field.name for field in TumourProfile._meta.concrete_fields if field.name != "updated_at"))


def patient_page_record_for(user, external_id) -> Patient:
    """The patient of the record page with their centre, oncologists, tumour profile and who
    recorded the pregnancy status (one query), or 404 outside the user's scope: the scope is
    access.py's own condition."""
    scope = access.patient_scope_sql(user)
    if scope is None:
        raise Http404("Not found.")
    condition, params = scope
    try:
        external_id = Patient._meta.get_field("external_id").get_db_prep_value(
            external_id, connections[DEFAULT_DB_ALIAS])
    except ValidationError as exc:  # a malformed id is as unknown as a missing one
        raise Http404("Not found.") from exc
    rows = read(
        [_PATIENT, _CENTRE, _REFERRING, _PRIMARY, _PREGNANCY_RECORDED_BY, _TUMOUR],
        "FROM patients_patient JOIN netcare_centre ce ON ce.id = patients_patient.centre_id"
        " JOIN netcare_user ro ON ro.id = patients_patient.referring_oncologist_id"
        " LEFT JOIN netcare_user po ON po.id = patients_patient.primary_oncologist_id"
        " LEFT JOIN netcare_user pr ON pr.id = patients_patient.pregnancy_recorded_by_id"
        " LEFT JOIN patients_tumourprofile tu ON tu.patient_id = patients_patient.id"
        f" WHERE ({condition}) AND patients_patient.external_id = %s",
        [*params, external_id])
    if not rows:
        raise Http404("Not found.")
    patient, centre, referring, primary, recorded_by, tumour = rows[0]
    for name, value in (("centre", centre), ("referring_oncologist", referring),
                        ("primary_oncologist", primary),
                        ("pregnancy_recorded_by", recorded_by), ("tumour", tumour)):
        joined(patient, name, value)
    if tumour is not None:
        joined(tumour, "patient", patient)
    return patient


_LAB = Columns(LabResult, "l", (
    "external_id", "patient", "analyte", "value", "unit", "uln", "lln", "collected_at",
    "entered_by", "entered_in_error", "error_reason", "marked_in_error_by",
    "marked_in_error_at"))
_ENTERED_BY = Columns(User, "e", PERSON, shared=True)
_MARKED_BY = Columns(User, "m", PERSON, shared=True)


def lab_results_for(patient: Patient, *, limit: int, known: dict | None = None
                    ) -> list[LabResult]:
    """The patient's latest `limit` lab results, newest first, with who entered each and who
    marked it in error."""
    rows = read(
        [_LAB, _ENTERED_BY, _MARKED_BY],
        "FROM patients_labresult l JOIN netcare_user e ON e.id = l.entered_by_id"
        " LEFT JOIN netcare_user m ON m.id = l.marked_in_error_by_id"
        " WHERE l.patient_id = %s ORDER BY l.collected_at DESC, l.id DESC LIMIT %s",
        [patient.pk, limit], known=known)
    labs = []
    for lab, entered_by, marked_by in rows:
        joined(lab, "entered_by", entered_by)
        joined(lab, "marked_in_error_by", marked_by)
        labs.append(lab)
    return labs


_IMAGING = Columns(ImagingStudy, "s", ("modality", "performed_on", "sstr_positive",
                                        "uptake_score"))


def imaging_for(patient: Patient) -> list[ImagingStudy]:
    """The patient's imaging studies, latest first."""
    return [study for (study,) in read(
        [_IMAGING], "FROM patients_imagingstudy s WHERE s.patient_id = %s"
        " ORDER BY s.performed_on DESC, s.id DESC", [patient.pk])]
