"""REST API for PRRT courses and cycles (`/api/v1/courses/…`, `/api/v1/cycles/…`).

Views only parse, call prrt.selectors / prrt.services / prrt.clinical and shape the answer; the
rules recommend, a NET specialist decides, and the workflow funnel says what is allowed. Its
refusals keep their status (409 wrong state, 403 wrong role); every 400 names its field the way
DRF's own field errors do (``{"reason": ["…"]}``), whether the serializer or a service found it.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

import rules
from netcare import access
from netcare.api import (
    CONFLICT,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    NamedChoiceField,
    NetcareViewMixin,
    UserRefSerializer,
    exception_handler,
    filter_list,
)
from netcare.clock import centre_today
from netcare.workflow import (
    Step,
    TransitionInvalid,
    check_transition,
)
from patients import records
from patients.api import FindingSerializer
from prrt import clinical, selectors, services
from prrt.models import (
    Administration,
    CourseState,
    Cycle,
    CycleDecision,
    CycleState,
    Responsible,
    TreatmentCourse,
)
from referrals.selectors import referral_for

COURSE_ACTIONS = ("approve", "reject", "discontinue")
CYCLE_ACTIONS = ("approve", "withhold", "discontinue", "administer")
DECIDABLE_CYCLE_STATES = (CycleState.PLANNED, CycleState.READY, CycleState.WITHHELD)


def _uuid_ref(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="external_id", read_only=True, **kwargs)


def _read_only_choice(choices, component: str, **kwargs) -> NamedChoiceField:
    return NamedChoiceField(choices, component=component, read_only=True, **kwargs)


# --- the rules' output, as documented in the schema (passed through unchanged) ---------------


class TriggerSerializer(serializers.Serializer):
    category = NamedChoiceField([str(c) for c in rules.Category], component="DoseCategoryEnum")
    criterion = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    unit = serializers.CharField(allow_null=True)
    comparison = serializers.CharField()
    reason = serializers.CharField()


class GradeSerializer(serializers.Serializer):
    grade = serializers.IntegerField(allow_null=True, help_text="CTCAE grade 0-4.")
    term = serializers.CharField(allow_null=True)
    ctcae_version = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    unit = serializers.CharField()
    reason = serializers.CharField()


class CourseAfterSerializer(serializers.Serializer):
    withheld_categories = serializers.ListField(child=serializers.CharField())
    occurred_categories = serializers.ListField(child=serializers.CharField())


class DoseRecommendationSerializer(serializers.Serializer):
    """The rules' dose decision for a cycle, exactly as `manage.py assess` prints it."""

    kind = serializers.CharField()
    assessment_date = serializers.DateField()
    action = NamedChoiceField([str(a) for a in rules.Action], component="DoseActionEnum")
    activity_gbq = serializers.FloatField(allow_null=True)
    cycle = serializers.IntegerField(allow_null=True)
    code = serializers.CharField()
    triggers = TriggerSerializer(many=True)
    grades = serializers.DictField(child=GradeSerializer(), help_text="By analyte.")
    crcl_ml_min = serializers.FloatField(allow_null=True)
    baseline_crcl_ml_min = serializers.FloatField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    delay_days = serializers.IntegerField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    findings = FindingSerializer(many=True)
    manual_review = FindingSerializer(many=True)
    course_after = CourseAfterSerializer()


class LabSnapshotSerializer(serializers.Serializer):
    value = serializers.CharField()
    unit = serializers.CharField()
    uln = serializers.CharField(allow_null=True)
    collected_at = serializers.DateTimeField()
    id = serializers.UUIDField(help_text="The lab result.")


@extend_schema_field(DoseRecommendationSerializer)
class DoseRecommendationField(serializers.JSONField):
    """The rules' JSON, unchanged."""


@extend_schema_field(serializers.DictField(child=LabSnapshotSerializer(),
                                          help_text="By analyte."))
class LabsSnapshotField(serializers.JSONField):
    """The lab values a recommendation used, as stored with the decision."""


# --- courses --------------------------------------------------------------------------------


class DoseSerializer(serializers.Serializer):
    cycle = serializers.IntegerField()
    date = serializers.DateField(help_text="The infusion day, in the centre's time zone.")
    activity_gbq = serializers.DecimalField(max_digits=4, decimal_places=2)


