"""HL7 v2 over HTTP: ``POST /api/v1/hl7/oru`` with an ORU^R01 message in ER7, answered with its
ACK in ER7. Only a registered system with the ``labs.write`` scope may send (OAuth2 bearer)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from interop.auth import LABS_WRITE, HasSystemScope, SystemTokenAuthentication
from interop.models import Channel
from interop.oru import CONTENT_TYPES, receive_oru

MAX_BYTES = 1_000_000
EXAMPLE = ("MSH|^~\\&|LABSYS|RIVERSIDE LAB|NETcare|RIVERSIDE|20250103083000+0000||"
           "ORU^R01^ORU_R01|MSG00001|P|2.5.1\r"
           "PID|1||NC01-000001^^^RIVERSIDE^MR||Doe^Jane||19620601|F\r"
           "OBR|1||F10001|58410-2^CBC panel^LN|||20250103080000+0000\r"
           "OBX|1|NM|777-3^Platelets^LN||210|10*9/L|150-400|N|||F|||20250103080000+0000\r")


class ER7Parser(BaseParser):
    """An HL7 v2 message in ER7 (its text), whatever the charset label: UTF-8 is read."""

    media_type = "application/hl7-v2"

    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read(MAX_BYTES + 1) if stream is not None else b""
        return data


class ER7TextParser(ER7Parser):
    media_type = "x-application/hl7-v2+er7"


class PlainTextParser(ER7Parser):
    media_type = "text/plain"


class ER7Renderer(BaseRenderer):
    media_type = "application/hl7-v2"
    format = "er7"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode("utf-8")
        # A refusal before the message was read (authentication, scope, media type).
        detail = data.get("detail", "") if isinstance(data, dict) else str(data)
        return str(detail).encode("utf-8")


class OruView(APIView):
    authentication_classes = [SystemTokenAuthentication]
    permission_classes = [HasSystemScope(LABS_WRITE, people=False)]
    parser_classes = [ER7Parser, ER7TextParser, PlainTextParser]
    renderer_classes = [ER7Renderer]

    @extend_schema(
        operation_id="hl7_oru_receive",
        summary="Send lab results as an HL7 v2 ORU^R01 message (ER7); the answer is its ACK",
        description=(
            "Body: one ORU^R01 message (v2.3 to v2.5.1) in ER7, segments ending in CR (LF is "
            "accepted), as `application/hl7-v2` (or `x-application/hl7-v2+er7`, `text/plain`). "
            "The patient is matched by the MRN in PID-3 at the system's centre; OBX-3 LOINC "
            "codes, OBX-6 units, OBX-7 reference ranges and OBX-14 (or OBR-7) times are read. "
            "The answer is an ACK: MSA-1 `AA` (all stored), `AE` (kept; the results listed in "
            "ERR segments wait in the centre's unmatched-results inbox) or `AR` (refused, with "
            "the reason in ERR; HTTP 400). The same MSH-10 again changes nothing and gets the "
            "first answer. Needs a system token with the `labs.write` scope."),
        request={ct: {"type": "string"} for ct in CONTENT_TYPES},
        responses={
            200: OpenApiResponse({"type": "string"}, description="ACK with MSA-1 AA or AE.",
                                 examples=[OpenApiExample(
                                     "ACK", value="MSH|^~\\&|NETcare|Riverside NET Centre|"
                                                  "LABSYS|RIVERSIDE LAB|20250103083001||"
                                                  "ACK^R01^ACK|ACK1|P|2.5.1\rMSA|AA|MSG00001"
                                                  "|6 stored\r")]),
            400: OpenApiResponse({"type": "string"}, description="ACK with MSA-1 AR."),
            401: OpenApiResponse(description="No valid bearer token (missing, expired)."),
            403: OpenApiResponse(description="The token lacks the labs.write scope, or the "
                                             "caller is not a registered system."),
            413: OpenApiResponse(description="The message is larger than 1 MB."),
        },
        examples=[OpenApiExample("ORU^R01", value=EXAMPLE, request_only=True)],
    )
    def post(self, request, *args, **kwargs):
        raw = request.data if isinstance(request.data, bytes) else b""
        if len(raw) > MAX_BYTES:
            return Response("The message is larger than 1 MB.", status=413)
        text = raw.decode("utf-8", errors="replace")
        system = request._request.system_client  # noqa: SLF001 - set by the authentication
        answer = receive_oru(text=text, system=system, channel=Channel.HL7_HTTP,
                             actor=request.user,
                             content_type=request.content_type.split(";")[0].strip())
        return Response(answer.er7, status=400 if answer.code == "AR" else 200)
