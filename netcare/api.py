"""Shared pieces of the NETcare REST API: error translation, UUID lookups and patient scoping.

Every viewset of `/api/v1/` builds on :class:`NetcareViewMixin`, so it:

- addresses objects by their ``external_id`` UUID (never the integer key) and calls it ``id``;
- scopes every read and write through :mod:`netcare.access` (outside the scope is a 404);
- answers every error in one of two shapes, whoever raised it (:func:`exception_handler`): a
  400 is ``{"detail": "<the first message>", "field": "<the field at fault, or null>",
  "errors": {"<field>": ["<message>", ...]}}`` (component ``InvalidInput``), naming every field
  at fault, nested ones as ``items.0.value``, the rest as ``non_field_errors``; any other error
  (401, 403, 404, 405, 409, ...) is ``{"detail": ..., "field": ...}`` (component ``Error``). A
  refused workflow transition keeps its status (409 wrong state, 403 wrong role, 400 bad
  input); :class:`NetcareAutoSchema` documents these answers on every operation that can give
  them;
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
from django.http import Http404, JsonResponse
from django.utils import timezone
from django.views import defaults
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
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


def field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's error detail, however nested, as ``{field: [messages]}``: a nested serializer's or
    list's fields are named by their path (``categories.0``, ``owner.non_field_errors``), the
    errors of no field in particular are ``non_field_errors``."""
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    errors: dict[str, list[str]] = {}

    def add(key: str, message: Any) -> None:
        errors.setdefault(key or non_field, []).append(str(message))

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, dict | list | tuple):  # one entry per item of a list field
                    walk(item, f"{path}.{index}" if path else str(index))
                else:
                    add(path, item)
        else:
            add(path, value)

    walk(detail, prefix)
    return errors


def invalid_body(errors: dict[str, list[str]]) -> dict[str, Any]:
    """The one shape of every 400 of the API (component ``InvalidInput``): the first message as
    `detail`, the field it is about as `field` (null when it is about no field in particular),
    and every message by field in `errors`."""
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    errors = {field: messages for field, messages in errors.items() if messages} or {
        non_field: ["Invalid input."]}
    field = next((name for name in errors if name != non_field), None)
    first = field if field is not None else non_field
    return {"detail": errors[first][0], "field": field, "errors": errors}


