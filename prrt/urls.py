from django.urls import path

from prrt import calendar_views, order_views, precaution_views, views

app_name = "prrt"
urlpatterns = [
    path("courses/", views.course_list, name="courses"),
    path("approvals/", views.approval_queue, name="approvals"),
    path("infusions/", calendar_views.infusion_calendar, name="infusion-calendar"),
    path("precautions/", precaution_views.precaution_sheet_page, name="precaution-sheet"),
    path("referrals/<uuid:referral_id>/open-course/", views.course_open, name="course-open"),
    path("courses/<uuid:external_id>/", views.course_detail, name="course"),
    path("courses/<uuid:external_id>/eligibility/", views.course_eligibility,
         name="course-eligibility"),
    path("cycles/<uuid:external_id>/", views.cycle_detail, name="cycle"),
    path("cycles/<uuid:external_id>/decide/", views.cycle_decide, name="cycle-decide"),
    path("cycles/<uuid:external_id>/book/", views.cycle_book, name="cycle-book"),
    path("cycles/<uuid:external_id>/order/<slug:action>/", order_views.cycle_order_action,
         name="cycle-order"),
    path("cycles/<uuid:external_id>/administer/", views.cycle_administer,
         name="cycle-administer"),
    path("cycles/<uuid:external_id>/administration/amend/", views.cycle_administration_amend,
         name="cycle-administration-amend"),
    path("cycles/<uuid:external_id>/instructions.pdf", views.cycle_instructions_pdf,
         name="cycle-instructions"),
    path("cycles/<uuid:external_id>/instructions/email/", views.cycle_instructions_email,
         name="cycle-instructions-email"),
]
