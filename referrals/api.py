"""REST API for referrals (`/api/v1/referrals/…`): the list, drafts, one POST action per workflow
step, the timeline and the discussion thread.

Views only parse, call referrals.selectors / referrals.services and shape the answer; the workflow
funnel decides what is allowed and its refusals keep their status (409, 403, 400).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated

from netcare import access
from netcare.api import (
    CONFLICT,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    AwareDateTimeField,
    IsReferringOncologist,
    NamedChoiceField,
    NetcareViewMixin,
    UserRefSerializer,
    filter_list,
)
from referrals import services
from referrals.models import Referral, ReferralEvent, ReferralNote, ReferralState
from referrals.selectors import referral_for, referrals_visible

# --- serializers ----------------------------------------------------------------------------


class ReferralSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    patient = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    centre = serializers.SlugRelatedField(slug_field="external_id", read_only=True,
                                          help_text="The NET specialist centre receiving it.")
    referring_oncologist = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    reviewer = serializers.SlugRelatedField(slug_field="external_id", read_only=True,
                                            allow_null=True,
                                            help_text="The specialist reviewing it; null until "
                                                      "one takes it.")
    state = NamedChoiceField(ReferralState.choices, component="ReferralStateEnum",
                             read_only=True)
    available_actions = serializers.SerializerMethodField(
        help_text="The workflow actions you may take now (POST /referrals/{id}/{action}/).")

    class Meta:
        model = Referral
        fields = [
            "id", "patient", "centre", "referring_oncologist", "state", "urgency", "question",
            "history", "reviewer", "decision_reason", "consult_at", "summary", "created_at",
            "submitted_at", "updated_at", "available_actions",
        ]
        read_only_fields = fields

    def get_available_actions(self, referral: Referral) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        names = {t.name for t in referral.get_available_user_state_transitions(request.user)}
        return [name for name in services.STEPS if name in names]


class ReferralCreateSerializer(serializers.Serializer):
    patient = serializers.UUIDField(help_text="One of your patients; the referral goes to the "
                                              "patient's NET specialist centre.")
    question = serializers.CharField(help_text="What you are asking the NET centre to decide.")
    history = serializers.CharField(required=False, allow_blank=True, default="")
    urgency = serializers.ChoiceField(choices=Referral.Urgency.choices,
                                      default=Referral.Urgency.ROUTINE)


class TransitionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Why; required to decline, ask for information, answer it or withdraw.")
    consult_at = AwareDateTimeField(
        required=False, allow_null=True, default=None,
        help_text="When the consult takes place, with time zone; required to book it.")


class ReferralFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=ReferralState.choices, required=False,
                                    help_text="Only referrals in this state.")
    patient = serializers.UUIDField(required=False, help_text="Only this patient's referrals.")


class ReferralEventSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(read_only=True, allow_null=True,
                              help_text="Who took the step; null when NETcare itself did.")
    source = NamedChoiceField(ReferralState.choices, component="ReferralStateEnum",
                              read_only=True, help_text="The state before the step.")
    target = NamedChoiceField(ReferralState.choices, component="ReferralStateEnum",
                              read_only=True, help_text="The state after the step.")

    class Meta:
        model = ReferralEvent
        fields = ["at", "transition", "source", "target", "reason", "actor"]
        read_only_fields = fields


class ReferralNoteSerializer(serializers.ModelSerializer):
    author = UserRefSerializer(read_only=True)

    class Meta:
        model = ReferralNote
        fields = ["body", "author", "created_at"]
        read_only_fields = ["author", "created_at"]


# --- viewsets -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Referrals you may see",
        parameters=[ReferralFilterSerializer],
        responses={200: ReferralSerializer(many=True), 400: INVALID},
    ),
    retrieve=extend_schema(summary="One referral (audited)",
                           responses={200: ReferralSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary="Start a draft referral (referring oncologists)",
        request=ReferralCreateSerializer,
        responses={201: ReferralSerializer, 400: INVALID, 403: FORBIDDEN},
    ),
)
class ReferralViewSet(NetcareViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Referrals of the patients you may see, newest first. Each workflow step is a POST action
    (`/referrals/{id}/accept/`); `available_actions` lists the ones you may take now."""

    queryset = Referral.objects.all()
    serializer_class = ReferralSerializer

    def get_permissions(self):
        if self.action == "create":
            return [IsAuthenticated(), IsReferringOncologist()]
        return super().get_permissions()

    def get_queryset(self):
        queryset = referrals_visible(self.request.user)
        if self.action == "list":
            queryset = filter_list(queryset, self.request, ReferralFilterSerializer)
        return queryset

    def get_object(self):
        referral = referral_for(self.request.user, self.kwargs[self.lookup_url_kwarg])
        self.check_object_permissions(self.request, referral)
        return referral

    def retrieve(self, request, *args, **kwargs):
        referral = self.get_object()
        self.record_view(referral)
        return self.respond(ReferralSerializer, referral)

    def create(self, request, *args, **kwargs):
        serializer = ReferralCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        try:
            patient = access.get_patient_for(request.user, data.pop("patient"))
        except Http404:
            raise ValidationError({"patient": "No such patient among yours."}) from None
        referral = services.referral_create(actor=request.user, patient=patient,
                                            centre=patient.centre, **data)
        return self.respond(ReferralSerializer, referral, status_code=status.HTTP_201_CREATED)

    def take_step(self, request, name: str):
        """Run the workflow step `name` on the referral in the URL."""
        referral = self.get_object()  # first: outside the scope is a 404 whatever the body
        body = TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.referral_transition(referral=referral, name=name, actor=request.user,
                                     **body.validated_data)
        return self.respond(ReferralSerializer, self.get_object())


