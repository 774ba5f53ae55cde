"""REST API for care tasks (`/api/v1/care-tasks/…`): the plan's obligations and their verbs.

Views only parse, call coordinators.services and shape the answer. Tasks are scoped through
netcare.access like every patient record (outside the scope is a 404); the verbs are POST actions
(`done`, `skip`, `snooze`, `reassign`, `appointment`) that refuse a closed task with a 409, and
every 400 (the API's one shape, netcare.api) names the field of the request body at fault.
"""

from __future__ import annotations

import uuid

from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from coordinators import services
from coordinators.models import CareTask, OwnerParty, TaskKind, TaskState
from coordinators.selectors import visible_tasks
from netcare import access
from netcare.api import (
    INVALID,
    NOT_FOUND,
    AwareDateTimeField,
    NamedChoiceField,
    PastDateTimeField,
    PlanDateField,
    UserRefSerializer,
    exception_handler,
)
from netcare.clock import centre_today
from netcare.models import Centre, User
from netcare.workflow import Step, TransitionInvalid, check_transition
from prrt.api.base import PrrtViewMixin, action_schema

OWNER_FILTERS = ("me", OwnerParty.CENTRE, OwnerParty.PRACTICE)
TASK_ORDER = ("due", "kind", "cycle", "sequence", "pk")


def _state_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(TaskState.choices, component="CareTaskStateEnum", **kwargs)


def _kind_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(TaskKind.choices, component="CareTaskKindEnum", **kwargs)


# --- serializers ----------------------------------------------------------------------------


class CareTaskOwnerSerializer(serializers.Serializer):
    party = NamedChoiceField(OwnerParty.choices, component="CareTaskOwnerPartyEnum",
                             source="owner_party", read_only=True,
                             help_text="The centre's team, the referring oncologist's practice "
                                       "(per the responsibility agreement), or a named user.")
    user = UserRefSerializer(source="owner_user", read_only=True, allow_null=True,
                             help_text="The named owner when `party` is `user`, else null.")


class CareTaskAppointmentSerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="appointment_at", read_only=True)
    place = serializers.CharField(source="appointment_place", read_only=True)
    note = serializers.CharField(source="appointment_note", read_only=True)


class CareTaskSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    kind = _kind_field(read_only=True)
    title = serializers.CharField(read_only=True)
    patient = serializers.UUIDField(source="patient.external_id", read_only=True)
    course = serializers.UUIDField(source="course.external_id", read_only=True)
    cycle = serializers.IntegerField(read_only=True, help_text="0: not tied to one cycle.")
    state = _state_field(read_only=True)
    owner = CareTaskOwnerSerializer(source="*", read_only=True)
    appointment = serializers.SerializerMethodField(
        help_text="When and where the task is met, once booked; null otherwise.")
    done_by = UserRefSerializer(read_only=True, allow_null=True,
                                help_text="Who did it; null while not done, or when NETcare "
                                          "itself closed the task from the record.")

    class Meta:
        model = CareTask
        fields = ["id", "kind", "title", "patient", "course", "cycle", "sequence", "earliest",
                  "due", "latest", "state", "owner", "appointment", "snoozed_until", "done_at",
                  "done_by", "fulfilled_by", "value", "reason"]
        read_only_fields = fields

    @extend_schema_field(CareTaskAppointmentSerializer(allow_null=True))
    def get_appointment(self, task: CareTask) -> dict | None:
        if task.appointment_at is None:
            return None
        return CareTaskAppointmentSerializer(task).data


class CareTaskFilterSerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False, help_text="Only this patient's tasks.")
    state = serializers.ChoiceField(choices=TaskState.choices, required=False,
                                    help_text="Only tasks in this state.")
    overdue = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="true: only open tasks due before today at the course's centre; false: only "
                  "the others.")
    owner = serializers.CharField(
        required=False,
        help_text="`me` (named to you), `centre`, `practice`, or a user's id (named to them).")
    kind = serializers.ChoiceField(choices=TaskKind.choices, required=False,
                                   help_text="Only tasks of this kind.")

    def validate_owner(self, value: str) -> str | uuid.UUID:
        if value in OWNER_FILTERS:
            return value
        try:
            return uuid.UUID(value)
        except ValueError:
            raise serializers.ValidationError(
                "Give me, centre, practice or a user's id.") from None


class CareTaskDoneSerializer(serializers.Serializer):
    done_at = PastDateTimeField(required=False, allow_null=True, default=None,
                                help_text="When it was done, with time zone; now if left out.")
    value = serializers.CharField(required=False, allow_blank=True, default="",
                                  help_text="What was recorded (a result, a lot number).")


class CareTaskSkipSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why it is skipped (done elsewhere, not needed).")


class CareTaskSnoozeSerializer(serializers.Serializer):
    until = PlanDateField(help_text="A later day (at most two years ahead); reminders wait "
                                    "until then.")
    reason = serializers.CharField(help_text="Why the task waits.")


class CareTaskReassignSerializer(serializers.Serializer):
    owner_user = serializers.UUIDField(
        required=False, allow_null=True, default=None,
        help_text="A user who may see the patient; or give `owner_party`.")
    owner_party = serializers.ChoiceField(
        choices=[OwnerParty.CENTRE, OwnerParty.PRACTICE], required=False, allow_null=True,
        default=None, help_text="Back to the centre's team or the referring practice.")
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        if attrs["owner_user"] is not None and attrs["owner_party"] is not None:
            raise serializers.ValidationError(
                {"owner_user": ["Give owner_user or owner_party, not both."]})
        if attrs["owner_user"] is None and attrs["owner_party"] is None:
            raise serializers.ValidationError(
                {"owner_party": ["Give owner_party (centre or practice) or owner_user."]})
        return attrs


class CareTaskAppointmentSetSerializer(serializers.Serializer):
    at = AwareDateTimeField(allow_null=True,
                            help_text="When, with time zone; null clears the appointment.")
    place = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


# --- the list's filters ---------------------------------------------------------------------


def _overdue(queryset) -> Q:
    """Open and due before today, each task by its course centre's today (one query for the
    centres, however many tasks)."""
    centres = Centre.objects.filter(pk__in=queryset.order_by().values("course__centre_id"))
    due_before_today = Q(pk__in=[])
    for centre in centres:
        due_before_today |= Q(course__centre_id=centre.pk, due__lt=centre_today(centre))
    return Q(state=TaskState.OPEN) & due_before_today


def filter_tasks(queryset, user, filters: dict):
    """`queryset` narrowed by the validated filters, and the patient asked for (None when no
    `?patient=` was given, or it names no patient of `user`'s)."""
    patient = None
    if "patient" in filters:
        patient = access.visible_patients(user).filter(external_id=filters["patient"]).first()
        queryset = queryset.filter(patient=patient) if patient else queryset.none()
    if "state" in filters:
        queryset = queryset.filter(state=filters["state"])
    if "kind" in filters:
        queryset = queryset.filter(kind=filters["kind"])
    owner = filters.get("owner")
    if owner == "me":
        queryset = queryset.filter(owner_party=OwnerParty.USER, owner_user=user)
    elif owner in (OwnerParty.CENTRE, OwnerParty.PRACTICE):
        queryset = queryset.filter(owner_party=owner)
    elif owner is not None:
        queryset = queryset.filter(owner_party=OwnerParty.USER, owner_user__external_id=owner)
    if filters.get("overdue") is True:
        queryset = queryset.filter(_overdue(queryset))
    elif filters.get("overdue") is False:
        queryset = queryset.exclude(_overdue(queryset))
    return queryset, patient


# --- the viewset ----------------------------------------------------------------------------


def care_task_exception_handler(exc, context):
    """A service's refusal names its field as in the request body (the service says `owner`,
    the body `owner_user`)."""
    if isinstance(exc, TransitionInvalid) and exc.field:
        fields = getattr(context.get("view"), "body_fields", {})
        exc = TransitionInvalid(exc.message, field=fields.get(exc.field, exc.field))
    return exception_handler(exc, context)


