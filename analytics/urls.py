from django.urls import path

from analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<slug:figure>.csv", views.figure_csv, name="csv"),
    path("<slug:figure>/patients/", views.figure_patients, name="patients"),
]
