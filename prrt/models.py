"""PRRT courses and cycles.

TreatmentCourse: eligibility_review -> approved -> active -> completed | discontinued.
Cycle: planned -> ready (computed from the records) -> approved (a NET specialist, with the
activity) -> administered -> completed (after the precaution window); planned/ready -> withheld
-> ready; cancelled. State changes only through prrt.services (netcare.workflow's funnel).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from netcare.models import Centre, Role, TimelineEntry
from patients.models import Patient
from referrals.models import Referral

MAX_CYCLES = 4


def _is_specialist(obj, user) -> bool:
    return user.role == Role.SPECIALIST and user.centre_id == obj.centre_id


def _is_centre_staff(obj, user) -> bool:
    return user.role in (Role.SPECIALIST, Role.NAVIGATOR) and user.centre_id == obj.centre_id


def _is_centre_staff_of_cycle(order, user) -> bool:
    return user is not None and user.role in (Role.SPECIALIST, Role.NAVIGATOR) \
        and user.centre_id == order.cycle.course.centre_id


def _centre_staff_or_system(order, user) -> bool:
    """Cancelled or marked administered by the team, or by NETcare when the cycle is."""
    return user is None or _is_centre_staff_of_cycle(order, user)


def _system(obj, user) -> bool:
    """Computed transitions (readiness, completion) are taken by NETcare itself."""
    return user is None


class CourseState(models.TextChoices):
    ELIGIBILITY_REVIEW = "eligibility_review", "Eligibility review"
    APPROVED = "approved", "Approved"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    DISCONTINUED = "discontinued", "Discontinued"
    NOT_APPROVED = "not_approved", "Not approved"


class Responsible(models.TextChoices):
    PRACTICE = "practice", "Referring oncologist's practice"
    CENTRE = "centre", "NET specialist centre"


class TreatmentCourse(ConcurrentTransitionMixin, models.Model):
    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="course")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="courses")
    state = FSMField(default=CourseState.ELIGIBILITY_REVIEW, choices=CourseState.choices,
                     protected=True, db_index=True)
    planned_first_dose = models.DateField()
    # The eligibility decision, with what the rules said when it was taken.
    eligibility_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+")
    eligibility_decided_at = models.DateTimeField(null=True, blank=True)
    eligibility_reason = models.TextField(blank=True)
    eligibility_findings = models.JSONField(default=list, blank=True)
    eligibility_checklist = models.JSONField(
        default=dict, blank=True,
        help_text="Every Table 1 criterion as evaluated for the decision: its value, date and "
                  "source, passed or not (patients.records.eligibility_review).")
    eligibility_overridden = models.BooleanField(default=False)
    # The responsibility agreement, recorded at approval: who does what for this patient.
    labs_drawn_by = models.CharField(max_length=10, choices=Responsible.choices,
                                     default=Responsible.PRACTICE)
    lar_during_course_by = models.CharField(max_length=10, choices=Responsible.choices,
                                            default=Responsible.CENTRE)
    lar_after_course_by = models.CharField(max_length=10, choices=Responsible.choices,
                                           default=Responsible.PRACTICE)
    baseline = models.JSONField(
        default=dict, blank=True,
        help_text="Values before the first dose (creatinine, weight, age), fixed at cycle 1.")
    ended_reason = models.TextField(blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"PRRT course {self.external_id} ({self.state})"

    @transition(field=state, source=CourseState.ELIGIBILITY_REVIEW, target=CourseState.APPROVED,
                permission=_is_specialist)
    def approve(self) -> None:
        pass

    @transition(field=state, source=CourseState.ELIGIBILITY_REVIEW,
                target=CourseState.NOT_APPROVED, permission=_is_specialist)
    def reject(self) -> None:
        pass

    @transition(field=state, source=CourseState.APPROVED, target=CourseState.ACTIVE,
                permission=_is_centre_staff)
    def activate(self) -> None:
        pass

    @transition(field=state, source=CourseState.ACTIVE, target=CourseState.COMPLETED,
                permission=_system)
    def complete(self) -> None:
        pass

    @transition(field=state, source=[CourseState.APPROVED, CourseState.ACTIVE],
                target=CourseState.DISCONTINUED, permission=_is_specialist)
    def discontinue(self) -> None:
        pass

    @transition(field=state, source=[CourseState.APPROVED, CourseState.ACTIVE],
                target=CourseState.DISCONTINUED, permission=_is_centre_staff)
    def discontinue_for_hypersensitivity(self) -> None:
        pass


class CycleState(models.TextChoices):
    PLANNED = "planned", "Planned"
    READY = "ready", "Ready for approval"
    APPROVED = "approved", "Approved"
    ADMINISTERED = "administered", "Administered"
    COMPLETED = "completed", "Completed"
    WITHHELD = "withheld", "Withheld"
    CANCELLED = "cancelled", "Cancelled"


OPEN_CYCLE_STATES = (CycleState.PLANNED, CycleState.READY, CycleState.APPROVED,
                     CycleState.WITHHELD)


class Cycle(ConcurrentTransitionMixin, models.Model):
    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey(TreatmentCourse, on_delete=models.CASCADE, related_name="cycles")
    number = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CYCLES)])
    state = FSMField(default=CycleState.PLANNED, choices=CycleState.choices, protected=True,
                     db_index=True)
    due_date = models.DateField(help_text="Previous dose + 56 days (cycle 1: planned date).")
    planned_date = models.DateField(
        help_text="The infusion day as the plan has it: the booked day once booked, else 56 days "
                  "after the dose (given or planned) before it. Kept by the plan sync.")
    booked_date = models.DateField(null=True, blank=True,
                                   help_text="The booked infusion appointment, when booked.")
    booked_time = models.TimeField(null=True, blank=True)
    booked_place = models.CharField(max_length=120, blank=True)
    booked_reason = models.TextField(blank=True, help_text="Why it was booked or rebooked so.")
    booked_outside_interval = models.BooleanField(
        default=False, help_text="Booked outside 49-63 days after the previous dose, with a "
                                 "reason.")
    booked_at = models.DateTimeField(null=True, blank=True)
    approved_activity_gbq = models.DecimalField(max_digits=4, decimal_places=2, null=True,
                                                blank=True)
    missing = models.JSONField(default=list, blank=True,
                               help_text="What readiness still needs, as last computed.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "number"]
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="cycle_number_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1, number__lte=MAX_CYCLES),
                                   name="cycle_number_1_4"),
        ]

    def __str__(self) -> str:
        return f"Cycle {self.number} of {self.course_id} ({self.state})"

    @property
    def centre_id(self) -> int:
        return self.course.centre_id

    @transition(field=state, source=[CycleState.PLANNED, CycleState.WITHHELD],
                target=CycleState.READY, permission=_system)
    def mark_ready(self) -> None:
        pass

    @transition(field=state, source=CycleState.READY, target=CycleState.PLANNED,
                permission=_system)
    def mark_not_ready(self) -> None:
        pass

    @transition(field=state, source=CycleState.READY, target=CycleState.APPROVED,
                permission=_is_specialist)
    def approve(self) -> None:
        pass

    @transition(field=state, source=[CycleState.PLANNED, CycleState.READY],
                target=CycleState.WITHHELD, permission=_is_specialist)
    def withhold(self) -> None:
        pass

    @transition(field=state, source=CycleState.APPROVED, target=CycleState.ADMINISTERED,
                permission=_is_centre_staff)
    def administer(self) -> None:
        pass

    @transition(field=state, source=CycleState.ADMINISTERED, target=CycleState.COMPLETED,
                permission=_system)
    def complete(self) -> None:
        pass

    @transition(field=state, source=list(OPEN_CYCLE_STATES), target=CycleState.CANCELLED,
                permission=_system)
    def cancel(self) -> None:
        pass


class CycleDecision(models.Model):
    """A specialist's decision on a cycle, with the recommendation and the lab values it used,
    frozen at the time: later edits to the labs do not change what was decided."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        WITHHOLD = "withhold", "Withheld"
        DISCONTINUE = "discontinue", "Course discontinued"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(max_length=12, choices=Decision.choices)
    activity_gbq = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    categories = models.JSONField(default=list, blank=True,
                                  help_text="The withheld categories (withhold decisions).")
    recommended_action = models.CharField(max_length=20)
    recommendation = models.JSONField(help_text="The rules' full output, as shown.")
    labs_snapshot = models.JSONField(help_text="The lab values the recommendation used.")
    follows_recommendation = models.BooleanField()
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(follows_recommendation=True) | ~models.Q(reason=""),
                name="decision_against_recommendation_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} cycle {self.cycle_id}"