class CourseHistorySerializer(serializers.Serializer):
    """The course as the rules see it."""

    doses = DoseSerializer(many=True)
    cumulative_activity_gbq = serializers.DecimalField(max_digits=5, decimal_places=2)
    withheld_categories = serializers.ListField(
        child=serializers.CharField(), source="withheld",
        help_text="Categories of the withhold episode still open (no dose given since).")
    occurred_categories = serializers.ListField(
        child=serializers.CharField(), source="occurred",
        help_text="Categories of withhold episodes closed by a later dose.")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["withheld_categories"] = sorted(data["withheld_categories"])
        data["occurred_categories"] = sorted(data["occurred_categories"])
        return data


class AdministrationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    recorded_by = _uuid_ref()

    class Meta:
        model = Administration
        fields = ["id", "administered_at", "activity_gbq", "lar_injected_at", "amino_acids_given",
                  "antiemetic_given", "no_short_acting_ssa_24h", "infusion_reaction_grade",
                  "reaction_is_hypersensitivity", "warnings", "notes", "recorded_by",
                  "recorded_at"]
        read_only_fields = fields


class CycleSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    course = serializers.UUIDField(source="course.external_id", read_only=True)
    patient = serializers.UUIDField(source="course.patient.external_id", read_only=True)
    state = _read_only_choice(CycleState.choices, "CycleStateEnum")
    missing = serializers.ListField(child=serializers.CharField(), read_only=True,
                                    help_text="What readiness still needs, as last computed.")
    administration = AdministrationSerializer(read_only=True, allow_null=True)
    available_actions = serializers.SerializerMethodField(
        help_text="The actions you may take now (POST /cycles/{id}/{action}/).")

    class Meta:
        model = Cycle
        fields = ["id", "course", "patient", "number", "state", "due_date", "planned_date",
                  "missing", "approved_activity_gbq", "administration", "available_actions",
                  "updated_at"]
        read_only_fields = fields

    def get_available_actions(self, cycle: Cycle) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        names = {t.name for t in cycle.get_available_user_state_transitions(request.user)}
        if any(t.name == "discontinue"
               for t in cycle.course.get_available_user_state_transitions(request.user)):
            names.add("discontinue")
        return [name for name in CYCLE_ACTIONS if name in names]


class CourseSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    patient = _uuid_ref()
    referral = _uuid_ref()
    centre = _uuid_ref(help_text="The treating NET specialist centre.")
    state = _read_only_choice(CourseState.choices, "CourseStateEnum")
    labs_drawn_by = _read_only_choice(Responsible.choices, "ResponsibleEnum",
                                 help_text="Who draws the pre-dose labs.")
    lar_during_course_by = _read_only_choice(Responsible.choices, "ResponsibleEnum",
                                        help_text="Who gives octreotide LAR during the course.")
    lar_after_course_by = _read_only_choice(Responsible.choices, "ResponsibleEnum",
                                       help_text="Who gives octreotide LAR after the course.")
    eligibility_decided_by = UserRefSerializer(read_only=True, allow_null=True)
    available_actions = serializers.SerializerMethodField(
        help_text="The actions you may take now (POST /courses/{id}/{action}/).")

    class Meta:
        model = TreatmentCourse
        fields = ["id", "patient", "referral", "centre", "state", "planned_first_dose",
                  "labs_drawn_by", "lar_during_course_by", "lar_after_course_by",
                  "eligibility_decided_by", "eligibility_decided_at", "eligibility_reason",
                  "eligibility_overridden", "ended_reason", "ended_at", "created_at",
                  "updated_at", "available_actions"]
        read_only_fields = fields

    def get_available_actions(self, course: TreatmentCourse) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        names = {t.name for t in course.get_available_user_state_transitions(request.user)}
        return [name for name in COURSE_ACTIONS if name in names]


