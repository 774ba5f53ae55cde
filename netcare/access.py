"""Who may see and change which patients: the one place NETcare answers that question.

Deny by default. Navigators and NET specialists see the patients treated at their own specialist
centre; a referring oncologist sees the patients they referred or are the primary oncologist for;
centre administrators manage users and centres and see no clinical records. A registered system
(an integration engine, an EHR) acts through its own service account, bound to one specialist
centre, with no role and no password: marked by :func:`as_system` with the scopes of its OAuth2
token, it sees its centre's patients read-only, and adds lab results only with ``labs.write``.
Everything attached to a patient (referrals, courses, cycles, tasks) is scoped through
:func:`scope_to_patients`, so lists and details apply one rule, and an object outside it is a
404, never a 403 that confirms it exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest

from netcare.models import Role

if TYPE_CHECKING:
    from patients.models import Patient

M = TypeVar("M", bound=Model)

# --- systems: a registered system's service account, for one request --------------------------

LABS_WRITE = "labs.write"


def as_system(account, scopes: Iterable[str]):
    """Mark `account` (a registered system's service account: no role, bound to a centre) as a
    system principal holding `scopes`, for the request or connection at hand. Only the system
    sign-in (interop.auth) calls this; the mark lives on this object, never in the database."""
    account.system_scopes = frozenset(scopes)
    return account


def system_scopes(user) -> frozenset[str] | None:
    """The scopes of a system principal; None for a person (or an unmarked account)."""
    scopes = getattr(user, "system_scopes", None)
    if scopes is None or getattr(user, "role", "") != "":
        return None
    return scopes


def is_system(user) -> bool:
    return system_scopes(user) is not None


def has_scope(user, scope: str) -> bool:
    """Whether `user` is a system principal holding `scope`."""
    return scope in (system_scopes(user) or ())


def _patient_q(user, prefix: str = "") -> Q | None:
    """The filter selecting the patients `user` may see, or None when they may see none."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if is_system(user):
        centre = user.centre
        if not system_scopes(user) or centre is None or not centre.is_specialist_centre:
            return None
        return Q(**{f"{prefix}centre_id": centre.pk})
    if user.role in (Role.NAVIGATOR, Role.SPECIALIST):
        centre = user.centre
        if centre is None or not centre.is_specialist_centre:
            return None
        return Q(**{f"{prefix}centre_id": centre.pk})
    if user.role == Role.REFERRING_ONCOLOGIST:
        return Q(**{f"{prefix}referring_oncologist_id": user.pk}) | Q(
            **{f"{prefix}primary_oncologist_id": user.pk}
        )
    return None


def visible_patients(user) -> QuerySet[Patient]:
    """All patients `user` may see."""
    # The one allowed upward import of the core (see pyproject's import contract): scoping is
    # about patients. Imported here because the core's modules load before the patients app.
    from patients.models import Patient

    return scope_to_patients(user, Patient.objects.all(), patient_path="")


def scope_to_patients(user, queryset: QuerySet[M], *, patient_path: str = "patient") -> QuerySet[M]:
    """Narrow any queryset of patient-owned rows to those `user` may see.

    `patient_path` is the lookup from the queryset's model to its Patient ("" for Patient itself,
    "referral__patient" for a model two steps away).
    """
    prefix = f"{patient_path}__" if patient_path else ""
    condition = _patient_q(user, prefix)
    if condition is None:
        return queryset.none()
    return queryset.filter(condition)


def centre_scope(user) -> int | None:
    """The centre whose patients, all of them and only them, `user` may see (navigators and
    specialists of a specialist centre); None for any other scope."""
    if _patient_q(user) is None or is_system(user):
        return None
    if user.role in (Role.NAVIGATOR, Role.SPECIALIST):
        return user.centre_id
    return None


def patient_scope_sql(user, *, using: str = "default") -> tuple[str, list] | None:
    """The condition selecting the patients `user` may see, as SQL on the ``patients_patient``
    table (columns written ``"patients_patient"."column"``) with its parameters, for a read
    written in SQL; None when they may see none. The same rule as :func:`scope_to_patients`."""
    from netcare.sqlrows import where_sql
    from patients.models import Patient  # as in visible_patients

    condition = _patient_q(user)
    return None if condition is None else where_sql(Patient, condition, using=using)


def can_view_patient(user, patient: Patient) -> bool:
    condition = _patient_q(user)
    if condition is None:
        return False
    if is_system(user) or user.role in (Role.NAVIGATOR, Role.SPECIALIST):
        return patient.centre_id == user.centre_id
    return user.pk in (patient.referring_oncologist_id, patient.primary_oncologist_id)


def can_change_patient(user, patient: Patient) -> bool:
    """Clinical data entry (labs, adverse events, profile) is open to everyone who may see the
    patient; workflow transitions add their own role checks on top. A system changes only what
    its scopes allow: with ``labs.write`` it adds (and corrects) lab results."""
    if is_system(user):
        return has_scope(user, LABS_WRITE) and can_view_patient(user, patient)
    return can_view_patient(user, patient)


def get_object_for(user, queryset: QuerySet[M], *, patient_path: str = "patient", **lookup) -> M:
    """One object `user` may see, or Http404 (also when it exists but is out of scope)."""
    try:
        return scope_to_patients(user, queryset, patient_path=patient_path).get(**lookup)
    except (queryset.model.DoesNotExist, ValidationError, ValueError) as exc:
        # ValidationError/ValueError: a malformed id is as unknown as a missing one.
        raise Http404("Not found.") from exc


def get_patient_for(user, external_id) -> Patient:
    from patients.models import Patient  # as in visible_patients

    return get_object_for(user, Patient.objects.all(), patient_path="", external_id=external_id)


def role_required(*roles: str):
    """Only users of one of `roles` may open the view; others get 403."""

    def decorator(view):
        @login_required
        def wrapped(request: HttpRequest, *args, **kwargs):
            if request.user.role not in roles:
                raise PermissionDenied("This page is not available for your role.")
            return view(request, *args, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return decorator


def check_may_change_patient(actor, patient) -> None:
    """Refuse an actor who may not add to `patient`'s record: a 404 for a patient they may not
    see (their existence is not confirmed), a 403 for one they may see but not change."""
    if actor is None or not can_view_patient(actor, patient):
        raise Http404("Not found.")
    if not can_change_patient(actor, patient):
        raise PermissionDenied("You cannot change this patient's record.")
