"""REST API of the e-consults (`/api/v1/econsults/…`: list, ask, read, and the answer, close and
withdraw steps as POST actions) and the bulletins (`/api/v1/bulletins/…`: read).

Views only parse, call network.econsult / network.bulletins and shape the answer; the workflow
funnel decides what is allowed, and its refusals keep their status (409, 403, 400). An e-consult
outside the user's scope is a 404; a list that names patients (an e-consult that became a
referral) is audited with the patients it named.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated

from netcare.api import (
    CONFLICT,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    IsReferringOncologist,
    NamedChoiceField,
    NetcareViewMixin,
    PastDateField,
    UserRefSerializer,
)
from netcare.models import Centre
from network import bulletins, econsult
from network.models import SSTR_MODALITIES, Bulletin, EConsult, EConsultState
from patients.models import Patient, TumourProfile

# --- serializers ----------------------------------------------------------------------------


class EConsultSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    centre = serializers.SlugRelatedField(slug_field="external_id", read_only=True,
                                          help_text="The NET specialist centre asked.")
    asked_by = UserRefSerializer(read_only=True)
    answered_by = UserRefSerializer(read_only=True, allow_null=True,
                                    help_text="Who answered; null until someone does.")
    state = NamedChoiceField(EConsultState.choices, component="EConsultStateEnum",
                             read_only=True)
    sstr_modality = serializers.ChoiceField(choices=SSTR_MODALITIES, allow_blank=True,
                                            read_only=True,
                                            help_text="Empty when no scan was named.")
    referral = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True, allow_null=True,
        help_text="The referral it became (\"refer now\"); null until then.")
    available_actions = serializers.SerializerMethodField(
        help_text="The steps you may take now (POST /econsults/{id}/{action}/).")

    class Meta:
        model = EConsult
        fields = ["id", "centre", "asked_by", "state", *econsult.SUMMARY_FIELDS[1:], "answer",
                  "answered_by", "asked_at", "answered_at", "response_hours", "closed_at",
                  "referral", "available_actions"]
        read_only_fields = fields

    def get_available_actions(self, obj: EConsult) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        return [name for name in econsult.available_steps(obj, request.user) if name != "refer"]


class EConsultCreateSerializer(serializers.Serializer):
    centre = serializers.UUIDField(help_text="The NET specialist centre to ask.")
    question = serializers.CharField(max_length=10_000,
                                     help_text="Candidacy, which scan, what labs.")
    primary_site = serializers.ChoiceField(choices=TumourProfile.PrimarySite.choices)
    grade = serializers.ChoiceField(choices=TumourProfile.Grade.choices,
                                    default=TumourProfile.Grade.UNKNOWN)
    ki67_percent = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=0,
                                            max_value=100, required=False, allow_null=True,
                                            default=None)
    sstr_imaging = serializers.BooleanField(default=False, help_text="SSTR imaging done.")
    sstr_modality = serializers.ChoiceField(choices=SSTR_MODALITIES, required=False,
                                            allow_blank=True, default="")
    sstr_imaging_on = PastDateField(required=False, allow_null=True, default=None,
                                    help_text="Required when sstr_imaging is true.")
    sstr_positive = serializers.BooleanField(required=False, allow_null=True, default=None)
    current_ssa = serializers.ChoiceField(choices=Patient.SSA.choices, default=Patient.SSA.NONE)
    labs_on = PastDateField(required=False, allow_null=True, default=None)
    labs = serializers.CharField(required=False, allow_blank=True, default="",
                                 max_length=10_000, help_text="Recent labs, free text.")


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=econsult.ANSWER_MAX_CHARS,
                                   help_text="The centre's answer to the question.")


class EConsultReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   max_length=2000, help_text="An optional note.")


class EConsultFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=EConsultState.choices, required=False,
                                    help_text="Only e-consults in this state.")


class BulletinSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    centre = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    author = UserRefSerializer(read_only=True)
    current = serializers.SerializerMethodField(help_text="Shown today.")

    class Meta:
        model = Bulletin
        fields = ["id", "centre", "author", "kind", "title", "body", "published_at", "ends_on",
                  "current"]
        read_only_fields = fields

    def get_current(self, obj: Bulletin) -> bool:
        return obj.pk in self.context.get("current_ids", set())


# --- viewsets -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="E-consults you may see (your own, or those sent to your centre)",
                       parameters=[EConsultFilterSerializer],
                       responses={200: EConsultSerializer(many=True), 400: INVALID}),
    retrieve=extend_schema(summary="One e-consult (audited)",
                           responses={200: EConsultSerializer, 404: NOT_FOUND}),
    create=extend_schema(summary="Ask a NET centre a question before a referral "
                                 "(referring oncologists)",
                         request=EConsultCreateSerializer,
                         responses={201: EConsultSerializer, 400: INVALID, 403: FORBIDDEN}),
)
class EConsultViewSet(NetcareViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      mixins.CreateModelMixin, viewsets.GenericViewSet):
    """E-consults before a referral, newest first. `answer`, `close` and `withdraw` are POST
    actions; `available_actions` lists those you may take now."""

    queryset = EConsult.objects.all()
    serializer_class = EConsultSerializer

    def get_permissions(self):
        if self.action == "create":
            return [IsAuthenticated(), IsReferringOncologist()]
        return super().get_permissions()

    def get_queryset(self):
        queryset = econsult.econsults_for(self.request.user)
        if self.action == "list":
            filters = EConsultFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            if "state" in filters.validated_data:
                queryset = queryset.filter(state=filters.validated_data["state"])
        return queryset

    def get_object(self):
        obj = econsult.econsult_for(self.request.user, self.kwargs[self.lookup_url_kwarg])
        self.check_object_permissions(self.request, obj)
        return obj

    def listed_patient_ids(self, objects) -> list:
        """The patients of the referrals the listed e-consults became (joined in: no query)."""
        return [obj.referral.patient.external_id for obj in objects if obj.referral_id]

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        self.record_view(obj)
        return self.respond(EConsultSerializer, obj)

    def create(self, request, *args, **kwargs):
        body = EConsultCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        centre = Centre.objects.filter(external_id=data.pop("centre"),
                                       kind=Centre.Kind.SPECIALIST_CENTRE).first()
        if centre is None:
            raise ValidationError({"centre": "No such NET specialist centre."})
        obj = econsult.econsult_ask(actor=request.user, centre=centre, data=data)
        return self.respond(EConsultSerializer, obj, status_code=status.HTTP_201_CREATED)

    def take_step(self, request, name: str):
        obj = self.get_object()  # first: outside the scope is a 404 whatever the body
        body = (AnswerSerializer if name == "answer" else EConsultReasonSerializer)(
            data=request.data)
        body.is_valid(raise_exception=True)
        econsult.econsult_transition(econsult=obj, name=name, actor=request.user,
                                     **body.validated_data)
        return self.respond(EConsultSerializer, self.get_object())


def _step_action(name: str):
    """The POST action `/econsults/{id}/<name>/`."""
    step = econsult.STEPS[name]

    def take(self, request, *args, **kwargs):
        return self.take_step(request, name)

    take.__name__ = name
    take.__doc__ = f"{step.label[:1].upper()}{step.label[1:]}."
    schema = extend_schema(
        summary=take.__doc__, operation_id=f"v1_econsults_{name}",
        request=AnswerSerializer if name == "answer" else EConsultReasonSerializer,
        responses={200: EConsultSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND,
                   409: CONFLICT},
    )
    return schema(action(detail=True, methods=["post"], url_path=name, url_name=name)(take))


for _name in ("answer", "close", "withdraw"):
    setattr(EConsultViewSet, _name, _step_action(_name))


@extend_schema_view(
    list=extend_schema(summary="Bulletins you may read, newest first",
                       responses={200: BulletinSerializer(many=True)}),
    retrieve=extend_schema(summary="One bulletin",
                           responses={200: BulletinSerializer, 404: NOT_FOUND}),
)
class BulletinViewSet(NetcareViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    """Bulletins of NET centres to their referring network: a referring oncologist reads those
    of the centres in their practice's network, a centre's team all of its own. `current` says
    whether it is shown today. Bulletins name no patient."""

    queryset = Bulletin.objects.all()
    serializer_class = BulletinSerializer
    audit_lists = False  # no patient data

    def get_queryset(self):
        return bulletins.bulletins_for(self.request.user)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False) or "request" not in context:
            return context
        context["current_ids"] = set(bulletins.current_bulletins(self.request.user)
                                     .values_list("pk", flat=True))
        return context

    def get_object(self):
        obj = bulletins.bulletin_for(self.request.user, self.kwargs[self.lookup_url_kwarg])
        self.check_object_permissions(self.request, obj)
        return obj

    def retrieve(self, request, *args, **kwargs):
        return self.respond(BulletinSerializer, self.get_object())
