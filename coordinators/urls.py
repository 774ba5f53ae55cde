from django.urls import path

from coordinators import views

app_name = "coordinators"
urlpatterns = [
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
    path("calendar/reset/", views.calendar_token_reset, name="calendar-reset"),
    path("tasks/", views.my_tasks, name="tasks"),
]
