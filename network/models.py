"""The shared-care network's data: MDT case conferences (meetings, their members, the case list
with its signed outcomes and follow-up actions), and the e-consults, NET contacts and bulletins
between a centre and its referring practices.

State changes only through the services (network.mdt for the MDT): netcare.workflow's funnel.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from coordinators.models import CareTask, OwnerParty
from netcare.models import Centre, Role, TimelineEntry
from patients.models import ImagingStudy, Patient, TumourProfile
from referrals.models import Referral

# --- MDT ---


def _mdt_centre_staff(meeting: MdtMeeting, user) -> bool:
    return user is not None and user.role in (Role.SPECIALIST, Role.NAVIGATOR) \
        and user.centre_id == meeting.centre_id


def _case_centre_staff(case: MdtCase, user) -> bool:
    return _mdt_centre_staff(case.meeting, user)


def _case_signer(case: MdtCase, user) -> bool:
    """The meeting's chair, or a NET specialist of its centre."""
    if user is None:
        return False
    if user.pk == case.meeting.chair_id:
        return True
    return user.role == Role.SPECIALIST and user.centre_id == case.meeting.centre_id


class Discipline(models.TextChoices):
    NET_ONCOLOGY = "net_oncology", "NET oncology"
    NUCLEAR_MEDICINE = "nuclear_medicine", "Nuclear medicine"
    RADIATION_ONCOLOGY = "radiation_oncology", "Radiation oncology"
    SURGERY = "surgery", "Surgery"
    RADIOLOGY = "radiology", "Radiology"
    PATHOLOGY = "pathology", "Pathology"
    ENDOCRINOLOGY = "endocrinology", "Endocrinology"
    NURSING = "nursing", "Nursing and navigation"
    MEDICAL_ONCOLOGY = "medical_oncology", "Referring medical oncology"
    OTHER = "other", "Other"