class Administration(models.Model):
    """What was given on the infusion day."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cycle = models.OneToOneField(Cycle, on_delete=models.PROTECT, related_name="administration")
    administered_at = models.DateTimeField()
    activity_gbq = models.DecimalField(
        max_digits=4, decimal_places=2,
        validators=[MinValueValidator(0.1), MaxValueValidator(8)])
    lar_injected_at = models.DateTimeField("octreotide LAR given at", null=True, blank=True)
    amino_acids_given = models.BooleanField(default=True)
    antiemetic_given = models.BooleanField(default=True)
    no_short_acting_ssa_24h = models.BooleanField(
        "no short-acting SSA in the 24 h before the dose (attested)")
    infusion_reaction_grade = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)])
    reaction_is_hypersensitivity = models.BooleanField(default=False)
    precautions_given = models.BooleanField(
        "radiation-safety precautions given in writing", default=False)
    warnings = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.activity_gbq} GBq at {self.administered_at:%Y-%m-%d %H:%M}"


# What an amendment may change on an administration record.
AMENDABLE_FIELDS = ("administered_at", "lar_injected_at", "activity_gbq", "amino_acids_given",
                    "antiemetic_given", "infusion_reaction_grade", "reaction_is_hypersensitivity",
                    "precautions_given", "notes")


class AdministrationAmendment(models.Model):
    """A correction of an administration record: the values before and after (the amended
    fields, and the warnings recomputed with them), who made it, when and why. The original
    record is never lost: the first amendment's ``before`` holds what was first recorded."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    administration = models.ForeignKey(Administration, on_delete=models.PROTECT,
                                       related_name="amendments")
    before = models.JSONField()
    after = models.JSONField()
    reason = models.TextField()
    amended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    amended_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["amended_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""),
                                   name="administration_amendment_has_reason"),
        ]

    def __str__(self) -> str:
        return f"Amendment of administration {self.administration_id} at {self.amended_at}"

    @property
    def cycle(self) -> Cycle:
        """For the audit trail, which names the patient through the cycle."""
        return self.administration.cycle


