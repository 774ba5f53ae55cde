"""`/api/v1/ssa-injections/`: somatostatin analogue injections of the patients you may see.

A list (optionally of one `?patient=`), one injection, and recording a new one through
:func:`prrt.injections.ssa_injection_record` (the centre's team or the patient's referring or
primary oncologist). A patient outside your scope is a 404; every 400 names its field.
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets

from netcare import access
from netcare.api import INVALID, NOT_FOUND, NamedChoiceField, PastDateTimeField
from patients.models import Patient
from prrt.api.base import PrrtViewMixin
from prrt.injections import ssa_injection_record
from prrt.models import SSAInjection

AGENTS = [(value, label) for value, label in Patient.SSA.choices if value != Patient.SSA.NONE]


def _agent_field(**kwargs) -> NamedChoiceField:
    """The drug, one named enum in the schema for reads and writes alike."""
    return NamedChoiceField(AGENTS, component="SSAInjectionAgentEnum", **kwargs)


def _uuid_ref(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="external_id", read_only=True, **kwargs)


class SSAInjectionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="external_id", read_only=True)
    patient = _uuid_ref()
    agent = _agent_field(read_only=True)
    recorded_by = _uuid_ref(help_text="Who entered it.")

    class Meta:
        model = SSAInjection
        fields = ["id", "patient", "agent", "given_at", "dose_mg", "given_by", "place",
                  "recorded_by", "recorded_at"]
        read_only_fields = fields


class SSAInjectionCreateSerializer(serializers.Serializer):
    patient = serializers.UUIDField(help_text="The patient's id.")
    agent = _agent_field(help_text="The somatostatin analogue given.")
    given_at = PastDateTimeField(help_text="When it was given, with time zone; not in the "
                                           "future.")
    dose_mg = serializers.DecimalField(max_digits=6, decimal_places=1, min_value=Decimal("0.1"),
                                       required=False, allow_null=True, default=None,
                                       help_text="The dose in mg (30 for octreotide LAR 30 mg).")
    given_by = serializers.CharField(max_length=120, required=False, allow_blank=True,
                                     default="", help_text="Who gave it (a name or a service).")
    place = serializers.CharField(max_length=120, required=False, allow_blank=True, default="",
                                  help_text="Where it was given.")


class SSAInjectionFilterSerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False, help_text="Only this patient's injections.")


@extend_schema_view(
    list=extend_schema(summary="SSA injections of the patients you may see",
                       parameters=[SSAInjectionFilterSerializer],
                       responses={200: SSAInjectionSerializer(many=True), 400: INVALID},
                       description="Latest first. Filtered to one `patient`, the read is "
                                   "audited as a view of that patient's record."),
    retrieve=extend_schema(summary="One SSA injection (audited)",
                           responses={200: SSAInjectionSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary="Record an SSA injection (the centre's team, or the patient's oncologists)",
        request=SSAInjectionCreateSerializer,
        responses={201: SSAInjectionSerializer, 400: INVALID, 404: NOT_FOUND},
        description="A long-acting injection (octreotide LAR, lanreotide) also moves the "
                    "patient's `last_long_acting_ssa_on` to its day at the centre when that "
                    "is later."),
)
class SSAInjectionViewSet(PrrtViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Somatostatin analogue injections given outside an infusion day (maintenance LAR, or an
    injection before the course), latest first."""

    queryset = SSAInjection.objects.all()
    serializer_class = SSAInjectionSerializer

    def get_queryset(self):
        return access.scope_to_patients(
            self.request.user,
            SSAInjection.objects.select_related("patient", "recorded_by"),
        ).order_by("-given_at", "-id")

    def list(self, request, *args, **kwargs):
        filters = SSAInjectionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if "patient" in filters.validated_data:
            patient = (access.visible_patients(request.user)
                       .filter(external_id=filters.validated_data["patient"]).first())
            queryset = queryset.filter(patient=patient) if patient else queryset.none()
            if patient is not None:
                self.record_view(patient)
                self.audit_lists = False  # audited as a view of that one patient's record
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(
            SSAInjectionSerializer(page, many=True, context=self.get_serializer_context()).data)

    def retrieve(self, request, *args, **kwargs):
        injection = self.get_object()
        self.record_view(injection)
        return self.respond(SSAInjectionSerializer, injection)

    def create(self, request, *args, **kwargs):
        data = self.parse(SSAInjectionCreateSerializer)
        patient = access.get_patient_for(request.user, data.pop("patient"))
        injection = ssa_injection_record(actor=request.user, patient=patient, **data)
        return self.respond(SSAInjectionSerializer, injection,
                            status_code=status.HTTP_201_CREATED)