class MeetingState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class MdtMeeting(ConcurrentTransitionMixin, models.Model):
    """One MDT case conference of a NET specialist centre: when, where (a room, a video link or
    both), who chairs it. scheduled -> held -> closed; scheduled -> cancelled."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="mdt_meetings")
    title = models.CharField(max_length=120, default="NET case conference")
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(15), MaxValueValidator(480)])
    place = models.CharField(max_length=200, blank=True, help_text="The room, if any.")
    video_link = models.URLField(max_length=300, blank=True,
                                 help_text="The video conference address, for virtual attendance.")
    chair = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="mdt_meetings_chaired")
    state = FSMField(default=MeetingState.SCHEDULED, choices=MeetingState.choices,
                     protected=True, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it was cancelled.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(place="", video_link=""),
                                   name="mdt_meeting_has_place_or_link"),
            models.CheckConstraint(condition=models.Q(duration_minutes__gte=15,
                                                      duration_minutes__lte=480),
                                   name="mdt_meeting_duration_15_480"),
        ]
        indexes = [models.Index(fields=["centre", "starts_at"], name="mdt_meeting_centre_start")]

    def __str__(self) -> str:
        return f"{self.title} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    @transition(field=state, source=MeetingState.SCHEDULED, target=MeetingState.HELD,
                permission=_mdt_centre_staff)
    def hold(self) -> None:
        pass

    @transition(field=state, source=MeetingState.HELD, target=MeetingState.CLOSED,
                permission=_mdt_centre_staff)
    def close(self) -> None:
        pass

    @transition(field=state, source=MeetingState.SCHEDULED, target=MeetingState.CANCELLED,
                permission=_mdt_centre_staff)
    def cancel(self) -> None:
        pass


class MdtMember(models.Model):
    """Someone at a meeting: a NETcare user (the centre's team, or a referring oncologist invited
    to their own patients' discussions, attending virtually) or a named guest without an account."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    meeting = models.ForeignKey(MdtMeeting, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                             blank=True, related_name="mdt_memberships")
    external_name = models.CharField(max_length=120, blank=True,
                                     help_text="A guest without a NETcare account.")
    discipline = models.CharField(max_length=20, choices=Discipline.choices)
    virtual = models.BooleanField(default=False, help_text="Attends by video.")
    attended = models.BooleanField(default=False)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["discipline", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False, external_name="")
                           | (models.Q(user__isnull=True) & ~models.Q(external_name=""))),
                name="mdt_member_user_or_name"),
            models.UniqueConstraint(fields=["meeting", "user"],
                                    condition=models.Q(user__isnull=False),
                                    name="mdt_member_user_once"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return str(self.user) if self.user_id else self.external_name


class CaseState(models.TextChoices):
    LISTED = "listed", "Listed"
    DISCUSSED = "discussed", "Discussed (signed)"
    DEFERRED = "deferred", "Deferred"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Recommendation(models.TextChoices):
    PRRT = "prrt", "PRRT ([177Lu]Lu-DOTA-TATE)"
    SURGERY = "surgery", "Surgery or debulking"
    LIVER_DIRECTED = "liver_directed", "Liver-directed therapy"
    EVEROLIMUS = "everolimus", "Everolimus"
    SUNITINIB = "sunitinib", "Sunitinib"
    CAPTEM = "captem", "CAPTEM"
    CONTINUE_SSA = "continue_ssa", "Continue SSA"
    CLINICAL_TRIAL = "clinical_trial", "Clinical trial"
    SURVEILLANCE = "surveillance", "Surveillance"
    OTHER = "other", "Other"


class MdtCase(ConcurrentTransitionMixin, models.Model):
    """A patient on a meeting's case list, with the question to answer and the case summary
    NETcare pre-filled from the record (frozen when listed, refreshable until discussed).
    listed -> discussed (the recommendation signed: read-only from then on) | deferred |
    withdrawn."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    meeting = models.ForeignKey(MdtMeeting, on_delete=models.PROTECT, related_name="cases")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="mdt_cases")
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="mdt_cases")
    position = models.PositiveSmallIntegerField(default=1, help_text="Order on the agenda.")
    question = models.TextField(help_text="What the MDT is asked to decide.")
    summary = models.JSONField(default=dict, blank=True,
                               help_text="The case summary from the record (network.mdt).")
    summary_at = models.DateTimeField(help_text="When the summary was taken from the record.")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    state = FSMField(default=CaseState.LISTED, choices=CaseState.choices, protected=True,
                     db_index=True)
    recommendation = models.CharField(max_length=20, choices=Recommendation.choices,
                                      blank=True)
    rationale = models.TextField(blank=True)
    attendees = models.ManyToManyField(MdtMember, blank=True, related_name="cases_attended",
                                       help_text="Who took part in this case's discussion.")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    signed_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was deferred or withdrawn.")
    outcome_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="discussed")
                | (~models.Q(recommendation="") & ~models.Q(rationale="")
                   & models.Q(signed_by__isnull=False, signed_at__isnull=False)),
                name="mdt_case_discussed_is_signed"),
            models.CheckConstraint(
                condition=models.Q(state="discussed")
                | models.Q(signed_by__isnull=True, signed_at__isnull=True),
                name="mdt_case_signed_only_discussed"),
            models.CheckConstraint(
                condition=~models.Q(state__in=["deferred", "withdrawn"]) | ~models.Q(reason=""),
                name="mdt_case_defer_withdraw_has_reason"),
            models.UniqueConstraint(fields=["meeting", "patient"],
                                    condition=models.Q(state__in=["listed", "discussed"]),
                                    name="mdt_case_patient_once_per_meeting"),
        ]

    def __str__(self) -> str:
        return f"MDT case {self.external_id} ({self.state})"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @transition(field=state, source=CaseState.LISTED, target=CaseState.DISCUSSED,
                permission=_case_signer)
    def sign(self) -> None:
        pass

    @transition(field=state, source=CaseState.LISTED, target=CaseState.DEFERRED,
                permission=_case_centre_staff)
    def defer(self) -> None:
        pass

    @transition(field=state, source=CaseState.LISTED, target=CaseState.WITHDRAWN,
                permission=_case_centre_staff)
    def withdraw(self) -> None:
        pass


class MdtAction(models.Model):
    """A follow-up action of a signed outcome: what, owned by whom, by when. Signing turns it
    into a care task on the patient's current course at the centre (`care_task`); without such
    a course it stays here, marked done or not through network.mdt."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(MdtCase, on_delete=models.CASCADE, related_name="actions")
    text = models.CharField(max_length=500)
    owner_party = models.CharField(max_length=10, choices=OwnerParty.choices)
    owner_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    due = models.DateField()
    care_task = models.OneToOneField(CareTask, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="mdt_action")
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(owner_party="user") | models.Q(owner_user__isnull=False),
                name="mdt_action_user_owner_named"),
        ]

    def __str__(self) -> str:
        return f"{self.text[:40]} by {self.due}"

    @property
    def patient(self) -> Patient:
        """For the audit trail, which names the patient."""
        return self.case.patient


