"""REST API v1 routes. Objects are addressed by their UUID (`external_id`), never an integer key;
records of a patient or a referral are nested under it."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from coordinators import api as coordinators_api
from network import mdt_api, network_api
from patients import api as patients_api
from prrt import api as prrt_api
from prrt.api.injections import SSAInjectionViewSet
from referrals import api as referrals_api

router = SimpleRouter(use_regex_path=False)
router.register("patients", patients_api.PatientViewSet, basename="patient")
router.register("patients/<uuid:patient_id>/imaging", patients_api.ImagingStudyViewSet,
                basename="patient-imaging")
router.register("patients/<uuid:patient_id>/labs", patients_api.LabResultViewSet,
                basename="patient-labs")
router.register("patients/<uuid:patient_id>/adverse-events", patients_api.AdverseEventViewSet,
                basename="patient-adverse-events")
router.register("patients/<uuid:patient_id>/performance-status",
                patients_api.PerformanceStatusViewSet, basename="patient-performance-status")
router.register("referrals", referrals_api.ReferralViewSet, basename="referral")
router.register("referrals/<uuid:referral_id>/events", referrals_api.ReferralEventViewSet,
                basename="referral-events")
router.register("referrals/<uuid:referral_id>/notes", referrals_api.ReferralNoteViewSet,
                basename="referral-notes")
router.register("courses", prrt_api.CourseViewSet, basename="course")
router.register("cycles", prrt_api.CycleViewSet, basename="cycle")
router.register("cycles/<uuid:cycle_id>/decisions", prrt_api.CycleDecisionViewSet,
                basename="cycle-decisions")
router.register("cycles/<uuid:cycle_id>/dose-orders", prrt_api.CycleDoseOrderViewSet,
                basename="cycle-dose-orders")
router.register("ssa-injections", SSAInjectionViewSet, basename="ssa-injection")
router.register("care-tasks", coordinators_api.CareTaskViewSet, basename="care-task")
router.register("econsults", network_api.EConsultViewSet, basename="econsult")
router.register("bulletins", network_api.BulletinViewSet, basename="bulletin")
router.register("mdt-meetings", mdt_api.MdtMeetingViewSet, basename="mdt-meeting")
router.register("mdt-cases", mdt_api.MdtCaseViewSet, basename="mdt-case")

urlpatterns = [
    path("patients/<uuid:patient_id>/tumour/",
         patients_api.TumourProfileViewSet.as_view({"get": "retrieve", "put": "update"}),
         name="patient-tumour"),
    *router.urls,
]
