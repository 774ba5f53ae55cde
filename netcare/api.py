"""Shared pieces of the NETcare REST API: error translation, UUID lookups and patient scoping.

Every viewset of `/api/v1/` builds on :class:`NetcareViewMixin`, so it:

- addresses objects by their ``external_id`` UUID (never the integer key) and calls it ``id``;
- scopes every read and write through :mod:`netcare.access` (outside the scope is a 404);
- turns the domain's errors into HTTP answers with :func:`exception_handler`: a refused workflow
  transition keeps its status (409 wrong state, 403 wrong role, 400 bad input) with
  ``{"detail": ..., "field": ...}``, and a django ``ValidationError`` becomes a 400 that names the
  field, ``{"unit": ["..."]}``, like the serializers' own errors;
- takes dates and times through one set of fields, shared by every app: :class:`PlanDateField`
  and :class:`AwareDateTimeField` (1900 to two years ahead), :class:`PastDateField` and
  :class:`PastDateTimeField` (1900 to now), every time with its time zone, and
  :class:`RecordSerializer` for model serializers of what happened.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from netcare import access, audit
from netcare.clock import past_date_error, past_moment_error, plan_date_error, user_today
from netcare.models import Role
from netcare.workflow import TransitionError
from rules import RulesInputError


def validation_error_body(exc: DjangoValidationError) -> dict[str, list[str]]:
    """``{field: [messages]}`` for a django ValidationError, as DRF shapes its own."""
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if hasattr(exc, "error_dict"):
        return {
            (non_field if field == NON_FIELD_ERRORS else field): list(messages)
            for field, messages in exc.message_dict.items()
        }
    return {non_field: list(exc.messages)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus NETcare's workflow and validation errors.

    Register it with ``REST_FRAMEWORK["EXCEPTION_HANDLER"] = "netcare.api.exception_handler"``;
    the viewsets here also use it directly (:meth:`NetcareViewMixin.get_exception_handler`).
    """
    if isinstance(exc, TransitionError):
        set_rollback()
        return Response({"detail": exc.message, "field": exc.field}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(validation_error_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RulesInputError):
        set_rollback()
        field = exc.field.rsplit(".", 1)[-1] or api_settings.NON_FIELD_ERRORS_KEY
        return Response({field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


# --- OpenAPI descriptions of the error bodies ------------------------------------------------


class RefusalSerializer(serializers.Serializer):
    """A refusal: `detail` says why; `field` names the input at fault, when one is."""

    detail = serializers.CharField()
    field = serializers.CharField(allow_null=True, required=False)


FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "Invalid input: each key names a field (or `non_field_errors`) and lists "
                   "what is wrong with it.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"unit": ["Unknown unit 'mg' for platelets."]},
}

NOT_FOUND = OpenApiResponse(RefusalSerializer, description="Unknown, or outside your scope.")
FORBIDDEN = OpenApiResponse(RefusalSerializer, description="Your role may not do this.")
CONFLICT = OpenApiResponse(RefusalSerializer, description="Not possible in the current state.")
INVALID = OpenApiResponse(FIELD_ERRORS_SCHEMA, description="Invalid input; names the field.")
REFUSED = OpenApiResponse(
    {"oneOf": [
        {"type": "object", "properties": {"detail": {"type": "string"},
                                          "field": {"type": "string", "nullable": True}},
         "required": ["detail"]},
        FIELD_ERRORS_SCHEMA,
    ]},
    description="Missing or bad input (a refusal naming the `field`, or field errors).",
)


class NamedChoiceField(serializers.ChoiceField):
    """A choice field documented as one named OpenAPI enum wherever it appears (a referral's
    state, and the from/to states of its timeline, share ``ReferralStateEnum``)."""

    def __init__(self, choices, *, component: str, **kwargs) -> None:
        self.component = component
        super().__init__(choices=choices, **kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField

    def get_name(self) -> str:
        return self.target.component

    def map_serializer_field(self, auto_schema, direction):
        choices = self.target.choices
        return {
            "type": "string",
            "enum": list(choices),
            "description": "\n".join(f"* `{value}` - {label}" for value, label in choices.items()),
        }


# --- dates and times: one definition for every app ------------------------------------------


def _today_for(field: serializers.Field) -> dt.date:
    """Today for the requesting user (their centre's day), or the server's without a request."""
    request = field.context.get("request")
    user = getattr(request, "user", None)
    return user_today(user) if user is not None else timezone.localdate()


class PlanDateField(serializers.DateField):
    """A planned day (a first dose, a booking, a snooze): from 1900 to two years ahead."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        error = plan_date_error(day, today=_today_for(self))
        if error:
            raise serializers.ValidationError(error, code="out_of_range")
        return day


class PastDateField(serializers.DateField):
    """The day something happened (a birth, a scan, an onset): from 1900 to today."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        error = past_date_error(day, today=_today_for(self))
        if error:
            raise serializers.ValidationError(error, code="out_of_range")
        return day


class AwareDateTimeField(serializers.DateTimeField):
    """A moment given with its time zone; a naive time is refused rather than guessed. Planned
    moments (an appointment, a consult) run from 1900 to two years ahead; see
    :class:`PastDateTimeField` for what happened."""

    default_error_messages = {
        "naive": "Give the time with its time zone, e.g. 2025-03-03T10:00:00+00:00.",
    }

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)

    def bounds_error(self, moment: dt.datetime) -> str:
        return plan_date_error(moment.astimezone(dt.UTC).date(), today=_today_for(self),
                               what="The time")

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        error = self.bounds_error(moment)
        if error:
            raise serializers.ValidationError(error, code="out_of_range")
        return moment


class PastDateTimeField(AwareDateTimeField):
    """The moment something happened (a lab drawn, an infusion, an injection): with its time
    zone, from 1900, not in the future (a few minutes' clock skew allowed)."""

    def bounds_error(self, moment: dt.datetime) -> str:
        return past_moment_error(moment, what="given")


class RecordSerializer(serializers.ModelSerializer):
    """A model serializer of a record of what happened: its model's date fields become
    :class:`PastDateField` and its datetime fields :class:`PastDateTimeField` (read-only ones,
    such as ``created_at``, are only ever written out)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: PastDateField,
        models.DateTimeField: PastDateTimeField,
    }


# --- permissions ----------------------------------------------------------------------------


class IsReferringOncologist(BasePermission):
    message = "Only a referring oncologist can do this."

    def has_permission(self, request, view) -> bool:
        return getattr(request.user, "role", None) == Role.REFERRING_ONCOLOGIST


# --- pagination ---------------------------------------------------------------------------


class NetcarePagination(LimitOffsetPagination):
    """``?limit=&offset=`` pages (``count``, ``next``, ``previous``, ``results``) whose count
    costs at most COUNT_AHEAD rows past the page instead of the whole list.

    ``count`` is exact while the list ends within COUNT_AHEAD rows after the page asked for;
    beyond that it is that bound (offset + limit + COUNT_AHEAD), so ``next`` is there whenever
    more rows are, and a client that follows ``next`` reaches the end. The count reads no more
    than that many keys, unordered: a list of 160,000 care tasks costs well under a millisecond
    instead of tens, and the page itself is one query as before.
    """

    COUNT_AHEAD = 1000
    MAX_ROWS = 2**63 - 1  # PostgreSQL's largest LIMIT: a huge limit or offset is not a 500
    max_limit = 1000

    def get_limit(self, request):
        """``?limit=``: a whole number from 1 to max_limit, else a 400 naming ``limit``."""
        raw = request.query_params.get(self.limit_query_param, "").strip()
        if not raw:
            return self.default_limit
        if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(self.max_limit))
                and 1 <= int(raw) <= self.max_limit):
            raise serializers.ValidationError(
                {self.limit_query_param: [f"Give a whole number from 1 to {self.max_limit}."]})
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.offset = self.get_offset(request)  # the bound of the count depends on it
        self.count = self.get_count(queryset)
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        if self.count == 0 or self.offset > self.count:
            return []
        return list(queryset[self.offset:min(self.offset + self.limit, self.MAX_ROWS)])

    def get_count(self, queryset) -> int:
        bound = min(self.offset + self.limit + self.COUNT_AHEAD, self.MAX_ROWS)
        if hasattr(queryset, "order_by"):
            return queryset.order_by()[:bound].count()
        return len(queryset[:bound])

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"]["description"] = (
            f"How many there are: exact up to {self.COUNT_AHEAD} past this page (offset + limit "
            f"+ {self.COUNT_AHEAD}); a longer list reports that number. Follow `next` to the end.")
        return response


# --- viewset bases --------------------------------------------------------------------------


class NetcareViewMixin:
    """UUID lookups, access-scoped objects and NETcare's error translation for one viewset.

    `patient_path` is the lookup from the viewset's model to its Patient ("" for Patient).
    """

    lookup_field = "external_id"
    lookup_url_kwarg = "id"
    lookup_value_converter = "uuid"
    patient_path = "patient"
    pagination_class = NetcarePagination

    def get_exception_handler(self):
        return exception_handler

    def get_object(self):
        obj = access.get_object_for(
            self.request.user, self.get_queryset(), patient_path=self.patient_path,
            **{self.lookup_field: self.kwargs[self.lookup_url_kwarg]},
        )
        self.check_object_permissions(self.request, obj)
        return obj

    def record_view(self, obj) -> None:
        """Audit that the requesting user read `obj` (a patient or a patient-owned record)."""
        audit.record_view(actor=self.request.user, obj=obj,
                          ip_address=audit.client_ip(self.request))

    def respond(self, serializer_class, instance, *, status_code: int = status.HTTP_200_OK,
                **kwargs) -> Response:
        context = self.get_serializer_context()
        return Response(serializer_class(instance, context=context, **kwargs).data,
                        status=status_code)


class PatientScopedMixin(NetcareViewMixin):
    """A resource nested under ``patients/<uuid:patient_id>/``.

    The patient is fetched through :func:`netcare.access.get_patient_for` first, so everything
    below a patient the user may not see is a 404, and the queryset only ever holds that
    patient's rows. Reads are audited as views of the patient record.
    """

    patient_url_kwarg = "patient_id"

    def get_patient(self):
        if not hasattr(self, "_patient"):
            self._patient = access.get_patient_for(self.request.user,
                                                   self.kwargs[self.patient_url_kwarg])
        return self._patient

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return queryset.none()
        return queryset.filter(patient=self.get_patient())

    def initial(self, request, *args, **kwargs):
        """Resolve the patient before anything else (outsiders get a 404 whatever they send)
        and audit every read as a view of the patient record."""
        super().initial(request, *args, **kwargs)
        patient = self.get_patient()
        if request.method in ("GET", "HEAD"):
            self.record_view(patient)


class UserRefSerializer(serializers.Serializer):
    """Who did something: their id, name and role."""

    id = serializers.UUIDField(source="external_id", read_only=True)
    name = serializers.SerializerMethodField()
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)

    def get_name(self, user) -> str:
        return str(user)


def filter_list(queryset, request, filter_serializer_class):
    """Apply the validated `?state=` and `?patient=` (UUID) filters of a list endpoint; bad
    values are a 400 naming the parameter."""
    filters = filter_serializer_class(data=request.query_params)
    filters.is_valid(raise_exception=True)
    data = filters.validated_data
    if "state" in data:
        queryset = queryset.filter(state=data["state"])
    if "patient" in data:
        queryset = queryset.filter(patient__external_id=data["patient"])
    return queryset