class MdtEvent(TimelineEntry):
    """The history of a meeting and its cases: every transition and every change (a member
    added, a case listed, a summary refreshed, an action done), with who, when and why. An
    empty actor is NETcare itself."""

    meeting = models.ForeignKey(MdtMeeting, on_delete=models.CASCADE, related_name="events")
    case = models.ForeignKey(MdtCase, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="events")
    transition = models.CharField(max_length=40)
    source = models.CharField(max_length=20)
    target = models.CharField(max_length=20)


# --- e-consult, contacts, bulletins ---
# An e-consult before a referral: a referring oncologist asks a NET centre (its NET contact) a
# question about a patient they see, with a short structured summary; no patient record is made
# until they refer. asked -> answered -> closed; asked -> withdrawn; "refer now" (answered or
# closed, once) links the referral it became. State changes only through network.econsult.


class EConsultState(models.TextChoices):
    ASKED = "asked", "Asked"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_ECONSULT_STATES = (EConsultState.ASKED, EConsultState.ANSWERED)
SSTR_MODALITIES = [(m.value, m.label) for m in ImagingStudy.SSTR_MODALITIES]


def _econsult_asker(econsult: EConsult, user) -> bool:
    return (user is not None and user.role == Role.REFERRING_ONCOLOGIST
            and user.pk == econsult.asked_by_id)


def _econsult_answerer(econsult: EConsult, user) -> bool:
    """A NET specialist of the centre asked, or one of its named NET contacts."""
    if user is None or user.centre_id != econsult.centre_id:
        return False
    if user.role == Role.SPECIALIST:
        return True
    return user.role == Role.NAVIGATOR and NetContact.objects.filter(
        centre_id=econsult.centre_id, user_id=user.pk, kind=NetContact.Kind.NET_CONTACT,
        active=True).exists()


def _econsult_closer(econsult: EConsult, user) -> bool:
    return _econsult_asker(econsult, user) or (
        user is not None and user.role in (Role.SPECIALIST, Role.NAVIGATOR)
        and user.centre_id == econsult.centre_id)