class CourseEvent(TimelineEntry):
    """The timeline of a course and its cycles: every transition, with who, when and why."""

    course = models.ForeignKey(TreatmentCourse, on_delete=models.CASCADE, related_name="events")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="events")
    transition = models.CharField(max_length=40)
    source = models.CharField(max_length=20)
    target = models.CharField(max_length=20)


class SSAInjection(models.Model):
    """A somatostatin analogue injection given outside an infusion day (maintenance LAR, or an
    injection before the course), entered by the centre or the referring oncologist."""

    LONG_ACTING = ("octreotide_lar", "lanreotide")

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="ssa_injections")
    agent = models.CharField(max_length=16, choices=Patient.SSA.choices)
    given_at = models.DateTimeField()
    dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    given_by = models.CharField(max_length=120, blank=True,
                                help_text="Who gave it (name or service).")
    place = models.CharField(max_length=120, blank=True, help_text="Where it was given.")
    recorded_at = models.DateTimeField(auto_now_add=True, null=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        ordering = ["-given_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_agent_display()} {self.given_at:%Y-%m-%d}"


# --- The centre's PRRT logistics: dose orders, infusion rooms and slots, precaution sheets ----


class Supplier(models.Model):
    """A radiopharmaceutical supplier a centre orders its doses from, with the ordering terms.

    Defaults are the manufacturer's public US terms: order by the Tuesday two weeks before the
    calibration time; cancel free up to 10 days before (later: USD 500); an unused dose is
    charged (USD 2,000) unless the patient became ineligible through pre-treatment testing."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="suppliers")
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    order_cutoff_weekday = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(6)],
        help_text="The weekday orders must be placed by (0 Monday … 6 Sunday).")
    order_cutoff_weeks_before = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(8)],
        help_text="Order by that weekday this many weeks before the calibration day.")
    free_cancellation_days_before = models.PositiveSmallIntegerField(
        default=10, validators=[MaxValueValidator(60)],
        help_text="Cancelling up to this many days before the calibration day is free.")
    late_cancellation_charge = models.DecimalField(max_digits=10, decimal_places=2,
                                                   default=500)
    unused_dose_charge = models.DecimalField(max_digits=10, decimal_places=2, default=2000)
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["centre", "name"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "name"], name="supplier_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class DoseOrderState(models.TextChoices):
    TO_ORDER = "to_order", "To order"
    ORDERED = "ordered", "Ordered"
    CONFIRMED = "confirmed", "Confirmed"
    RECEIVED = "received", "Received"
    ADMINISTERED = "administered", "Administered"
    CANCELLED = "cancelled", "Cancelled"
    WASTED = "wasted", "Wasted"


LIVE_ORDER_STATES = (DoseOrderState.TO_ORDER, DoseOrderState.ORDERED, DoseOrderState.CONFIRMED,
                     DoseOrderState.RECEIVED)


class DoseOrder(ConcurrentTransitionMixin, models.Model):
    """The dose of [177Lu]Lu-DOTA-TATE made for one cycle and one calibration time.

    to_order -> ordered -> confirmed -> received -> administered; cancelled (before it is
    received; late, and charged, after the free-cancellation deadline) or wasted (received and
    not given; charged unless the patient became ineligible through pre-treatment testing).
    A cycle has at most one live order. State changes only through prrt.orders."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="dose_orders")
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="orders")
    state = FSMField(default=DoseOrderState.TO_ORDER, choices=DoseOrderState.choices,
                     protected=True, db_index=True)
    calibration_at = models.DateTimeField(help_text="The calibration date and time.")
    activity_gbq = models.DecimalField(max_digits=4, decimal_places=2,
                                       validators=[MinValueValidator(0.1),
                                                   MaxValueValidator(8)])
    order_number = models.CharField(max_length=60, blank=True)
    ordered_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    lot_number = models.CharField(max_length=60, blank=True)
    measured_activity_gbq = models.DecimalField(max_digits=5, decimal_places=2, null=True,
                                                blank=True)
    measured_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True,
                                    help_text="When it was administered, cancelled or wasted.")
    end_reason = models.TextField(blank=True)
    late = models.BooleanField(default=False,
                               help_text="Cancelled after the free-cancellation deadline.")
    ineligible_on_testing = models.BooleanField(
        default=False, help_text="Wasted because pre-treatment testing made the patient "
                                 "ineligible: the charge is waived.")
    charge = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["calibration_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle"], condition=models.Q(state__in=LIVE_ORDER_STATES),
                name="dose_order_one_live_per_cycle"),
            models.CheckConstraint(condition=models.Q(charge__gte=0),
                                   name="dose_order_charge_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Dose order for cycle {self.cycle_id} ({self.state})"

    @property
    def centre_id(self) -> int:
        return self.cycle.course.centre_id

    @transition(field=state, source=DoseOrderState.TO_ORDER, target=DoseOrderState.ORDERED,
                permission=_is_centre_staff_of_cycle)
    def place(self) -> None:
        pass

    @transition(field=state, source=DoseOrderState.ORDERED, target=DoseOrderState.CONFIRMED,
                permission=_is_centre_staff_of_cycle)
    def confirm(self) -> None:
        pass

    @transition(field=state, source=[DoseOrderState.ORDERED, DoseOrderState.CONFIRMED],
                target=DoseOrderState.RECEIVED, permission=_is_centre_staff_of_cycle)
    def receive(self) -> None:
        pass

    @transition(field=state, source=list(LIVE_ORDER_STATES),
                target=DoseOrderState.ADMINISTERED, permission=_centre_staff_or_system)
    def administer(self) -> None:
        pass

    @transition(field=state, source=[DoseOrderState.TO_ORDER, DoseOrderState.ORDERED,
                                     DoseOrderState.CONFIRMED],
                target=DoseOrderState.CANCELLED, permission=_centre_staff_or_system)
    def cancel(self) -> None:
        pass

    @transition(field=state, source=DoseOrderState.RECEIVED, target=DoseOrderState.WASTED,
                permission=_is_centre_staff_of_cycle)
    def waste(self) -> None:
        pass


class InfusionRoom(models.Model):
    """A shielded room the centre infuses in, and its slots (an infusion takes about half a
    day: two slots a day by default)."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="infusion_rooms")
    name = models.CharField(max_length=80)
    active = models.BooleanField(default=True)
    slot_times = models.JSONField(
        default=list, blank=True,
        help_text='The start time of each slot of a day, e.g. ["08:30", "13:00"].')
    weekdays = models.JSONField(
        default=list, blank=True,
        help_text="The weekdays the room infuses on (0 Monday … 6 Sunday), e.g. [0, 1, 2, 3].")

    class Meta:
        ordering = ["centre", "name"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "name"], name="infusion_room_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Slot times as "HH:MM", earliest first, and weekdays 0-6, each once (the admin's
        form shows what is wrong beside the field)."""
        # prrt.capacity reads these settings and imports this module: imported here.
        from prrt.capacity import room_settings_errors

        errors = room_settings_errors(self)
        if errors:
            raise ValidationError(errors)


class InfusionClosure(models.Model):
    """Days a room (or, without a room, the whole centre) does not infuse: holidays, servicing."""

    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="infusion_closures")
    room = models.ForeignKey(InfusionRoom, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="closures")
    start_date = models.DateField()
    end_date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")),
                                   name="infusion_closure_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"Closed {self.start_date} - {self.end_date}"


