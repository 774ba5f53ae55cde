"""REST API for patients and their clinical record (`/api/v1/patients/…`).

Views only parse, call netcare.access and patients.services, and shape the answer; the rules
(lab units, derived tumour grade, eligibility) live in the services and rules.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated

from netcare import access
from netcare.api import (
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    IsReferringOncologist,
    NetcareViewMixin,
    PatientScopedMixin,
    RecordSerializer,
)
from netcare.clock import centre_today
from netcare.models import Centre, Role, User
from patients import records, services
from patients.models import (
    AdverseEvent,
    ImagingStudy,
    LabResult,
    Patient,
    PerformanceStatus,
    TumourProfile,
)
from rules import Severity


def _uuid_ref(**kwargs) -> serializers.SlugRelatedField:
    """A reference to another object by its external_id."""
    return serializers.SlugRelatedField(slug_field="external_id", **kwargs)


# --- serializers ----------------------------------------------------------------------------


class PatientSerializer(RecordSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    centre = _uuid_ref(read_only=True, help_text="The treating NET specialist centre.")
    referring_oncologist = _uuid_ref(read_only=True)
    primary_oncologist = _uuid_ref(
        queryset=User.objects.filter(role=Role.REFERRING_ONCOLOGIST, is_active=True),
        allow_null=True, required=False,
        help_text="The oncologist near home, when not the referring oncologist.",
    )

    class Meta:
        model = Patient
        fields = [
            "id", "mrn", "centre", "referring_oncologist", "primary_oncologist", "given_name",
            "family_name", "date_of_birth", "sex", "weight_kg", "email", "phone",
            "reminder_consent", "pregnancy", "current_ssa", "last_long_acting_ssa_on",
            "progression_on_ssa", "created_at", "updated_at",
        ]
        read_only_fields = ["mrn", "created_at", "updated_at"]


class PatientCreateSerializer(PatientSerializer):
    centre = _uuid_ref(queryset=Centre.objects.all(),
                       help_text="The NET specialist centre that will treat the patient.")


class TumourProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = TumourProfile
        fields = [
            "primary_site", "embryonic_origin", "differentiation", "ki67_percent",
            "mitoses_per_2mm2", "grade", "grade_explanation", "stage",
            "metastatic_or_unresectable", "functional_syndrome", "extensive_liver_disease",
            "extensive_bone_disease", "updated_at",
        ]
        read_only_fields = ["grade", "grade_explanation", "updated_at"]


class ImagingStudySerializer(RecordSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    entered_by = _uuid_ref(read_only=True)

    class Meta:
        model = ImagingStudy
        fields = ["id", "modality", "performed_on", "sstr_positive", "uptake_score", "report",
                  "entered_by", "created_at"]
        read_only_fields = ["created_at"]


class LabResultSerializer(RecordSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    entered_by = _uuid_ref(read_only=True)

    class Meta:
        model = LabResult
        fields = ["id", "analyte", "value", "unit", "uln", "lln", "collected_at", "entered_by",
                  "entered_at", "entered_in_error", "error_reason", "marked_in_error_at"]
        read_only_fields = ["entered_at", "entered_in_error", "error_reason",
                            "marked_in_error_at"]
        # Left out, the unit is empty: the rules' units then accept it only for a plain number
        # (INR) and otherwise refuse it, naming `unit`.
        extra_kwargs = {"unit": {"default": ""}}


class LabInErrorSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the result is wrong.")


class PerformanceStatusSerializer(RecordSerializer):
    entered_by = _uuid_ref(read_only=True)

    class Meta:
        model = PerformanceStatus
        fields = ["scale", "value", "assessed_on", "assessed_by", "entered_by"]


class AdverseEventSerializer(RecordSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    reported_by = _uuid_ref(read_only=True)

    class Meta:
        model = AdverseEvent
        fields = ["id", "term", "category", "ctcae_grade", "onset_on", "related_to_treatment",
                  "description", "reported_by", "reported_at"]
        read_only_fields = ["reported_at"]


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=[str(s) for s in Severity])
    reason = serializers.CharField()
    values = serializers.DictField(child=serializers.CharField())
    thresholds = serializers.DictField(child=serializers.CharField())


class CriterionSourceSerializer(serializers.Serializer):
    what = serializers.CharField(help_text="The value read (e.g. Platelets 180 ×10⁹/L).")
    date = serializers.DateField(allow_null=True, help_text="The date of the record.")
    source = serializers.CharField(help_text="Where it came from and who entered it.")
    record = serializers.CharField(allow_blank=True, help_text="The record (type:id), if any.")
    lab_id = serializers.CharField(allow_blank=True, help_text="The lab result's id, if any.")


class CriterionSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField(help_text="The Table 1 criterion.")
    passed = serializers.BooleanField(allow_null=True,
                                      help_text="Null: not evaluated (a value is missing).")
    value = serializers.CharField(allow_blank=True)
    threshold = serializers.CharField(allow_blank=True)
    severity = serializers.CharField(allow_null=True, help_text="Its most severe finding.")
    findings = FindingSerializer(many=True)
    sources = CriterionSourceSerializer(many=True)


class EligibilitySerializer(serializers.Serializer):
    patient = serializers.UUIDField()
    date = serializers.DateField(help_text="The day the rules were evaluated for.")
    findings = FindingSerializer(many=True, help_text="Every flag raised, most severe first; "
                                 "none means nothing to flag.")
    criteria = CriterionSerializer(many=True, help_text="Every Table 1 criterion, in order, "
                                   "with its value, date and source, passed or not.")


# --- viewsets -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Patients you may see"),
    retrieve=extend_schema(summary="One patient (audited)", responses={200: PatientSerializer,
                                                                     404: NOT_FOUND}),
    create=extend_schema(
        summary="Register a patient (referring oncologists)", request=PatientCreateSerializer,
        responses={201: PatientSerializer, 400: INVALID, 403: FORBIDDEN},
    ),
    update=extend_schema(summary="Change a patient's details",
                         responses={200: PatientSerializer, 400: INVALID, 404: NOT_FOUND}),
    partial_update=extend_schema(summary="Change some of a patient's details",
                                 responses={200: PatientSerializer, 400: INVALID,
                                            404: NOT_FOUND}),
)
class PatientViewSet(NetcareViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Patients you may see: your centre's, or those you referred or look after near home."""

    queryset = Patient.objects.all()
    serializer_class = PatientSerializer
    patient_path = ""

    def get_permissions(self):
        if self.action == "create":
            return [IsAuthenticated(), IsReferringOncologist()]
        return super().get_permissions()

    def get_serializer_class(self):
        return PatientCreateSerializer if self.action == "create" else PatientSerializer

    def get_queryset(self):
        return (access.visible_patients(self.request.user)
                .select_related("centre", "referring_oncologist", "primary_oncologist"))

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        self.record_view(patient)
        return self.respond(PatientSerializer, patient)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        centre = data.pop("centre")
        if not centre.is_specialist_centre:
            raise ValidationError({"centre": "Patients are registered with a NET specialist "
                                             "centre."})
        patient = services.patient_register(actor=request.user, centre=centre,
                                            referring_oncologist=request.user, data=data)
        return self.respond(PatientSerializer, patient, status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        patient = self.get_object()
        serializer = self.get_serializer(patient, data=request.data,
                                         partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        patient = services.patient_update(actor=request.user, patient=patient,
                                          data=dict(serializer.validated_data))
        return self.respond(PatientSerializer, patient)

    @extend_schema(summary="Eligibility findings for PRRT today (audited)",
                   responses={200: EligibilitySerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def eligibility(self, request, *args, **kwargs):
        patient = self.get_object()
        today = centre_today(patient.centre)
        review = records.eligibility_review(patient, today=today)
        self.record_view(patient)
        return self.respond(EligibilitySerializer, {
            "patient": patient.external_id, "date": today,
            "findings": [finding.as_dict() for finding in review.findings],
            "criteria": review.checklist["criteria"],
        })


class TumourProfileViewSet(PatientScopedMixin, viewsets.GenericViewSet):
    """The patient's one tumour profile; its grade is derived by the rules, never typed."""

    queryset = TumourProfile.objects.all()
    serializer_class = TumourProfileSerializer

    def get_object(self):
        """The patient's profile: the route names the patient, not the profile (also what
        OPTIONS asks for when it describes PUT)."""
        profile = self.get_queryset().first()
        if profile is None:
            raise Http404("No tumour profile yet.")
        self.check_object_permissions(self.request, profile)
        return profile

    @extend_schema(summary="The tumour profile (audited)",
                   responses={200: TumourProfileSerializer, 404: NOT_FOUND})
    def retrieve(self, request, *args, **kwargs):
        return self.respond(TumourProfileSerializer, self.get_object())

    @extend_schema(
        summary="Record or replace the tumour profile (the grade is derived)",
        responses={200: TumourProfileSerializer,
                   201: OpenApiResponse(TumourProfileSerializer, description="Created."),
                   400: INVALID, 404: NOT_FOUND},
    )
    def update(self, request, *args, **kwargs):
        patient = self.get_patient()
        existed = self.get_queryset().exists()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = services.tumour_profile_save(actor=request.user, patient=patient,
                                               data=dict(serializer.validated_data))
        return self.respond(TumourProfileSerializer, profile,
                            status_code=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


class PatientRecordViewSet(PatientScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """One kind of a patient's clinical records, newest first; added to through a service."""

    def add(self, *, actor, patient, **fields):  # pragma: no cover - each subclass sets it
        raise NotImplementedError

    def create(self, request, *args, **kwargs):
        patient = self.get_patient()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.add(actor=request.user, patient=patient, **serializer.validated_data)
        return self.respond(self.get_serializer_class(), obj,
                            status_code=status.HTTP_201_CREATED)


def _record_schema(serializer, noun: str):
    """OpenAPI summaries and responses for the actions a record viewset has."""
    schemas = {
        "list": extend_schema(summary=f"The patient's {noun} (audited)",
                              responses={200: serializer(many=True), 404: NOT_FOUND}),
        "retrieve": extend_schema(summary=f"One of the patient's {noun} (audited)",
                                  responses={200: serializer, 404: NOT_FOUND}),
        "create": extend_schema(summary=f"Add to the patient's {noun}",
                                responses={201: serializer, 400: INVALID, 404: NOT_FOUND}),
    }

    def decorate(viewset):
        present = {name: schema for name, schema in schemas.items() if hasattr(viewset, name)}
        return extend_schema_view(**present)(viewset)

    return decorate


@_record_schema(ImagingStudySerializer, "imaging studies")
class ImagingStudyViewSet(PatientRecordViewSet, mixins.RetrieveModelMixin):
    """SSTR imaging (PET, scintigraphy) and CT/MRI studies, newest first."""

    queryset = ImagingStudy.objects.select_related("entered_by")
    serializer_class = ImagingStudySerializer

    def add(self, **kwargs):
        return services.imaging_add(**kwargs)


@_record_schema(LabResultSerializer, "lab results")
class LabResultViewSet(PatientRecordViewSet, mixins.RetrieveModelMixin):
    """Lab results, validated by the rules' units; never edited, only marked entered in error."""

    queryset = LabResult.objects.select_related("entered_by")
    serializer_class = LabResultSerializer

    def add(self, **kwargs):
        return services.lab_result_add(**kwargs)

    @extend_schema(summary="Mark a lab result as entered in error", request=LabInErrorSerializer,
                   responses={200: LabResultSerializer, 400: INVALID, 404: NOT_FOUND})
    @action(detail=True, methods=["post"], url_path="mark-in-error")
    def mark_in_error(self, request, *args, **kwargs):
        result = self.get_object()
        serializer = LabInErrorSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.lab_result_mark_in_error(
            actor=request.user, result=result, reason=serializer.validated_data["reason"])
        return self.respond(LabResultSerializer, result)


@_record_schema(PerformanceStatusSerializer, "performance status assessments")
class PerformanceStatusViewSet(PatientRecordViewSet):
    """ECOG and Karnofsky assessments, newest first."""

    queryset = PerformanceStatus.objects.select_related("entered_by")
    serializer_class = PerformanceStatusSerializer

    def add(self, **kwargs):
        return services.performance_status_add(**kwargs)


@_record_schema(AdverseEventSerializer, "adverse events")
class AdverseEventViewSet(PatientRecordViewSet, mixins.RetrieveModelMixin):
    """Adverse events (CTCAE graded); reporting one notifies the treating team."""

    queryset = AdverseEvent.objects.select_related("reported_by")
    serializer_class = AdverseEventSerializer

    def add(self, **kwargs):
        return services.adverse_event_report(**kwargs)
