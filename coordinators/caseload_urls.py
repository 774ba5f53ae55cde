from django.urls import path

from coordinators import caseload_views

app_name = "caseload"
urlpatterns = [
    path("", caseload_views.caseload, name="caseload"),
    path("tasks/<uuid:external_id>/forms/", caseload_views.task_forms, name="task-forms"),
    path("tasks/<uuid:external_id>/<str:action>/", caseload_views.task_action, name="task-action"),
]