class CourseDetailSerializer(CourseSerializer):
    """A course with its cycles, its history and the eligibility findings of its decision."""

    eligibility_findings = FindingSerializer(
        many=True, read_only=True,
        help_text="What the rules found when eligibility was decided, as stored then.")
    cycles = CycleSerializer(many=True, read_only=True)
    history = serializers.SerializerMethodField()

    class Meta(CourseSerializer.Meta):
        fields = [*CourseSerializer.Meta.fields, "eligibility_findings", "cycles", "history"]
        read_only_fields = fields

    @extend_schema_field(CourseHistorySerializer)
    def get_history(self, course: TreatmentCourse) -> dict:
        return CourseHistorySerializer(self.context["history"]).data


class CourseOpenSerializer(serializers.Serializer):
    referral = serializers.UUIDField(help_text="An accepted referral (or one with its consult "
                                               "booked) received by your centre.")
    planned_first_dose = serializers.DateField()

    def validate_planned_first_dose(self, day: dt.date) -> dt.date:
        if day < timezone.localdate() - dt.timedelta(days=1):
            raise serializers.ValidationError("The first dose cannot be planned in the past.")
        return day


class CourseEligibilityDecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Required to approve over a block or review finding, and to not approve.")
    labs_drawn_by = NamedChoiceField(Responsible.choices, component="ResponsibleEnum",
                                     required=False, allow_null=True, default=None,
                                     help_text="Who draws the pre-dose labs (unchanged if "
                                               "left out).")
    lar_during_course_by = NamedChoiceField(Responsible.choices, component="ResponsibleEnum",
                                            required=False, allow_null=True, default=None)
    lar_after_course_by = NamedChoiceField(Responsible.choices, component="ResponsibleEnum",
                                           required=False, allow_null=True, default=None)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the course ends.")


class CourseEligibilitySerializer(serializers.Serializer):
    course = serializers.UUIDField()
    date = serializers.DateField(help_text="The day the rules were evaluated for.")
    findings = FindingSerializer(many=True, help_text="Every flag raised, most severe first; "
                                 "none means nothing to flag.")


class CourseFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=CourseState.choices, required=False,
                                    help_text="Only courses in this state.")
    patient = serializers.UUIDField(required=False, help_text="Only this patient's courses.")


# --- cycles ---------------------------------------------------------------------------------


class CycleApproveSerializer(serializers.Serializer):
    activity_gbq = serializers.DecimalField(
        max_digits=4, decimal_places=2,
        help_text="7.4 (full) or 3.7 (reduced) GBq.")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Required when the decision differs from the recommendation.")

    def validate_activity_gbq(self, value):
        if value not in services.ACTIVITIES:
            raise serializers.ValidationError("Approve with 7.4 or 3.7 GBq.")
        return value


class CycleWithholdSerializer(serializers.Serializer):
    categories = serializers.ListField(
        child=NamedChoiceField([str(c) for c in rules.Category], component="DoseCategoryEnum"),
        required=False, default=list,
        help_text="What the cycle is withheld for; the recommendation's triggers if left out.")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Required when the decision differs from the recommendation.")


class CycleDiscontinueSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Required when the rules do not recommend discontinuing.")


class AwareDateTimeField(serializers.DateTimeField):
    """A moment given with its time zone; a naive time is refused rather than guessed."""

    default_error_messages = {
        "naive": "Give the time with its time zone, e.g. 2025-03-03T10:00:00+00:00.",
    }

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


class CycleAdministerSerializer(serializers.Serializer):
    administered_at = AwareDateTimeField(help_text="When the infusion started, with time zone.")
    activity_gbq = serializers.DecimalField(max_digits=4, decimal_places=2,
                                            help_text="The administered activity (GBq).")
    no_short_acting_ssa_24h = serializers.BooleanField(
        help_text="Attest no short-acting octreotide in the 24 h before the dose.")
    lar_injected_at = AwareDateTimeField(required=False, allow_null=True, default=None,
                                         help_text="When octreotide LAR was given.")
    amino_acids_given = serializers.BooleanField(required=False, default=True)
    antiemetic_given = serializers.BooleanField(required=False, default=True)
    infusion_reaction_grade = serializers.IntegerField(required=False, allow_null=True,
                                                       default=None, min_value=1, max_value=5)
    reaction_is_hypersensitivity = serializers.BooleanField(required=False, default=False)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class ReadinessSerializer(serializers.Serializer):
    ready = serializers.BooleanField()
    missing = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())


