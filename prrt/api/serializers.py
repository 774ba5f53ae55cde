"""Serializers of the PRRT API: courses, cycles, decisions and their actions' bodies."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

import rules
from netcare.api import (
    AwareDateTimeField,
    NamedChoiceField,
    PastDateTimeField,
    PlanDateField,
    UserRefSerializer,
)
from patients.api import FindingSerializer
from prrt import services
from prrt.models import (
    Administration,
    CourseState,
    Cycle,
    CycleDecision,
    CycleState,
    DoseOrder,
    DoseOrderState,
    Responsible,
    TreatmentCourse,
)
from prrt.orders import OrderAction, deadlines_of

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


class ReviewItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    reason = serializers.CharField()


class DoseRecommendationSerializer(serializers.Serializer):
    """The rules' dose decision for a cycle, as `manage.py assess` prints it, except that while
    the decision panel is incomplete (`complete` false) `action`, `activity_gbq` and `code` are
    null: no action is presented as a recommendation until every input is there."""

    kind = serializers.CharField()
    assessment_date = serializers.DateField()
    complete = serializers.BooleanField(
        help_text="The decision panel is complete; only then is `action` a recommendation.")
    missing_inputs = serializers.ListField(
        child=serializers.CharField(),
        help_text="The missing decision-panel inputs, by field path (`labs.neutrophils`).")
    action = NamedChoiceField([str(a) for a in rules.Action], component="DoseActionEnum",
                              allow_null=True, help_text="Null while `complete` is false.")
    activity_gbq = serializers.FloatField(allow_null=True)
    cycle = serializers.IntegerField(allow_null=True)
    code = serializers.CharField(allow_null=True, help_text="The §4.4 step that decided; null "
                                                            "while `complete` is false.")
    needs_review = ReviewItemSerializer(
        many=True, help_text="Every rule that could not be evaluated or that a person must look "
                             "at; a page shows \"Manual review\" while it is not empty.")
    warnings = ReviewItemSerializer(
        many=True, help_text="Timing warnings (a dose under 49 days after the previous one, a "
                             "delay past 63 days no toxicity explains).")
    crcl_display = serializers.CharField(
        allow_null=True, help_text="The clearance as printed: one decimal unless that would "
                                   "cross a threshold (39.96, never 40.0, below 40).")
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
    """One lab a decision used, with the limits of normal it was graded against and where each
    came from (the result's own, or the centre's range with its laboratory). Decisions taken
    before centre ranges existed carry only `uln`."""

    LIMIT_SOURCES = [("result", "The result's own range"), ("centre", "The centre's range"),
                     ("", "No limit")]

    value = serializers.CharField()
    unit = serializers.CharField()
    uln = serializers.CharField(allow_null=True)
    lln = serializers.CharField(allow_null=True, required=False)
    # One named enum for both (drf-spectacular would otherwise name one set twice).
    uln_source = NamedChoiceField(LIMIT_SOURCES, component="LabLimitSourceEnum", required=False)
    lln_source = NamedChoiceField(LIMIT_SOURCES, component="LabLimitSourceEnum", required=False)
    laboratory = serializers.CharField(
        required=False, allow_blank=True,
        help_text="The laboratory of the centre's range, when one was used.")
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
    planned_first_dose = PlanDateField(help_text="Not in the past; at most two years ahead.")

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
    order_action = NamedChoiceField(
        [OrderAction.CANCEL, OrderAction.KEEP], component="DoseOrderActionEnum", required=False,
        default="",
        help_text="The cycle's dose, ordered and past its free cancellation: `cancel` it (the "
                  "late charge applies) or `keep` it. Required then; otherwise the order is "
                  "cancelled free of charge.")


class CycleDiscontinueSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Required when the rules do not recommend discontinuing.")


class CycleAdministerSerializer(serializers.Serializer):
    administered_at = PastDateTimeField(help_text="When the infusion started, with time zone.")
    activity_gbq = serializers.DecimalField(max_digits=4, decimal_places=2,
                                            help_text="The administered activity (GBq).")
    no_short_acting_ssa_24h = serializers.BooleanField(
        help_text="Attest no short-acting octreotide in the 24 h before the dose.")
    # Entered with the infusion, the LAR time may still be later that day: an aware time with
    # the bounds of a plan rather than of a past moment.
    lar_injected_at = AwareDateTimeField(required=False, allow_null=True, default=None,
                                         help_text="When octreotide LAR was given.")
    amino_acids_given = serializers.BooleanField(required=False, default=True)
    antiemetic_given = serializers.BooleanField(required=False, default=True)
    infusion_reaction_grade = serializers.IntegerField(required=False, allow_null=True,
                                                       default=None, min_value=1, max_value=5)
    reaction_is_hypersensitivity = serializers.BooleanField(required=False, default=False)
    precautions_given = serializers.BooleanField(
        required=False, default=False,
        help_text="The radiation-safety precautions were given to the patient in writing.")
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


class DoseOrderSerializer(serializers.ModelSerializer):
    """A dose of [177Lu]Lu-DOTA-TATE ordered for the cycle, with the supplier's deadlines as
    the centre's calendar days."""

    id = serializers.UUIDField(source="external_id", read_only=True)
    state = _read_only_choice(DoseOrderState.choices, "DoseOrderStateEnum")
    supplier = serializers.CharField(source="supplier.name", read_only=True)
    order_by = serializers.SerializerMethodField(help_text="The supplier's order cut-off.")
    free_cancellation_until = serializers.SerializerMethodField(
        help_text="The last day a cancellation is free.")
    labs_by = serializers.SerializerMethodField(
        help_text="Pre-dose labs drawn by this day are known before the free cancellation.")

    class Meta:
        model = DoseOrder
        fields = ["id", "state", "supplier", "order_number", "calibration_at", "activity_gbq",
                  "order_by", "free_cancellation_until", "labs_by", "ordered_at",
                  "confirmed_at", "lot_number", "measured_activity_gbq", "measured_at",
                  "received_at", "ended_at", "end_reason", "late", "ineligible_on_testing",
                  "charge", "currency"]
        read_only_fields = fields

    def _deadlines(self, order: DoseOrder):
        return deadlines_of(order, order.cycle.course.centre)

    @extend_schema_field(serializers.DateField())
    def get_order_by(self, order: DoseOrder):
        return self._deadlines(order).order_by

    @extend_schema_field(serializers.DateField())
    def get_free_cancellation_until(self, order: DoseOrder):
        return self._deadlines(order).free_cancellation_until

    @extend_schema_field(serializers.DateField())
    def get_labs_by(self, order: DoseOrder):
        return self._deadlines(order).labs_by
