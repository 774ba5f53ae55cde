"""Pages of the interoperability app (the unmatched-results inbox), mounted at /interop/."""

from django.urls import path

from interop import views

app_name = "interop"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<uuid:entry_id>/", views.entry, name="inbox-entry"),
    path("inbox/<uuid:entry_id>/match/", views.match, name="inbox-match"),
    path("inbox/<uuid:entry_id>/reject/", views.reject, name="inbox-reject"),
]
