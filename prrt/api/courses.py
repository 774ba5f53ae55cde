"""`/api/v1/courses/`: PRRT courses, their eligibility decision and discontinuation."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from netcare import access
from netcare.api import (
    CONFLICT,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    filter_list,
)
from netcare.clock import centre_today
from netcare.workflow import (
    Step,
    check_transition,
)
from patients import records
from prrt import clinical, selectors, services
from prrt.api.base import PrrtViewMixin, action_schema
from prrt.api.serializers import (
    CourseDetailSerializer,
    CourseEligibilityDecisionSerializer,
    CourseEligibilitySerializer,
    CourseFilterSerializer,
    CourseOpenSerializer,
    CourseSerializer,
    ReasonSerializer,
)
from prrt.models import (
    Cycle,
    TreatmentCourse,
)
from referrals.selectors import referral_for

# --- courses --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="PRRT courses you may see", parameters=[CourseFilterSerializer],
                       responses={200: CourseSerializer(many=True), 400: INVALID}),
    retrieve=extend_schema(summary="One course with its cycles and history (audited)",
                           responses={200: CourseDetailSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary="Open a course from an accepted referral (the centre's team)",
        request=CourseOpenSerializer,
        responses={201: CourseDetailSerializer, 400: INVALID, 403: FORBIDDEN, 409: CONFLICT},
    ),
)
class CourseViewSet(PrrtViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.CreateModelMixin, viewsets.GenericViewSet):
    """PRRT courses of the patients you may see, newest first. The eligibility decision and
    discontinuation are POST actions; `available_actions` lists the ones you may take now."""

    queryset = TreatmentCourse.objects.all()
    serializer_class = CourseSerializer

    def get_queryset(self):
        queryset = selectors.courses_visible(self.request.user).select_related(
            "eligibility_decided_by")
        if self.action == "list":
            queryset = filter_list(queryset, self.request, CourseFilterSerializer)
        return queryset

    def load_course(self, external_id) -> TreatmentCourse:
        """The course with its cycles (each with its administration), or a 404."""
        with_cycles = self.get_queryset().prefetch_related(Prefetch(
            "cycles", queryset=Cycle.objects.select_related("administration__recorded_by")
            .order_by("number")))
        return access.get_object_for(self.request.user, with_cycles, external_id=external_id)

    def course_response(self, course: TreatmentCourse, *,
                        status_code: int = status.HTTP_200_OK) -> Response:
        """`course` (loaded by :meth:`load_course`) with its cycles and history."""
        context = {**self.get_serializer_context(), "history": clinical.course_history(course)}
        return Response(CourseDetailSerializer(course, context=context).data, status=status_code)

    def retrieve(self, request, *args, **kwargs):
        course = self.load_course(self.kwargs[self.lookup_url_kwarg])
        self.record_view(course)
        return self.course_response(course)

    def create(self, request, *args, **kwargs):
        data = self.parse(CourseOpenSerializer)
        try:
            referral = referral_for(request.user, data["referral"])
        except Http404:
            raise ValidationError({"referral": "No such referral among yours."}) from None
        course = services.course_open(actor=request.user, referral=referral,
                                      planned_first_dose=data["planned_first_dose"])
        return self.course_response(self.load_course(course.external_id),
                                    status_code=status.HTTP_201_CREATED)

    @extend_schema(summary="Eligibility findings for the course today (audited)",
                   responses={200: CourseEligibilitySerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def eligibility(self, request, *args, **kwargs):
        course = self.get_object()
        today = centre_today(course.centre)
        findings = records.eligibility_for(course.patient, today=today,
                                           planned_first_dose=course.planned_first_dose)
        self.record_view(course)
        return self.respond(CourseEligibilitySerializer, {
            "course": course.external_id, "date": today,
            "findings": [finding.as_dict() for finding in findings],
        })

    def decide_eligibility(self, request, *, approve: bool):
        course = self.get_object()
        check_transition(course, services.eligibility_step(approve), request.user)
        data = self.parse(CourseEligibilityDecisionSerializer)
        services.course_decide_eligibility(actor=request.user, course=course, approve=approve,
                                           today=centre_today(course.centre), **data)
        return self.course_response(self.load_course(course.external_id))

    @action_schema(
        "Approve the course (specialists)", CourseEligibilityDecisionSerializer,
        CourseDetailSerializer, operation_id="v1_courses_approve",
        description="Records the responsibility agreement and the rules' findings. A `reason` "
                    "is required to approve over a block or review finding.")
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self.decide_eligibility(request, approve=True)

    @action_schema(
        "Decide the course is not approved (specialists)", CourseEligibilityDecisionSerializer,
        CourseDetailSerializer, operation_id="v1_courses_reject",
        description="A `reason` is required.")
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        return self.decide_eligibility(request, approve=False)

    @action_schema(
        "Discontinue the course (specialists)", ReasonSerializer, CourseDetailSerializer,
        operation_id="v1_courses_discontinue",
        description="Open cycles are cancelled and the patient is referred back.")
    @action(detail=True, methods=["post"])
    def discontinue(self, request, *args, **kwargs):
        course = self.get_object()
        check_transition(course, Step("discontinue", "discontinue the course"), request.user)
        data = self.parse(ReasonSerializer)
        services.course_discontinue(actor=request.user, course=course, reason=data["reason"])
        return self.course_response(self.load_course(course.external_id))
