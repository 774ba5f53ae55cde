"""PRRT courses and cycles.

TreatmentCourse: eligibility_review -> approved -> active -> completed | discontinued.
Cycle: planned -> ready (computed from the records) -> approved (a NET specialist, with the
activity) -> administered -> completed (after the precaution window); planned/ready -> withheld
-> ready; cancelled. State changes only through prrt.services (netcare.workflow's funnel).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from netcare.models import Centre, Role
from patients.models import Patient
from referrals.models import Referral

MAX_CYCLES = 4


def _is_specialist(obj, user) -> bool:
    return user.role == Role.SPECIALIST and user.centre_id == obj.centre_id


def _is_centre_staff(obj, user) -> bool:
    return user.role in (Role.SPECIALIST, Role.NAVIGATOR) and user.centre_id == obj.centre_id


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


class CourseEvent(models.Model):
    """The timeline of a course and its cycles: every transition, with who, when and why."""

    course = models.ForeignKey(TreatmentCourse, on_delete=models.CASCADE, related_name="events")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+", help_text="Empty: NETcare itself.")
    at = models.DateTimeField(auto_now_add=True)
    transition = models.CharField(max_length=40)
    source = models.CharField(max_length=20)
    target = models.CharField(max_length=20)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.transition}: {self.source} -> {self.target}"


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
