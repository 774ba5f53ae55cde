"""Registering a system: its service account, its OAuth2 application and its scopes."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model

from interop.auth import known_scopes
from interop.models import SystemClient
from netcare import audit
from netcare.models import User


@dataclass(frozen=True)
class Registered:
    system: SystemClient
    client_id: str
    client_secret: str  # shown once: only its hash is kept


def system_register(*, actor, centre, name: str, scopes: list[str],
                    mrn_authority: str = "") -> Registered:
    """Register a system for `centre` with `scopes`: a service account (no role, no password,
    bound to the centre) that is the owner of a confidential OAuth2 application for the
    client-credentials grant. Returns the client id and the secret, which is not kept."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the system."})
    if centre is None or not centre.is_specialist_centre:
        raise ValidationError({"centre": "A system is registered with a NET specialist centre."})
    unknown = sorted(set(scopes) - set(known_scopes()))
    if unknown or not scopes:
        raise ValidationError({"scopes": f"Choose from {', '.join(known_scopes())}"
                                         + (f"; unknown: {', '.join(unknown)}" if unknown
                                            else "")})
    if SystemClient.objects.filter(name=name).exists():
        raise ValidationError({"name": "A system with this name is registered already."})
    application_model = get_application_model()
    secret = generate_client_secret()
    with transaction.atomic():
        account = User(username=f"system-{slugify(name)}"[:150], first_name=name[:150],
                       role="", centre=centre)
        account.set_unusable_password()
        account.full_clean()
        account.save()
        application = application_model.objects.create(
            name=name, user=account, client_type=application_model.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret, redirect_uris="", skip_authorization=True)
        system = SystemClient.objects.create(
            name=name, centre=centre, account=account, application=application,
            scopes=" ".join(sorted(set(scopes))), mrn_authority=mrn_authority.strip(),
            created_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit.record_create(actor=actor, obj=system)
    return Registered(system=system, client_id=application.client_id, client_secret=secret)
