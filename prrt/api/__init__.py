"""REST API for PRRT courses and cycles (`/api/v1/courses/…`, `/api/v1/cycles/…`).

Views only parse, call prrt.selectors / prrt.services / prrt.clinical and shape the answer; the
rules recommend, a NET specialist decides, and the workflow funnel says what is allowed. Its
refusals keep their status (409 wrong state, 403 wrong role); every 400 names its field the way
DRF's own field errors do (``{"reason": ["…"]}``), whether the serializer or a service found it.
"""

from prrt.api.courses import CourseViewSet
from prrt.api.cycles import CycleDecisionViewSet, CycleViewSet

__all__ = ["CourseViewSet", "CycleDecisionViewSet", "CycleViewSet"]
