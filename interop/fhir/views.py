"""The FHIR R4 endpoints (``application/fhir+json``), mounted at ``/fhir/R4/``.

DRF views for its authentication (people by their session, registered systems by an OAuth2
bearer token with the ``fhir.read`` scope, ``labs.write`` to send results), answering with
fhir.resources models serialised as JSON. Everything a client gets wrong is an OperationOutcome
(400 naming the element or parameter, 401/403, 404, 405, 406, 415), never an HTML page; reads
are scoped by netcare.access and audited as views of each patient record shown.
"""

from __future__ import annotations

import base64
import logging
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.urls import reverse
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView, set_rollback

from interop import auth
from interop.fhir import documents, inbound, reads
from interop.fhir.capability import capability_statement
from interop.fhir.errors import FhirError, Issue, invalid, not_found, outcome
from interop.fhir.responses import FHIR_JSON, fhir_response
from interop.fhir.search import JSON_FORMATS, moment_range, parse
from netcare import audit
from netcare.api import validation_error_body

logger = logging.getLogger(__name__)

class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON


def outcome_response(status: int, issues: list[Issue], headers: dict | None = None):
    return fhir_response(outcome(issues), status=status, headers=headers)


_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
                405: "not-supported", 406: "not-supported", 409: "conflict", 415: "not-supported",
                429: "throttled"}


class FhirJSONParser(JSONParser):
    media_type = FHIR_JSON