@extend_schema_view(
    list=extend_schema(summary="Care tasks of the patients you may see",
                       parameters=[CareTaskFilterSerializer],
                       responses={200: CareTaskSerializer(many=True), 400: INVALID},
                       description="By due day. Filtered to one `patient`, the read is audited "
                                   "as a view of that patient's record."),
    retrieve=extend_schema(summary="One care task (audited)",
                           responses={200: CareTaskSerializer, 404: NOT_FOUND}),
)
class CareTaskViewSet(PrrtViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    """The care tasks of the patients you may see: each obligation of a course's plan, when it
    is due and who owns it. Completing, skipping, snoozing, reassigning and booking an
    appointment are POST actions on an open task."""

    queryset = CareTask.objects.all()
    serializer_class = CareTaskSerializer
    # Service field -> request body field, for the 400s (see care_task_exception_handler).
    body_fields = {"appointment_at": "at", "appointment_place": "place",
                   "appointment_note": "note"}

    def get_exception_handler(self):
        return care_task_exception_handler

    def get_queryset(self):
        return visible_tasks(self.request.user).select_related("done_by").order_by(*TASK_ORDER)

    def list(self, request, *args, **kwargs):
        filters = CareTaskFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset, patient = filter_tasks(self.get_queryset(), request.user,
                                         filters.validated_data)
        if patient is not None:
            self.record_view(patient)
            self.audit_lists = False  # audited as a view of that one patient's record
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(
            CareTaskSerializer(page, many=True, context=self.get_serializer_context()).data)

    def retrieve(self, request, *args, **kwargs):
        task = self.get_object()
        self.record_view(task)
        return self.respond(CareTaskSerializer, task)

    def open_task(self, label: str, transition: str = "complete") -> CareTask:
        """The task in the URL (404 outside your scope), refused before its body is read when it
        is closed (409) or not yours to change (403), as the services would under the row lock.
        An open task's `complete` transition states both conditions for every verb."""
        task = self.get_object()
        check_transition(task, Step(transition, label), self.request.user)
        return task

    def task_response(self, task: CareTask):
        """The task as it is now, read again after a change."""
        return self.respond(CareTaskSerializer, self.get_object())

    @action_schema("Mark the task done", CareTaskDoneSerializer, CareTaskSerializer,
                   operation_id="v1_care_tasks_done",
                   description="`done_at` carries its time zone and may not be in the future; "
                               "the task's unsent reminders are cancelled.")
    @action(detail=True, methods=["post"])
    def done(self, request, *args, **kwargs):
        task = self.open_task("mark the task done")
        data = self.parse(CareTaskDoneSerializer)
        services.task_complete(actor=request.user, task=task, **data)
        return self.task_response(task)

    @action_schema("Skip the task", CareTaskSkipSerializer, CareTaskSerializer,
                   operation_id="v1_care_tasks_skip", description="A `reason` is required.")
    @action(detail=True, methods=["post"])
    def skip(self, request, *args, **kwargs):
        task = self.open_task("skip the task", "skip")
        data = self.parse(CareTaskSkipSerializer)
        services.task_skip(actor=request.user, task=task, reason=data["reason"])
        return self.task_response(task)

    @action_schema("Snooze the task's reminders", CareTaskSnoozeSerializer, CareTaskSerializer,
                   operation_id="v1_care_tasks_snooze",
                   description="Its reminders wait until `until` (a later day); its dates do "
                               "not change. A `reason` is required.")
    @action(detail=True, methods=["post"])
    def snooze(self, request, *args, **kwargs):
        task = self.open_task("snooze the task")
        data = self.parse(CareTaskSnoozeSerializer)
        services.task_snooze(actor=request.user, task=task, **data)
        return self.task_response(task)

    @action_schema("Give the task to someone else", CareTaskReassignSerializer, CareTaskSerializer,
                   operation_id="v1_care_tasks_reassign",
                   description="To a named user (`owner_user`, who must be able to see the "
                               "patient) or back to the centre or the referring practice "
                               "(`owner_party`). Re-planning keeps a named owner.")
    @action(detail=True, methods=["post"])
    def reassign(self, request, *args, **kwargs):
        task = self.open_task("reassign the task")
        data = self.parse(CareTaskReassignSerializer)
        owner_user = None
        if data["owner_user"] is not None:
            self.body_fields = {"owner": "owner_user"}
            owner_user = User.objects.filter(external_id=data["owner_user"]).first()
            if owner_user is None:
                raise TransitionInvalid("That user cannot see this patient.", field="owner")
        else:
            self.body_fields = {"owner": "owner_party"}
        services.task_reassign(actor=request.user, task=task, owner_user=owner_user,
                               owner_party=data["owner_party"], reason=data["reason"])
        return self.task_response(task)

    @action_schema("Book (or clear) the task's appointment", CareTaskAppointmentSetSerializer,
                   CareTaskSerializer, operation_id="v1_care_tasks_appointment",
                   description="When (`at`, with time zone) and where the task is met, with a "
                               "note; `at` null clears it. The task's dates do not change.")
    @action(detail=True, methods=["post"])
    def appointment(self, request, *args, **kwargs):
        task = self.open_task("book the task's appointment")
        data = self.parse(CareTaskAppointmentSetSerializer)
        services.task_set_appointment(actor=request.user, task=task, **data)
        return self.task_response(task)