class InfusionSlotBooking(models.Model):
    """A cycle's infusion in one room's slot on one day: never two in one slot (a database
    constraint), at most one slot per cycle."""

    room = models.ForeignKey(InfusionRoom, on_delete=models.PROTECT, related_name="bookings")
    day = models.DateField()
    slot = models.PositiveSmallIntegerField(help_text="The index of the slot in the room's day.")
    cycle = models.OneToOneField(Cycle, on_delete=models.CASCADE, related_name="slot_booking")
    booked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "room", "slot"]
        constraints = [
            models.UniqueConstraint(fields=["room", "day", "slot"],
                                    name="infusion_slot_booked_once"),
        ]

    def __str__(self) -> str:
        return f"{self.room} {self.day} slot {self.slot}"


class PrecautionItem(models.Model):
    """One line of the centre's radiation-safety precaution sheet, with its own duration
    (e.g. 3 days for adults, 7 days near children and pregnant women). A centre without items
    uses the article's Table 2 for the centre's precaution window."""

    centre = models.ForeignKey(Centre, on_delete=models.CASCADE,
                               related_name="precaution_items")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()
    days = models.PositiveSmallIntegerField(validators=[MinValueValidator(1),
                                                        MaxValueValidator(60)])
    audience = models.CharField(
        max_length=120, blank=True,
        help_text='Who it protects, when not everyone (e.g. "children and pregnant women").')

    class Meta:
        ordering = ["centre", "position", "id"]

    def __str__(self) -> str:
        return f"{self.text[:40]} ({self.days} days)"