class CycleRecommendationSerializer(serializers.Serializer):
    cycle = serializers.UUIDField()
    date = serializers.DateField(help_text="The day the rules were evaluated for.")
    recommendation = DoseRecommendationField(
        allow_null=True,
        help_text="Null once the cycle is no longer open for a decision (its decisions keep "
                  "what was recommended then).")
    readiness = ReadinessSerializer()


class CycleDecisionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    decision = _read_only_choice(CycleDecision.Decision.choices, "CycleDecisionEnum")
    categories = serializers.ListField(child=serializers.CharField(), read_only=True)
    recommendation = DoseRecommendationField(read_only=True,
                                             help_text="The rules' output, as shown then.")
    labs_snapshot = LabsSnapshotField(read_only=True)
    decided_by = UserRefSerializer(read_only=True)

    class Meta:
        model = CycleDecision
        fields = ["id", "decision", "activity_gbq", "categories", "recommended_action",
                  "recommendation", "labs_snapshot", "follows_recommendation", "reason",
                  "decided_by", "decided_at"]
        read_only_fields = fields


class CycleFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=CycleState.choices, required=False,
                                    help_text="Only cycles in this state (`ready`: waiting for "
                                              "a specialist).")
    course = serializers.UUIDField(required=False, help_text="Only this course's cycles.")


# --- shared view pieces ---------------------------------------------------------------------


def prrt_exception_handler(exc, context):
    """NETcare's handler; a service's refusal that names its field answers like a serializer's
    field error, so every 400 here has one shape."""
    if isinstance(exc, TransitionInvalid) and exc.field:
        exc = serializers.ValidationError({exc.field: [exc.message]})
    return exception_handler(exc, context)


class PrrtViewMixin(NetcareViewMixin):
    def get_exception_handler(self):
        return prrt_exception_handler

    def parse(self, serializer_class) -> dict:
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return dict(body.validated_data)


