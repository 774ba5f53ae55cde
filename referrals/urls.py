from django.urls import path

from referrals import views

app_name = "referrals"
urlpatterns = [
    path("new/", views.referral_new, name="new"),
    path("inbox/", views.specialist_inbox, name="inbox"),
    path("<uuid:external_id>/", views.referral_detail, name="detail"),
    path("<uuid:external_id>/edit/", views.referral_edit, name="edit"),
    path("<uuid:external_id>/action/<str:action>/", views.referral_action, name="action"),
    path("<uuid:external_id>/notes/", views.referral_note, name="note"),
]