class EConsult(ConcurrentTransitionMixin, models.Model):
    """A question to a NET centre before a referral, with the key data of the patient."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="econsults",
                               help_text="The NET specialist centre asked.")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="econsults_asked")
    state = FSMField(default=EConsultState.ASKED, choices=EConsultState.choices,
                     protected=True, db_index=True)
    question = models.TextField(help_text="Candidacy, which scan, what labs: what you would "
                                          "like the centre to tell you.")
    primary_site = models.CharField("tumour site", max_length=16,
                                    choices=TumourProfile.PrimarySite.choices)
    grade = models.CharField("WHO grade", max_length=8, choices=TumourProfile.Grade.choices,
                             default=TumourProfile.Grade.UNKNOWN)
    ki67_percent = models.DecimalField(
        "Ki-67 (%)", max_digits=5, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)])
    sstr_imaging = models.BooleanField("SSTR imaging done", default=False)
    sstr_modality = models.CharField("which SSTR scan", max_length=24,
                                     choices=SSTR_MODALITIES, blank=True)
    sstr_imaging_on = models.DateField("SSTR imaging date", null=True, blank=True)
    sstr_positive = models.BooleanField("SSTR positive", null=True, blank=True)
    current_ssa = models.CharField("current SSA", max_length=16, choices=Patient.SSA.choices,
                                   default=Patient.SSA.NONE)
    labs_on = models.DateField("labs drawn on", null=True, blank=True)
    labs = models.TextField("recent labs", blank=True,
                            help_text="Free text, e.g. platelets 210, creatinine 0.9 mg/dL.")
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    asked_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    response_hours = models.DecimalField(
        max_digits=8, decimal_places=1, null=True, blank=True,
        help_text="Hours from the question to the answer (for the network's response times).")
    closed_at = models.DateTimeField(null=True, blank=True)
    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="econsult",
                                    help_text="The referral this e-consult became.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-asked_at", "-id"]
        indexes = [models.Index(fields=["centre", "state"], name="econsult_centre_state"),
                   models.Index(fields=["asked_by", "-asked_at"], name="econsult_asker")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ki67_percent__isnull=True)
                | models.Q(ki67_percent__gte=0, ki67_percent__lte=100),
                name="econsult_ki67_0_100"),
            models.CheckConstraint(
                condition=models.Q(state__in=["asked", "withdrawn"])
                | (~models.Q(answer="") & models.Q(answered_at__isnull=False,
                                                   response_hours__gte=0)),
                name="econsult_answered_has_answer"),
        ]

    def __str__(self) -> str:
        return f"E-consult {self.external_id} ({self.state})"

    @property
    def patient(self) -> Patient | None:
        """The patient of the referral it became (for the audit trail), else None."""
        return self.referral.patient if self.referral_id else None

    @transition(field=state, source=EConsultState.ASKED, target=EConsultState.ANSWERED,
                permission=_econsult_answerer)
    def answer_question(self) -> None:
        pass

    @transition(field=state, source=EConsultState.ANSWERED, target=EConsultState.CLOSED,
                permission=_econsult_closer)
    def close(self) -> None:
        pass

    @transition(field=state, source=[EConsultState.ANSWERED, EConsultState.CLOSED],
                target=EConsultState.CLOSED, permission=_econsult_asker,
                conditions=[lambda econsult: econsult.referral_id is None])
    def refer(self) -> None:
        pass

    @transition(field=state, source=EConsultState.ASKED, target=EConsultState.WITHDRAWN,
                permission=_econsult_asker)
    def withdraw(self) -> None:
        pass


class EConsultEvent(TimelineEntry):
    """One step of an e-consult: asked, answered, closed, referred or withdrawn; who, when, from,
    to and why. An empty actor is NETcare itself."""

    econsult = models.ForeignKey(EConsult, on_delete=models.CASCADE, related_name="events")
    transition = models.CharField(max_length=32)
    source = models.CharField(max_length=12, blank=True)
    target = models.CharField(max_length=12, choices=EConsultState.choices)


class NetContact(models.Model):
    """A person a centre names for its referring network: its NET contact(s) and nurse
    navigator(s), a NETcare user of the centre or someone without an account."""

    class Kind(models.TextChoices):
        NET_CONTACT = "net_contact", "NET contact"
        NAVIGATOR = "navigator", "Nurse navigator"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="net_contacts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                             blank=True, related_name="net_contact_roles",
                             help_text="A member of the centre's team with a NETcare account.")
    name = models.CharField("name (no NETcare account)", max_length=120, blank=True)
    kind = models.CharField("role", max_length=12, choices=Kind.choices,
                            default=Kind.NET_CONTACT)
    title = models.CharField("role label", max_length=120, blank=True,
                             help_text="As shown to referring oncologists, e.g. "
                                       "'NET medical oncologist'. Empty: the role.")
    phone = models.CharField(max_length=40, blank=True, help_text="Empty: the user's own.")
    email = models.EmailField(blank=True, help_text="Empty: the user's own.")
    order = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first.")
    active = models.BooleanField(default=True, help_text="Shown to the network.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False, name="")
                           | (models.Q(user__isnull=True) & ~models.Q(name=""))),
                name="net_contact_user_or_name"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.role_label})"

    @property
    def display_name(self) -> str:
        return str(self.user) if self.user_id else self.name

    @property
    def role_label(self) -> str:
        return self.title or self.get_kind_display()

    @property
    def phone_number(self) -> str:
        return self.phone or (self.user.phone if self.user_id else "")

    @property
    def email_address(self) -> str:
        return self.email or (self.user.email if self.user_id else "")


class NetworkPractice(models.Model):
    """A referring practice a centre adds to its network by hand (the practices whose
    oncologists have referred to it are in it anyway: network.contacts.network_practices)."""

    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="network_links")
    practice = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="centre_links")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["practice__name", "id"]
        constraints = [models.UniqueConstraint(fields=["centre", "practice"],
                                               name="network_practice_once")]

    def __str__(self) -> str:
        return f"{self.practice_id} in the network of {self.centre_id}"


class Bulletin(models.Model):
    """A short post from a centre to its referring network: a management algorithm, a trial
    opening, a newsletter issue. Shown from `published_at` to `ends_on` (inclusive)."""

    class Kind(models.TextChoices):
        ALGORITHM = "algorithm", "Management algorithm"
        TRIAL = "trial", "Trial opening"
        NEWSLETTER = "newsletter", "Newsletter"
        OTHER = "other", "Other"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="bulletins")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(max_length=200)
    body = models.TextField()
    published_at = models.DateTimeField()
    ends_on = models.DateField("shown until", null=True, blank=True,
                               help_text="The last day it is shown; empty: until replaced.")
    emailed_to = models.PositiveIntegerField(default=0, help_text="Subscribers emailed.")

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["centre", "-published_at"], name="bulletin_centre_pub")]

    def __str__(self) -> str:
        return self.title


class BulletinSubscription(models.Model):
    """A referring oncologist's choice to get their network's bulletins by email too."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="bulletin_subscription")
    by_email = models.BooleanField("email me new bulletins", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {'email' if self.by_email else 'no email'}"
