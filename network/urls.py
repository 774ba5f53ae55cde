
app_name = "network"
urlpatterns: list = []

# --- MDT ---
from django.urls import path  # noqa: E402

from network import mdt_views  # noqa: E402

urlpatterns += [
    path("mdt/", mdt_views.meetings, name="mdt-meetings"),
    path("mdt/new/", mdt_views.meeting_new, name="mdt-meeting-new"),
    path("mdt/<uuid:meeting_id>/", mdt_views.meeting_page, name="mdt-meeting"),
    path("mdt/<uuid:meeting_id>/agenda.pdf", mdt_views.agenda_pdf, name="mdt-agenda-pdf"),
    path("mdt/<uuid:meeting_id>/members/", mdt_views.member_add, name="mdt-member-add"),
    path("mdt/<uuid:meeting_id>/cases/search/", mdt_views.case_search, name="mdt-case-search"),
    path("mdt/<uuid:meeting_id>/cases/", mdt_views.case_add, name="mdt-case-add"),
    path("mdt/<uuid:meeting_id>/<str:step>/", mdt_views.meeting_step, name="mdt-meeting-step"),
    path("mdt/members/<uuid:member_id>/remove/", mdt_views.member_remove,
         name="mdt-member-remove"),
    path("mdt/members/<uuid:member_id>/attended/", mdt_views.member_attended,
         name="mdt-member-attended"),
    path("mdt/cases/<uuid:case_id>/", mdt_views.case_page, name="mdt-case"),
    path("mdt/cases/<uuid:case_id>/outcome.pdf", mdt_views.outcome_pdf, name="mdt-outcome-pdf"),
    path("mdt/cases/<uuid:case_id>/refresh/", mdt_views.case_refresh, name="mdt-case-refresh"),
    path("mdt/cases/<uuid:case_id>/invite/", mdt_views.case_invite, name="mdt-case-invite"),
    path("mdt/cases/<uuid:case_id>/sign/", mdt_views.case_sign, name="mdt-case-sign"),
    path("mdt/cases/<uuid:case_id>/<str:step>/", mdt_views.case_step, name="mdt-case-step"),
    path("mdt/actions/<uuid:action_id>/done/", mdt_views.action_done, name="mdt-action-done"),
]

# --- e-consult, contacts, bulletins ---
from django.urls import path  # noqa: E402

from network import network_views  # noqa: E402

urlpatterns += [
    path("econsults/", network_views.econsult_list, name="econsults"),
    path("econsults/new/", network_views.econsult_new, name="econsult-new"),
    path("econsults/<uuid:external_id>/", network_views.econsult_detail, name="econsult"),
    path("econsults/<uuid:external_id>/refer/", network_views.econsult_refer,
         name="econsult-refer"),
    path("econsults/<uuid:external_id>/action/<str:action>/", network_views.econsult_action,
         name="econsult-action"),
    path("contacts/", network_views.contact_list, name="contacts"),
    path("contacts/<uuid:external_id>/", network_views.contact_edit, name="contact-edit"),
    path("bulletins/", network_views.bulletin_list, name="bulletins"),
    path("bulletins/new/", network_views.bulletin_new, name="bulletin-new"),
    path("bulletins/subscription/", network_views.bulletin_subscription,
         name="bulletin-subscription"),
    path("bulletins/<uuid:external_id>/", network_views.bulletin_detail, name="bulletin"),
]
