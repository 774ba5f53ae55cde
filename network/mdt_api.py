"""REST API for MDT meetings and their cases (`/api/v1/mdt-meetings/`, `/api/v1/mdt-cases/`):
read-only, scoped like the pages (network.mdt_selectors over netcare.access). The centre's
team reads its meetings and every case; a referring oncologist reads only their own patients'
cases and the meetings that hold one. A case list names its patients in the audit trail; one
case read is an audited view."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from coordinators.models import OwnerParty
from netcare.api import INVALID, NOT_FOUND, NamedChoiceField, NetcareViewMixin, UserRefSerializer
from network import mdt_selectors as selectors
from network.models import (
    CaseState,
    Discipline,
    MdtAction,
    MdtCase,
    MdtMeeting,
    MdtMember,
    MeetingState,
    Recommendation,
)


class MdtMemberSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    name = serializers.CharField(read_only=True)
    user = UserRefSerializer(read_only=True, allow_null=True,
                             help_text="The NETcare user; null for a guest without an account.")
    discipline = NamedChoiceField(Discipline.choices, component="MdtDisciplineEnum",
                                  read_only=True)

    class Meta:
        model = MdtMember
        fields = ["id", "name", "user", "discipline", "virtual", "attended"]
        read_only_fields = fields


class MdtMeetingSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    centre = serializers.CharField(source="centre.name", read_only=True)
    state = NamedChoiceField(MeetingState.choices, component="MdtMeetingStateEnum",
                             read_only=True)
    ends_at = serializers.DateTimeField(read_only=True)
    chair = UserRefSerializer(read_only=True)
    video_link = serializers.SerializerMethodField(
        help_text="The video conference address, for the centre's team and the meeting's "
                  "members; null for others.")
    members = serializers.SerializerMethodField(
        help_text="The centre's side and, for an invited oncologist, themselves.")

    class Meta:
        model = MdtMeeting
        fields = ["id", "centre", "title", "starts_at", "ends_at", "duration_minutes", "place",
                  "video_link", "chair", "state", "reason", "members"]
        read_only_fields = fields

    def _user(self):
        return self.context["request"].user

    def _is_team(self, meeting: MdtMeeting) -> bool:
        return selectors.is_centre_team(self._user(), meeting.centre_id)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_video_link(self, meeting: MdtMeeting) -> str | None:
        user = self._user()
        member = any(m.user_id == user.pk for m in meeting.members.all())
        if meeting.video_link and (self._is_team(meeting) or member):
            return meeting.video_link
        return None

    @extend_schema_field(MdtMemberSerializer(many=True))
    def get_members(self, meeting: MdtMeeting) -> list[dict]:
        user, team = self._user(), self._is_team(meeting)
        shown = [m for m in meeting.members.all()
                 if team or m.discipline != Discipline.MEDICAL_ONCOLOGY or m.user_id == user.pk]
        return MdtMemberSerializer(shown, many=True, context=self.context).data


class MdtActionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    owner_party = NamedChoiceField(OwnerParty.choices, component="MdtActionOwnerPartyEnum",
                                   read_only=True)
    owner_user = UserRefSerializer(read_only=True, allow_null=True)
    care_task = serializers.UUIDField(source="care_task.external_id", read_only=True,
                                      allow_null=True, default=None,
                                      help_text="The care task it became on the patient's "
                                                "course; null when the patient had none.")

    class Meta:
        model = MdtAction
        fields = ["id", "text", "owner_party", "owner_user", "due", "care_task", "done_at"]
        read_only_fields = fields


class MdtCaseSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    meeting = serializers.UUIDField(source="meeting.external_id", read_only=True)
    patient = serializers.UUIDField(source="patient.external_id", read_only=True)
    referral = serializers.UUIDField(source="referral.external_id", read_only=True,
                                     allow_null=True, default=None)
    state = NamedChoiceField(CaseState.choices, component="MdtCaseStateEnum", read_only=True)
    recommendation = NamedChoiceField(Recommendation.choices + [("", "Not yet")],
                                      component="MdtRecommendationEnum", read_only=True)
    summary = serializers.JSONField(read_only=True,
                                    help_text="The case summary from the record, as listed or "
                                              "last refreshed (kept as discussed once signed).")
    attendees = MdtMemberSerializer(many=True, read_only=True)
    signed_by = UserRefSerializer(read_only=True, allow_null=True)
    actions = MdtActionSerializer(many=True, read_only=True)

    class Meta:
        model = MdtCase
        fields = ["id", "meeting", "patient", "referral", "position", "question", "summary",
                  "summary_at", "state", "recommendation", "rationale", "attendees",
                  "signed_by", "signed_at", "reason", "actions"]
        read_only_fields = fields


class MdtCaseFilterSerializer(serializers.Serializer):
    meeting = serializers.UUIDField(required=False, help_text="Only this meeting's cases.")
    patient = serializers.UUIDField(required=False, help_text="Only this patient's cases.")
    state = serializers.ChoiceField(choices=CaseState.choices, required=False,
                                    help_text="Only cases in this state.")


class MdtMeetingFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=MeetingState.choices, required=False,
                                    help_text="Only meetings in this state.")


@extend_schema_view(
    list=extend_schema(summary="MDT meetings you may open",
                       parameters=[MdtMeetingFilterSerializer],
                       responses={200: MdtMeetingSerializer(many=True), 400: INVALID},
                       description="The centre's team: its meetings. A referring oncologist: "
                                   "the meetings holding a case of one of their patients. By "
                                   "start time. No patient is named."),
    retrieve=extend_schema(summary="One MDT meeting",
                           responses={200: MdtMeetingSerializer, 404: NOT_FOUND}),
)
class MdtMeetingViewSet(NetcareViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """MDT meetings (case conferences): when, where, the chair, the members by discipline.
    Their cases are at `/api/v1/mdt-cases/?meeting=<id>`."""

    queryset = MdtMeeting.objects.all()
    serializer_class = MdtMeetingSerializer
    patient_path = ""
    audit_lists = False  # a meeting names no patient

    def get_queryset(self):
        return (selectors.meetings_visible(self.request.user).select_related("centre", "chair")
                .prefetch_related("members__user").order_by("starts_at", "id"))

    def get_object(self):
        if self.lookup_url_kwarg not in self.kwargs:
            raise Http404
        meeting = selectors.meeting_for(self.request.user, self.kwargs[self.lookup_url_kwarg])
        return self.get_queryset().get(pk=meeting.pk)

    def list(self, request, *args, **kwargs):
        filters = MdtMeetingFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if "state" in filters.validated_data:
            queryset = queryset.filter(state=filters.validated_data["state"])
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(
            MdtMeetingSerializer(page, many=True, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(summary="MDT cases you may see",
                       parameters=[MdtCaseFilterSerializer],
                       responses={200: MdtCaseSerializer(many=True), 400: INVALID},
                       description="The centre's team: every case of its meetings. A referring "
                                   "oncologist: their own patients' cases only. By meeting and "
                                   "agenda order; the read names each patient in the audit "
                                   "trail."),
    retrieve=extend_schema(summary="One MDT case with its summary and outcome (audited)",
                           responses={200: MdtCaseSerializer, 404: NOT_FOUND}),
)
class MdtCaseViewSet(NetcareViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     viewsets.GenericViewSet):
    """A patient on an MDT meeting's case list: the question, the summary NETcare took from the
    record, and once signed the recommendation, its rationale, who took part and the follow-up
    actions (read-only)."""

    queryset = MdtCase.objects.all()
    serializer_class = MdtCaseSerializer

    def get_queryset(self):
        return (selectors.cases_visible(self.request.user)
                .select_related("meeting", "patient", "referral", "signed_by")
                .prefetch_related(
                    Prefetch("attendees", queryset=MdtMember.objects.select_related("user")),
                    Prefetch("actions", queryset=MdtAction.objects.select_related(
                        "owner_user", "care_task")))
                .order_by("meeting__starts_at", "meeting_id", "position", "id"))

    def list(self, request, *args, **kwargs):
        filters = MdtCaseFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        queryset = self.get_queryset()
        if "meeting" in data:
            queryset = queryset.filter(meeting__external_id=data["meeting"])
        if "patient" in data:
            queryset = queryset.filter(patient__external_id=data["patient"])
        if "state" in data:
            queryset = queryset.filter(state=data["state"])
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(
            MdtCaseSerializer(page, many=True, context=self.get_serializer_context()).data)

    def retrieve(self, request, *args, **kwargs):
        case = self.get_object()
        self.record_view(case)
        return self.respond(MdtCaseSerializer, case)
