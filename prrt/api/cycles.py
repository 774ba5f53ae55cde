"""`/api/v1/cycles/`: cycles, the specialist's decisions, the infusion's booking and its record."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from netcare import access
from netcare.api import (
    INVALID,
    NOT_FOUND,
    PlanDateField,
)
from netcare.clock import centre_today
from netcare.workflow import (
    Step,
    TransitionInvalid,
    check_transition,
)
from prrt import bookings, capacity, clinical, selectors, services
from prrt.api.base import PrrtViewMixin, action_schema
from prrt.api.serializers import (
    DECIDABLE_CYCLE_STATES,
    CycleAdministerSerializer,
    CycleApproveSerializer,
    CycleDecisionSerializer,
    CycleDiscontinueSerializer,
    CycleFilterSerializer,
    CycleRecommendationSerializer,
    CycleSerializer,
    CycleWithholdSerializer,
    DoseOrderSerializer,
)
from prrt.models import (
    Cycle,
    CycleDecision,
    DoseOrder,
)

# --- booking the infusion -------------------------------------------------------------------


class CycleRescheduleSerializer(serializers.Serializer):
    planned_date = PlanDateField(help_text="The day the infusion is booked for (at most two "
                                           "years ahead).")
    time = serializers.TimeField(required=False, allow_null=True, default=None,
                                 help_text="The time of the appointment, at the centre.")
    place = serializers.CharField(max_length=120, required=False, allow_blank=True, default="",
                                  help_text="Where: the unit or room.")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Required to book outside 49-63 days after the previous dose.")
    slot = serializers.CharField(
        required=False, allow_null=True, default=None,
        help_text="At a centre with infusion rooms, the free slot to take, as "
                  "`<room id>_<YYYY-MM-DD>_<slot index>` (its day must be `planned_date`); its "
                  "room and start time become the place and time.")

    def validate_slot(self, value):
        if value in (None, ""):
            return None
        try:
            return capacity.SlotKey.parse(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class CycleBookingSerializer(serializers.Serializer):
    date = serializers.DateField(source="booked_date")
    time = serializers.TimeField(source="booked_time", allow_null=True)
    place = serializers.CharField(source="booked_place")
    reason = serializers.CharField(source="booked_reason")
    outside_interval = serializers.BooleanField(
        source="booked_outside_interval",
        help_text="Booked outside 49-63 days after the previous dose, with the reason.")


class CycleRescheduledSerializer(CycleSerializer):
    """The cycle once booked: its `planned_date` is the booked day."""

    booking = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField(
        help_text="What the booking leaves to do: labs to repeat, a washout under 30 days, a "
                  "later cycle's booking released.")

    class Meta(CycleSerializer.Meta):
        fields = [*CycleSerializer.Meta.fields, "booking", "warnings"]
        read_only_fields = fields

    @extend_schema_field(CycleBookingSerializer(allow_null=True))
    def get_booking(self, cycle: Cycle) -> dict | None:
        if cycle.booked_date is None:
            return None
        return CycleBookingSerializer(cycle).data

    def get_warnings(self, cycle: Cycle) -> list[str]:
        return list(self.context.get("warnings", []))


# The booking service's names for the body's fields.
BOOKING_FIELDS = {"booked_date": "planned_date", "booked_time": "time", "booked_place": "place"}


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

    @action_schema(
        "Approve the cycle with its activity (specialists)", CycleApproveSerializer,
        CycleSerializer, operation_id="v1_cycles_approve",
        description="The recommendation and the labs it used are stored with the decision. "
                    "A decision that differs from the recommendation needs a `reason` and is "
                    "marked as such.")
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self.decide(request, CycleDecision.Decision.APPROVE, CycleApproveSerializer)

    @action_schema(
        "Withhold the cycle (specialists)", CycleWithholdSerializer, CycleSerializer,
        operation_id="v1_cycles_withhold",
        description="A decision that differs from the recommendation needs a `reason`.")
    @action(detail=True, methods=["post"])
    def withhold(self, request, *args, **kwargs):
        return self.decide(request, CycleDecision.Decision.WITHHOLD, CycleWithholdSerializer)

    @action_schema(
        "Discontinue the course at this cycle (specialists)", CycleDiscontinueSerializer,
        CycleSerializer, operation_id="v1_cycles_discontinue",
        description="Open cycles are cancelled and the patient is referred back. A `reason` "
                    "is required when the rules do not recommend discontinuing.")
    @action(detail=True, methods=["post"])
    def discontinue(self, request, *args, **kwargs):
        return self.decide(request, CycleDecision.Decision.DISCONTINUE,
                           CycleDiscontinueSerializer)

    @action_schema(
        "Book (or rebook) the infusion (the centre's team)", CycleRescheduleSerializer,
        CycleRescheduledSerializer, operation_id="v1_cycles_reschedule",
        description="The cycle's `planned_date` becomes the booked day and the plan moves with "
                    "it. Outside 49-63 days after the previous dose a `reason` is required; "
                    "`warnings` says what the booking leaves to do.")
    @action(detail=True, methods=["post"])
    def reschedule(self, request, *args, **kwargs):
        cycle = self.get_object()
        data = self.parse(CycleRescheduleSerializer)
        try:
            booked = bookings.cycle_book(
                actor=request.user, cycle=cycle, booked_date=data["planned_date"],
                booked_time=data["time"], place=data["place"], reason=data["reason"],
                slot=data["slot"])
        except TransitionInvalid as exc:
            raise TransitionInvalid(exc.message,
                                    field=BOOKING_FIELDS.get(exc.field, exc.field)) from exc
        cycle = access.get_object_for(request.user, self.get_queryset(),
                                      patient_path=self.patient_path,
                                      external_id=cycle.external_id)
        context = {**self.get_serializer_context(),
                   "warnings": getattr(booked, "warnings", None) or []}
        return Response(CycleRescheduledSerializer(cycle, context=context).data)

    @action_schema(
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
class CycleRecordsViewSet(PrrtViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Records of one cycle (its decisions, its dose orders), listed under it."""

    cycle_url_kwarg = "cycle_id"
    audit_lists = False  # every read is audited as a view of the cycle's course

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


class CycleDecisionViewSet(CycleRecordsViewSet):
    """Every decision on the cycle, oldest first, with the recommendation and the labs it was
    taken on, whether it followed the recommendation, and why."""

    queryset = CycleDecision.objects.select_related("decided_by").order_by("decided_at", "id")
    serializer_class = CycleDecisionSerializer


class CycleDoseOrderViewSet(CycleRecordsViewSet):
    """The cycle's dose orders, oldest first: the live one (at most one) and those cancelled or
    wasted, each with its deadlines in the centre's calendar and what it cost."""

    queryset = DoseOrder.objects.select_related("supplier", "cycle__course__centre").order_by(
        "created_at", "id")
    serializer_class = DoseOrderSerializer