def error_body(detail: Any, field: str | None = None) -> dict[str, Any]:
    """The shape of every other error (component ``Error``): what happened, and the field at
    fault when one is."""
    if isinstance(detail, dict) and "detail" in detail:
        detail = detail["detail"]
    elif isinstance(detail, dict | list):
        detail = next(iter(next(iter(field_errors(detail).values()))), "")
    return {"detail": str(detail), "field": field}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus NETcare's workflow and validation errors, every answer in NETcare's
    two error shapes (:func:`invalid_body` for a 400, :func:`error_body` otherwise).

    Register it with ``REST_FRAMEWORK["EXCEPTION_HANDLER"] = "netcare.api.exception_handler"``;
    the viewsets here also use it directly (:meth:`NetcareViewMixin.get_exception_handler`).
    """
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if isinstance(exc, TransitionError):
        set_rollback()
        if exc.status == status.HTTP_400_BAD_REQUEST:
            return Response(invalid_body({exc.field or non_field: [exc.message]}),
                            status=exc.status)
        return Response(error_body(exc.message, exc.field), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(invalid_body(validation_error_body(exc)),
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RulesInputError):
        set_rollback()
        field = exc.field.rsplit(".", 1)[-1] or non_field
        return Response(invalid_body({field: [exc.message]}), status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = invalid_body(field_errors(exc.detail))
    elif response.status_code == status.HTTP_400_BAD_REQUEST:  # a body that is not JSON
        response.data = invalid_body({non_field: [str(error_body(response.data)["detail"])]})
    else:
        response.data = error_body(response.data)
    return response


# --- Django's own error answers, as JSON under /api/ -----------------------------------------
# netcare/urls.py names these as handler400/403/404: a route no view matched (an unknown path, an
# id that is not a UUID) answers under /api/ in the API's `Error` shape, elsewhere with the page.

API_PREFIX = "/api/"


def _json_or_page(request, exception, *, status_code: int, body: dict[str, Any], page):
    if request.path.startswith(API_PREFIX):
        return JsonResponse(body, status=status_code)
    return page(request, exception)


def page_not_found(request, exception):
    return _json_or_page(request, exception, status_code=status.HTTP_404_NOT_FOUND,
                         body=error_body("Not found."), page=defaults.page_not_found)


def bad_request(request, exception):
    return _json_or_page(
        request, exception, status_code=status.HTTP_400_BAD_REQUEST,
        body=invalid_body({api_settings.NON_FIELD_ERRORS_KEY: ["Bad request."]}),
        page=defaults.bad_request)


def permission_denied(request, exception):
    return _json_or_page(request, exception, status_code=status.HTTP_403_FORBIDDEN,
                         body=error_body("You do not have permission to do this."),
                         page=defaults.permission_denied)


# --- OpenAPI descriptions of the error bodies ------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """An error: `detail` says what happened; `field` names the input at fault, when one is."""

    detail = serializers.CharField()
    field = serializers.CharField(allow_null=True, required=False,
                                  help_text="The input at fault, or null.")


class InvalidInputSerializer(serializers.Serializer):
    """Invalid input (every 400): `field` names the first field at fault and `errors` every
    one, by its name in the request (`categories.0` for an item of a list, `non_field_errors`
    for what concerns no field in particular)."""

    detail = serializers.CharField(help_text="The first message, to show as it is.")
    field = serializers.CharField(allow_null=True,
                                  help_text="The field `detail` is about; null when it is about "
                                            "no field in particular.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Every message, by field (query parameters and body fields alike).")


# Kept under its earlier name for the modules that document a refusal with it.
RefusalSerializer = ErrorSerializer

NOT_SIGNED_IN = OpenApiResponse(ErrorSerializer,
                                description="Not signed in, or the token is not valid.")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Unknown, or outside your scope.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Your role may not do this.")
CONFLICT = OpenApiResponse(ErrorSerializer, description="Not possible in the current state.")
UNSUPPORTED = OpenApiResponse(ErrorSerializer,
                              description="A body in a media type the API does not read.")
INVALID = OpenApiResponse(InvalidInputSerializer, description="Invalid input; names the field.")
REFUSED = INVALID  # one 400 shape, whether a serializer or the workflow found the fault


class NetcareAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the error answers each operation can give documented
    where the view did not already: 400 (``InvalidInput``) where there is a body or a query to
    get wrong, 401 and 403 everywhere (every route needs a signed-in user), 404 where the path
    names an object, 415 where there is a body."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        defaults = {
            "400": INVALID if has_body or any(p["in"] == "query" for p in parameters) else None,
            "401": NOT_SIGNED_IN,
            "403": OpenApiResponse(ErrorSerializer, description=(
                "Not allowed: signed out (a session), not for your role, or a second factor "
                "to verify first.")),
            "404": NOT_FOUND if any(p["in"] == "path" for p in parameters) else None,
            "415": UNSUPPORTED if has_body else None,
        }
        responses = operation.setdefault("responses", {})
        for code, response in defaults.items():
            if response is not None and code not in responses:
                responses[code] = self._get_response_for_code(response, code,
                                                               media_types=["application/json"])
        operation["responses"] = dict(sorted(responses.items()))
        return operation


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

    def get_offset(self, request):
        """``?offset=``: a whole number from 0 (the default), else a 400 naming ``offset``; past
        the end, however far, is an empty page."""
        raw = request.query_params.get(self.offset_query_param, "").strip()
        if not raw:
            return 0
        if not (raw.isascii() and raw.isdigit()):
            raise serializers.ValidationError(
                {self.offset_query_param: ["Give a whole number from 0."]})
        return int(raw) if len(raw) < 20 else self.MAX_ROWS  # no need to read 10**40

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
                  self.offset_query_param: {"minimum": 0}}
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters

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
    # Top-level lists name the patients they returned in the audit trail (see list()).
    audit_lists = True

    def get_exception_handler(self):
        return exception_handler

    def get_object(self):
        if self.lookup_url_kwarg not in self.kwargs:
            # A route that names no object (OPTIONS describing a PUT asks anyway): none here.
            raise Http404
        obj = access.get_object_for(
            self.request.user, self.get_queryset(), patient_path=self.patient_path,
            **{self.lookup_field: self.kwargs[self.lookup_url_kwarg]},
        )
        self.check_object_permissions(self.request, obj)
        return obj

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._listed = page
        return page

    def get_paginated_response(self, data):
        """The page of a list, with one audit row naming every patient whose data it returned
        (a list nested under one patient or record audits that read as a view instead)."""
        listed = getattr(self, "_listed", None)
        if self.audit_lists and listed:
            audit.record_list(request=self.request, what=f"api:{self.basename}-list",
                              patient_ids=self.listed_patient_ids(listed))
        return super().get_paginated_response(data)

    def listed_patient_ids(self, objects) -> list:
        """The public ids of the patients of `objects`: read off the rows when the page joined
        the patient in (no query), else in one query whatever the page size."""
        if not self.patient_path:
            return [obj.external_id for obj in objects]
        names = self.patient_path.split("__")
        ids = []
        for obj in objects:
            target = obj
            for name in names:
                if not type(target)._meta.get_field(name).is_cached(target):  # noqa: SLF001
                    model = type(objects[0])
                    return list(model.objects.filter(pk__in=[o.pk for o in objects])
                                .values_list(f"{self.patient_path}__external_id", flat=True))
                target = getattr(target, name)
            ids.append(target.external_id)
        return ids

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
    audit_lists = False  # every read is audited as a view of the one patient

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
