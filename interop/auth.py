"""System sign-in: OAuth2 client credentials (django-oauth-toolkit) for registered systems.

A registered system (interop.models.SystemClient) signs in at ``/o/token/`` with its client id
and secret and gets a short-lived bearer token for some of the scopes it was registered with
(:class:`SystemScopes`). With that token it is its own service account, marked as a system by
netcare.access (:func:`netcare.access.as_system`): it sees its centre's patients, read-only
except for what its scopes allow, and every audit row names it.

For views:

- :class:`SystemTokenAuthentication`: the DRF authentication of a bearer token (listed in
  ``REST_FRAMEWORK``, after the session: people keep their sessions);
- :class:`HasSystemScope`: ``permission_classes = [HasSystemScope("fhir.read")]`` lets a system
  in only with that scope (and people with a session too, unless ``people=False``);
- :class:`SystemsReadOnly`: the default for ``/api/v1/``: a system reads with ``api.read`` and
  writes nothing there.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.oauth2_validators import OAuth2Validator
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from interop.models import SystemClient
from netcare import access, audit
from netcare.models import AuditEvent

API_READ = "api.read"
FHIR_READ = "fhir.read"
LABS_WRITE = access.LABS_WRITE


def known_scopes() -> dict[str, str]:
    return dict(settings.OAUTH2_PROVIDER["SCOPES"])


def system_for_application(application) -> SystemClient | None:
    """The active registered system of an OAuth2 application (None for any other client)."""
    if application is None:
        return None
    return (SystemClient.objects.select_related("account__centre", "centre")
            .filter(application=application, is_active=True, account__is_active=True).first())


def system_principal(system: SystemClient, scopes=None):
    """The system's account, marked as the system with `scopes` (those of its token; its
    registered scopes when none are given), never more than it was registered with."""
    granted = system.scope_set if scopes is None else system.scope_set & set(scopes)
    return access.as_system(system.account, granted)


class SystemScopes:
    """django-oauth-toolkit's scopes backend: a system may ask for the scopes it was registered
    with, no other; asking for none gives it all of them."""

    def get_all_scopes(self):
        return known_scopes()

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        system = system_for_application(application)
        if system is None:
            return []
        return sorted(system.scope_set & set(known_scopes()))

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request)


class SystemValidator(OAuth2Validator):
    """Tokens only for active registered systems, and only by client credentials."""

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return (grant_type == "client_credentials"
                and system_for_application(client) is not None
                and super().validate_grant_type(client_id, grant_type, client, request, *args,
                                                **kwargs))


class SystemTokenAuthentication(OAuth2Authentication):
    """A bearer token of a registered, active system: the request is the system's account,
    marked with the token's scopes. A valid token of any other client is refused."""

    www_authenticate_realm = "netcare"

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        _user, token = result
        system = system_for_application(token.application)
        if system is None:
            raise exceptions.AuthenticationFailed("This client is not an active registered "
                                                  "system.")
        principal = system_principal(system, token.scope.split())
        request._request.system_client = system  # noqa: SLF001 - for views and logs
        return principal, token


class HasSystemScope(BasePermission):
    """Let a system in only with `scope`; people (with a session) too unless `people=False`.

    Use an instance in ``permission_classes``: ``[HasSystemScope("labs.write", people=False)]``
    (DRF calls each entry to get the permission; an instance returns itself)."""

    def __init__(self, scope: str = "", *, people: bool = True) -> None:
        self.scope = scope
        self.people = people
        self.message = (f"This needs a system token with the {scope} scope." if people else
                        f"Only a registered system with the {scope} scope signs in here "
                        f"(OAuth2 client credentials).")

    def __call__(self):
        return self

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if access.is_system(user):
            return bool(self.scope) and access.has_scope(user, self.scope)
        return self.people


class SystemsReadOnly(BasePermission):
    """The default of ``/api/v1/``: people as before; a system reads with ``api.read`` and
    writes nothing (its lab results come in by HL7 v2 or FHIR)."""

    message = "A system reads /api/v1/ with the api.read scope and writes nothing there."

    def has_permission(self, request, view) -> bool:
        if not access.is_system(request.user):
            return True
        return request.method in SAFE_METHODS and access.has_scope(request.user, API_READ)


def record_token_issued(sender, request, token, **kwargs) -> None:
    """Audit every token issued to a system, as the system (django-oauth-toolkit's
    ``app_authorized`` signal)."""
    system = system_for_application(token.application)
    if system is None:
        return
    audit.record(actor=system.account, action=AuditEvent.Action.LOGIN, obj=system,
                 changes={"scope": [None, token.scope],
                          "expires": [None, token.expires.isoformat()]},
                 note=f"OAuth2 token issued to {system.name}",
                 ip_address=audit.client_ip(request))


class SystemTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme: OAuth2 client credentials at /o/token/, with the scopes a
    view requires (HasSystemScope) or api.read for the rest of /api/v1/."""

    target_class = "interop.auth.SystemTokenAuthentication"
    name = "systemOAuth2"
    priority = 1

    def get_security_requirement(self, auto_schema):
        for permission in auto_schema.view.get_permissions():
            if isinstance(permission, HasSystemScope):
                return {self.name: [permission.scope]}
        return {self.name: [API_READ]}

    def get_security_definition(self, auto_schema):
        return {"type": "oauth2", "flows": {"clientCredentials": {
            "tokenUrl": "/o/token/", "scopes": known_scopes()}}}
