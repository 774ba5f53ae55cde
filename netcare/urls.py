from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from oauth2_provider import views as oauth2_views

from coordinators import caseload_views
from netcare import account_views, session, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(),
         name="password_change_done"),
    path("accounts/mfa/", account_views.overview, name="mfa-overview"),
    path("accounts/mfa/verify/", account_views.verify, name="mfa-verify"),
    path("accounts/mfa/enrol/", account_views.enrol, name="mfa-enrol"),
    path("accounts/mfa/backup-codes/", account_views.backup_codes, name="mfa-backup-codes"),
    path("accounts/mfa/remove/", account_views.remove, name="mfa-remove"),
    path("accounts/session/", session.session_status, name="session-status"),
    path("navigator/", caseload_views.caseload, name="navigator-home"),
    path("caseload/", include("coordinators.caseload_urls")),
    path("specialist/", views.specialist_home, name="specialist-home"),
    path("oncologist/", views.oncologist_home, name="oncologist-home"),
    path("patients/", include("coordinators.patient_urls")),
    path("referrals/", include("referrals.urls")),
    path("prrt/", include("prrt.urls")),
    path("letters/", include("coordinators.letter_urls")),
    path("", include("coordinators.urls")),
    path("api/v1/hl7/", include("interop.hl7_urls")),
    path("api/v1/", include("netcare.api_urls")),
    path("fhir/R4/", include("interop.fhir.urls")),
    path("interop/", include("interop.urls")),
    path("network/", include("network.urls")),
    path("analytics/", include("analytics.urls")),
    # OAuth2 client credentials for registered systems (interop.auth): tokens and revocation.
    path("o/token/", oauth2_views.TokenView.as_view(), name="oauth2-token"),
    path("o/revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="oauth2-revoke"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from NETcare's static files (drf-spectacular-sidecar), nonce'd for the CSP.
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema",
                                                     template_name="netcare/api_docs.html"),
         name="api-docs"),
    path("admin/", admin.site.urls),
]

# A database or Redis that does not answer is a 503 page saying so, not a 500 (netcare/unavailable).
handler500 = "netcare.unavailable.server_error"
# Under /api/ an unknown route (or a refusal raised outside a view) answers JSON in the API's
# error shapes (netcare.api); elsewhere the pages as before.
handler400 = "netcare.api.bad_request"
handler403 = "netcare.api.permission_denied"
handler404 = "netcare.api.page_not_found"
