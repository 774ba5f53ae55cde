"""A centre's NET contacts and its referring network.

Each NET specialist centre names its NET contact person(s) and nurse navigator(s); they are
shown to every referring oncologist in the centre's network (their home page), and on every
course letter and radiation-safety instruction sheet (templates/network/_contacts.html).

The network of a centre is computed: the referring practices whose oncologists have referred a
patient to it (a referral past its draft), plus those the centre added by hand
(NetworkPractice). :func:`network_practices` and :func:`network_centres` are the two directions
of that one rule.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404

from netcare import audit
from netcare.models import Centre, Role, User
from netcare.workflow import TransitionForbidden, TransitionInvalid
from network.models import NetContact, NetworkPractice
from referrals.models import Referral, ReferralState

CONTACT_FIELDS = ["user", "name", "kind", "title", "phone", "email", "order", "active"]


# --- the network ------------------------------------------------------------------------------


def _referred() -> QuerySet[Referral]:
    return Referral.objects.exclude(state=ReferralState.DRAFT)


def network_practices(centre: Centre) -> QuerySet[Centre]:
    """The referring practices in `centre`'s network: those whose oncologists have referred a
    patient to it, and those it added by hand."""
    referred = _referred().filter(centre=centre).values("referring_oncologist__centre_id")
    added = NetworkPractice.objects.filter(centre=centre).values("practice_id")
    return (Centre.objects.filter(kind=Centre.Kind.REFERRING_PRACTICE)
            .filter(Q(pk__in=referred) | Q(pk__in=added)).order_by("name"))


def network_centres(practice: Centre | None) -> QuerySet[Centre]:
    """The NET specialist centres whose network holds `practice` (the same rule, read from the
    practice's side)."""
    if practice is None:
        return Centre.objects.none()
    referred = _referred().filter(referring_oncologist__centre=practice).values("centre_id")
    added = NetworkPractice.objects.filter(practice=practice).values("centre_id")
    return (Centre.objects.filter(kind=Centre.Kind.SPECIALIST_CENTRE)
            .filter(Q(pk__in=referred) | Q(pk__in=added)).order_by("name"))


def user_network_centres(user) -> QuerySet[Centre]:
    """The centres a user hears from: a referring oncologist, the centres of their practice's
    networks; the centre's own team, their centre; anyone else, none."""
    role = getattr(user, "role", "")
    if role == Role.REFERRING_ONCOLOGIST:
        return network_centres(user.centre)
    if role in (Role.SPECIALIST, Role.NAVIGATOR) and user.centre_id is not None:
        return Centre.objects.filter(pk=user.centre_id, kind=Centre.Kind.SPECIALIST_CENTRE)
    return Centre.objects.none()


def is_centre_team(user, centre: Centre) -> bool:
    return (user is not None and user.role in (Role.SPECIALIST, Role.NAVIGATOR)
            and user.centre_id == centre.pk and centre.is_specialist_centre)


def network_practice_add(*, actor: User, centre: Centre, practice: Centre) -> NetworkPractice:
    """Add a referring practice to the centre's network by hand (its team only); adding one
    already there changes nothing."""
    if not is_centre_team(actor, centre):
        raise TransitionForbidden("Only the centre's team changes its network.")
    if practice is None or practice.kind != Centre.Kind.REFERRING_PRACTICE:
        raise TransitionInvalid("Choose a referring practice.", field="practice")
    with transaction.atomic():
        link, created = NetworkPractice.objects.get_or_create(
            centre=centre, practice=practice, defaults={"added_by": actor})
        if created:
            audit.record_create(actor=actor, obj=link)
    return link


# --- contacts ---------------------------------------------------------------------------------


def contacts_of(centre: Centre | None) -> list[NetContact]:
    """The centre's active NET contacts and navigators, in the centre's order."""
    if centre is None:
        return []
    return list(NetContact.objects.filter(centre=centre, active=True).select_related("user"))


def contacts_by_centre(centres) -> dict[int, list[NetContact]]:
    """The active contacts of several centres in one query, by centre id."""
    found: dict[int, list[NetContact]] = {centre.pk: [] for centre in centres}
    for contact in (NetContact.objects.filter(centre_id__in=list(found), active=True)
                    .select_related("user")):
        found[contact.centre_id].append(contact)
    return found


def _check_contact(contact: NetContact) -> None:
    user = contact.user
    if user is not None and (user.centre_id != contact.centre_id
                             or user.role not in (Role.SPECIALIST, Role.NAVIGATOR)):
        raise ValidationError({"user": "Choose a NET specialist or navigator of this centre."})
    if user is not None and contact.name:
        raise ValidationError({"name": "Give a name only for someone without a NETcare account."})
    if user is None and not contact.name.strip():
        raise ValidationError({"name": "Choose a member of the team or give a name."})
    contact.full_clean()


def contact_add(*, actor: User, centre: Centre, data: dict[str, Any]) -> NetContact:
    """Name a NET contact or navigator of the centre (its team only); audited."""
    if not is_centre_team(actor, centre):
        raise TransitionForbidden("Only the centre's team names its NET contacts.")
    contact = NetContact(centre=centre, **{k: v for k, v in data.items() if k in CONTACT_FIELDS})
    contact.name = (contact.name or "").strip()
    _check_contact(contact)
    with transaction.atomic():
        contact.save()
        audit.record_create(actor=actor, obj=contact)
    return contact


def contact_update(*, actor: User, contact: NetContact, data: dict[str, Any]) -> NetContact:
    """Change a contact (or take it off the list: `active` False; nothing is deleted); the
    values before and after are audited."""
    if not is_centre_team(actor, contact.centre):
        raise TransitionForbidden("Only the centre's team changes its NET contacts.")
    with transaction.atomic():
        locked = NetContact.objects.select_for_update().get(pk=contact.pk)
        before = audit.snapshot(locked, CONTACT_FIELDS)
        for name, value in data.items():
            if name in CONTACT_FIELDS:
                setattr(locked, name, value)
        locked.name = (locked.name or "").strip()
        _check_contact(locked)
        locked.save()
        if audit.snapshot(locked, before.keys()) != before:
            audit.record_update(actor=actor, obj=locked, before=before,
                                note="NET contact changed.")
    return locked


def contact_for(user, external_id) -> NetContact:
    """One contact of the user's own centre (to change), else Http404."""
    try:
        return NetContact.objects.select_related("centre", "user").get(
            external_id=external_id, centre_id=getattr(user, "centre_id", None),
            centre__kind=Centre.Kind.SPECIALIST_CENTRE)
    except (NetContact.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("Not found.") from exc
