"""URLs of the course letter (namespace ``letters``), by the course's id."""

from django.urls import path

from coordinators import letter_views as views

app_name = "letters"
urlpatterns = [
    path("<uuid:course_id>/", views.letter_page, name="letter"),
    path("<uuid:course_id>/prepare/", views.letter_prepare, name="prepare"),
    path("<uuid:course_id>/save/", views.letter_save, name="save"),
    path("<uuid:course_id>/send/", views.letter_send, name="send"),
    path("<uuid:course_id>/letter.pdf", views.letter_pdf, name="pdf"),
]