class FhirView(APIView):
    """Base of every FHIR endpoint: JSON only, errors as OperationOutcomes, out of the OpenAPI
    schema of /api/v1/ (FHIR has its own CapabilityStatement)."""

    schema = None
    renderer_classes = [FhirJSONRenderer]
    # The bearer-token check reads the form body (request.POST): it must be able to parse what
    # FHIR clients send, `application/fhir+json`, or it refuses the request as a 415.
    parser_classes = [FhirJSONParser, JSONParser]
    permission_classes = [auth.HasSystemScope(auth.FHIR_READ)]

    def initialize_request(self, request, *args, **kwargs):
        """Keep the raw body first: the inbound views store it as sent, after the parsers (and
        the token check) have read the stream."""
        if request.method in ("POST", "PUT"):
            request.body  # noqa: B018  (Django keeps it and re-reads from it)
        return super().initialize_request(request, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        """FHIR JSON whatever the Accept header says; :meth:`check_accept` refuses what cannot
        be served."""
        renderer = self.renderer_classes[0]()
        return renderer, renderer.media_type

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.check_accept(request)

    def check_accept(self, request) -> None:
        accept = request.META.get("HTTP_ACCEPT", "")
        fmt = request.query_params.get("_format")
        if fmt is not None and fmt not in JSON_FORMATS:
            raise invalid("_format: this server speaks JSON only (application/fhir+json).",
                          "_format")
        if accept and not any(kind in accept for kind in ("json", "*/*", "application/*")):
            raise FhirError.of(406, "not-supported",
                               "This server answers in application/fhir+json only.")

    def handle_exception(self, exc):
        set_rollback()
        if isinstance(exc, FhirError):
            return outcome_response(exc.status, exc.issues)
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            header = self.get_authenticate_header(self.request)
            status = 401 if header else 403
            return outcome_response(status, [Issue("login", str(exc.detail))],
                                    {"WWW-Authenticate": header} if header else None)
        if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
            detail = getattr(exc, "detail", None) or str(exc) or "Not allowed."
            return outcome_response(403, [Issue("forbidden", str(detail))])
        if isinstance(exc, (Http404, exceptions.NotFound)):
            return outcome_response(404, [Issue("not-found", "Not found.")])
        if isinstance(exc, DjangoValidationError):
            issues = [Issue("invalid", " ".join(messages), (name,))
                      for name, messages in validation_error_body(exc).items()]
            return outcome_response(400, issues)
        if isinstance(exc, exceptions.APIException):
            status = exc.status_code
            return outcome_response(status, [Issue(_ISSUE_CODES.get(status, "processing"),
                                                   str(exc.detail))])
        logger.exception("FHIR request failed")
        return outcome_response(500, [Issue("exception", "NETcare could not answer this "
                                                         "request; it has been logged.")])

    # --- helpers -------------------------------------------------------------------------------

    def base_url(self) -> str:
        return self.request.build_absolute_uri(reverse("fhir:root"))

    def audit_reads(self, patients) -> None:
        """One audit row per patient record shown (the first time in this request)."""
        seen = set()
        for patient in patients:
            if patient.pk in seen:
                continue
            seen.add(patient.pk)
            audit.record_view(actor=self.request.user, obj=patient,
                              ip_address=audit.client_ip(self.request))

    def entry(self, found: reads.Found, mode: str = "match") -> dict:
        resource = found.resource()
        return {"fullUrl": f"{self.base_url()}{reads.resource_id(resource)}",
                "resource": resource, "search": {"mode": mode}}


class MetadataView(FhirView):
    """GET /metadata: the CapabilityStatement (no patient data: open to every client)."""

    permission_classes = []
    authentication_classes = []

    def get(self, request):
        return fhir_response(capability_statement(self.base_url()))


class TypeView(FhirView):
    """GET /<type>: search; POST /Observation: send one lab result."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [inbound.MaySendLabs()]
        return super().get_permissions()

    def get(self, request, resource_type: str):
        reads.sources_of(resource_type)  # an unknown type: 404 before parsing its parameters
        search = parse(resource_type, request.query_params)
        page = reads.search_page(request.user, resource_type, search)
        self.audit_reads(found.patient for found in page.found)
        bundle = Bundle(type="searchset", total=page.total,
                        link=self.links(resource_type, search, page.total),
                        entry=[self.entry(found) for found in page.found] or None)
        return fhir_response(bundle)

    def links(self, resource_type: str, search, total: int) -> list[dict]:
        url = f"{self.base_url()}{resource_type}"

        def at(offset: int) -> str:
            params = [*search.echo, ("_offset", str(offset))]
            if "_count" not in {name for name, _value in search.echo}:
                params.append(("_count", str(search.count)))
            return f"{url}?{urlencode(params)}"

        links = [{"relation": "self", "url": at(search.offset)},
                 {"relation": "first", "url": at(0)}]
        if search.count and search.offset + search.count < total:
            links.append({"relation": "next", "url": at(search.offset + search.count)})
        if search.count and search.offset > 0:
            links.append({"relation": "previous",
                          "url": at(max(search.offset - search.count, 0))})
        if search.count and total:
            links.append({"relation": "last",
                          "url": at((total - 1) // search.count * search.count)})
        return links

    def post(self, request, resource_type: str):
        if resource_type != "Observation":
            raise FhirError.of(405, "not-supported",
                               f"NETcare takes in Observations only, not {resource_type}.")
        return inbound.post_observation(self, request)


class InstanceView(FhirView):
    """GET /<type>/<id>: one resource (audited)."""

    def get(self, request, resource_type: str, resource_id: str):
        found = reads.read(request.user, resource_type, resource_id)
        resource = found.resource()
        self.audit_reads([found.patient])
        headers = {}
        if resource.meta is not None and resource.meta.lastUpdated is not None:
            headers["Last-Modified"] = resource.meta.lastUpdated.strftime(
                "%a, %d %b %Y %H:%M:%S GMT")
        return fhir_response(resource, headers=headers)


EVERYTHING_PARAMS = ("_type", "_since", "_format")


class EverythingView(FhirView):
    """GET /Patient/<id>/$everything: the patient's whole record as one searchset Bundle
    (``_type`` to choose resource types, ``_since`` for what changed since then)."""

    def get(self, request, resource_id: str):
        for name in request.query_params:
            if name not in EVERYTHING_PARAMS:
                raise invalid(f"Unknown or unsupported parameter {name!r} for $everything; "
                              f"this server takes {', '.join(EVERYTHING_PARAMS)}.", name)
        types = None
        if "_type" in request.query_params:
            types = [t.strip() for t in request.query_params["_type"].split(",") if t.strip()]
            for resource_type in types:
                reads.sources_of(resource_type)
        since = None
        if "_since" in request.query_params:
            since = moment_range(request.query_params["_since"].strip(), "_since")[0]
        found = reads.read(request.user, "Patient", resource_id)
        everything = reads.everything(request.user, found.obj, types=types, since=since)
        self.audit_reads([found.obj])
        bundle = Bundle(type="searchset", total=len(everything),
                        link=[{"relation": "self", "url": request.build_absolute_uri()}],
                        entry=[self.entry(item) for item in everything] or None)
        return fhir_response(bundle)


class BinaryView(FhirView):
    """GET /Binary/<id>: a DocumentReference's PDF (an audited export), raw, or as a Binary
    resource when JSON is asked for."""

    def check_accept(self, request) -> None:
        if request.query_params.get("_format") not in (None, *JSON_FORMATS):
            raise invalid("_format: give json, or leave it out for the PDF.", "_format")

    def get(self, request, resource_id: str):
        document = documents.document_pdf(request.user, resource_id)
        if document is None:
            raise not_found(f"Binary/{resource_id} is not known.")
        content, filename, patient_obj, note = document
        audit.record_export(actor=request.user, obj=patient_obj, note=f"{note} (FHIR Binary)")
        accept = request.META.get("HTTP_ACCEPT", "")
        if "json" in accept or request.query_params.get("_format"):
            return fhir_response(Binary(id=resource_id, contentType="application/pdf",
                                        data=base64.b64encode(content)))
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response


class SystemView(FhirView):
    """POST /: a transaction Bundle of Observations (lab results)."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [inbound.MaySendLabs()]
        return super().get_permissions()

    def get(self, request):
        raise invalid("Search a resource type (e.g. /Patient?...); a search across all types "
                      "is not supported.")

    def post(self, request):
        return inbound.post_transaction(self, request)


class UnknownView(FhirView):
    """Anything else under /fhir/R4/: a 404 OperationOutcome (never Django's HTML page)."""

    permission_classes = []

    def dispatch_any(self, request, *args, **kwargs):
        raise FhirError.of(404, "not-supported", "No such FHIR endpoint on this server.")

    get = post = put = patch = delete = dispatch_any