def _step_action(name: str):
    """The POST action `/referrals/{id}/<name>/` for the workflow step `name`."""
    step = services.STEPS[name]

    def take(self, request, *args, **kwargs):
        return self.take_step(request, name)

    take.__name__ = name
    take.__doc__ = f"{step.label[:1].upper()}{step.label[1:]}."
    notes = []
    if step.reason_required:
        notes.append("A `reason` is required.")
    if name == "book_consult":
        notes.append("`consult_at` is required.")
    schema = extend_schema(
        summary=take.__doc__, description=" ".join(notes), operation_id=f"v1_referrals_{name}",
        request=TransitionSerializer,
        responses={200: ReferralSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND,
                   409: CONFLICT},
    )
    return schema(action(detail=True, methods=["post"], url_path=name, url_name=name)(take))


# One POST action per workflow step, named as in referrals.services.STEPS.
for _name in services.STEPS:
    setattr(ReferralViewSet, _name, _step_action(_name))


class ReferralScopedMixin(NetcareViewMixin):
    """A resource nested under ``referrals/<uuid:referral_id>/``: the referral is resolved
    through the access-scoped selector first (a 404 outside it), and reads are audited."""

    referral_url_kwarg = "referral_id"
    audit_lists = False  # every read is audited as a view of the one referral

    def get_referral(self) -> Referral:
        if not hasattr(self, "_referral"):
            self._referral = referral_for(self.request.user, self.kwargs[self.referral_url_kwarg])
        return self._referral

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        referral = self.get_referral()
        if request.method in ("GET", "HEAD"):
            self.record_view(referral)

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return queryset.none()
        return queryset.filter(referral=self.get_referral())


@extend_schema_view(
    list=extend_schema(summary="The referral's timeline (audited)",
                       responses={200: ReferralEventSerializer(many=True), 404: NOT_FOUND}),
)
class ReferralEventViewSet(ReferralScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every workflow step of the referral, oldest first: who, when, from, to and why."""

    queryset = ReferralEvent.objects.select_related("actor").order_by("at", "id")
    serializer_class = ReferralEventSerializer


@extend_schema_view(
    list=extend_schema(summary="The referral's discussion thread (audited)",
                       responses={200: ReferralNoteSerializer(many=True), 404: NOT_FOUND}),
    create=extend_schema(summary="Write in the referral's discussion thread",
                         responses={201: ReferralNoteSerializer, 400: INVALID, 403: FORBIDDEN,
                                    404: NOT_FOUND, 409: CONFLICT}),
)
class ReferralNoteViewSet(ReferralScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                          viewsets.GenericViewSet):
    """The discussion between the referring oncologist and the NET centre, oldest first."""

    queryset = ReferralNote.objects.select_related("author").order_by("created_at", "id")
    serializer_class = ReferralNoteSerializer

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = services.referral_note_add(referral=self.get_referral(), author=request.user,
                                          body=serializer.validated_data["body"])
        return self.respond(ReferralNoteSerializer, note, status_code=status.HTTP_201_CREATED)