def _action_schema(summary: str, request, response, *, description: str = "",
                   operation_id: str):
    return extend_schema(
        summary=summary, description=description, request=request, operation_id=operation_id,
        responses={200: response, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )


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

    @_action_schema(
        "Approve the course (specialists)", CourseEligibilityDecisionSerializer,
        CourseDetailSerializer, operation_id="v1_courses_approve",
        description="Records the responsibility agreement and the rules' findings. A `reason` "
                    "is required to approve over a block or review finding.")
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self.decide_eligibility(request, approve=True)

    @_action_schema(
        "Decide the course is not approved (specialists)", CourseEligibilityDecisionSerializer,
        CourseDetailSerializer, operation_id="v1_courses_reject",
        description="A `reason` is required.")
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        return self.decide_eligibility(request, approve=False)

    @_action_schema(
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



# --- cycles ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="PRRT cycles you may see", parameters=[CycleFilterSerializer],
                       responses={200: CycleSerializer(many=True), 400: INVALID}),
    retrieve=extend_schema(summary="One cycle (audited)",
                           responses={200: CycleSerializer, 404: NOT_FOUND}),
)
class CycleViewSet(PrrtViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):
    """Cycles of the courses you may see, by planned date (`?state=ready`: the approval queue).
    A specialist approves, withholds or discontinues; the centre's team records the infusion."""

    queryset = Cycle.objects.all()
    serializer_class = CycleSerializer
    patient_path = "course__patient"

    def get_queryset(self):
        queryset = (selectors.cycles_visible(self.request.user)
                    .select_related("administration__recorded_by")
                    .order_by("planned_date", "number", "id"))
        if self.action == "list":
            filters = CycleFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            if "state" in filters.validated_data:
                queryset = queryset.filter(state=filters.validated_data["state"])
            if "course" in filters.validated_data:
                queryset = queryset.filter(course__external_id=filters.validated_data["course"])
        return queryset

    def cycle_response(self, cycle: Cycle):
        """The cycle as it is now, read again after a change."""
        cycle = access.get_object_for(self.request.user, self.get_queryset(),
                                      patient_path=self.patient_path,
                                      external_id=cycle.external_id)
        return self.respond(CycleSerializer, cycle)

    def retrieve(self, request, *args, **kwargs):
        cycle = self.get_object()
        self.record_view(cycle.course)
        return self.respond(CycleSerializer, cycle)

    @extend_schema(summary="The rules' recommendation and readiness today (audited)",
                   responses={200: CycleRecommendationSerializer, 400: INVALID,
                              404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def recommendation(self, request, *args, **kwargs):
        cycle = self.get_object()
        today = centre_today(cycle.course.centre)
        rendered = None
        if cycle.state in DECIDABLE_CYCLE_STATES:
            rendered = clinical.recommendation_for(cycle, today=today).rendered
        readiness = clinical.readiness(cycle, today=today)
        self.record_view(cycle.course)
        return self.respond(CycleRecommendationSerializer, {
            "cycle": cycle.external_id, "date": today, "recommendation": rendered,
            "readiness": readiness,
        })

    def decide(self, request, decision: str, body_class):
        cycle = self.get_object()
        services.cycle_decide_check(actor=request.user, cycle=cycle, decision=decision)
        data = self.parse(body_class)
        services.cycle_decide(actor=request.user, cycle=cycle, decision=decision,
                              today=centre_today(cycle.course.centre), **data)
        return self.cycle_response(cycle)

    @_action_schema(
        "Approve the cycle with its activity (specialists)", CycleApproveSerializer,
        CycleSerializer, operation_id="v1_cycles_approve",
        description="The recommendation and the labs it used are stored with the decision. "
                    "A decision that differs from the recommendation needs a `reason` and is "
                    "marked as such.")
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self.decide(request, CycleDecision.Decision.APPROVE, CycleApproveSerializer)

    @_action_schema(
        "Withhold the cycle (specialists)", CycleWithholdSerializer, CycleSerializer,
        operation_id="v1_cycles_withhold",
        description="A decision that differs from the recommendation needs a `reason`.")
    @action(detail=True, methods=["post"])
    def withhold(self, request, *args, **kwargs):
        return self.decide(request, CycleDecision.Decision.WITHHOLD, CycleWithholdSerializer)

    @_action_schema(
        "Discontinue the course at this cycle (specialists)", CycleDiscontinueSerializer,
        CycleSerializer, operation_id="v1_cycles_discontinue",
        description="Open cycles are cancelled and the patient is referred back. A `reason` "
                    "is required when the rules do not recommend discontinuing.")
    @action(detail=True, methods=["post"])
    def discontinue(self, request, *args, **kwargs):
        return self.decide(request, CycleDecision.Decision.DISCONTINUE,
                           CycleDiscontinueSerializer)

    @_action_schema(
        "Record the administration (the centre's team)", CycleAdministerSerializer,
        CycleSerializer, operation_id="v1_cycles_administer",
        description="Times carry their time zone and may not be in the future. A grade 3-4 "
                    "hypersensitivity reaction discontinues the course.")
    @action(detail=True, methods=["post"])
    def administer(self, request, *args, **kwargs):
        cycle = self.get_object()
        check_transition(cycle, Step("administer", "record the administration"), request.user)
        data = self.parse(CycleAdministerSerializer)
        services.cycle_administer(actor=request.user, cycle=cycle, **data)
        return self.cycle_response(cycle)


@extend_schema_view(
    list=extend_schema(summary="The decisions taken on the cycle (audited)",
                       responses={200: CycleDecisionSerializer(many=True), 404: NOT_FOUND}),
)
class CycleDecisionViewSet(PrrtViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every decision on the cycle, oldest first, with the recommendation and the labs it was
    taken on, whether it followed the recommendation, and why."""

    queryset = CycleDecision.objects.select_related("decided_by").order_by("decided_at", "id")
    serializer_class = CycleDecisionSerializer
    cycle_url_kwarg = "cycle_id"

    def get_cycle(self) -> Cycle:
        if not hasattr(self, "_cycle"):
            self._cycle = selectors.cycle_for(self.request.user, self.kwargs[self.cycle_url_kwarg])
        return self._cycle

    def initial(self, request, *args, **kwargs):
        """Resolve the cycle first (outsiders get a 404) and audit the read."""
        super().initial(request, *args, **kwargs)
        self.record_view(self.get_cycle().course)

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return queryset.none()
        return queryset.filter(cycle=self.get_cycle())
