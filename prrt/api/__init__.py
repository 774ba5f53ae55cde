"""REST API for PRRT courses and cycles (`/api/v1/courses/…`, `/api/v1/cycles/…`).

Views only parse, call prrt.selectors / prrt.services / prrt.clinical and shape the answer; the
rules recommend, a NET specialist decides, and the workflow funnel says what is allowed. Its
refusals keep their status (409 wrong state, 403 wrong role); every 400 has the API's one shape
(``{"detail": …, "field": "reason", "errors": {"reason": ["…"]}}``, see netcare.api), whether
the serializer or a service found the fault.
"""

from prrt.api.courses import CourseViewSet
from prrt.api.cycles import CycleDecisionViewSet, CycleDoseOrderViewSet, CycleViewSet

__all__ = ["CourseViewSet", "CycleDecisionViewSet", "CycleDoseOrderViewSet", "CycleViewSet"]
