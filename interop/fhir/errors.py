"""FHIR errors: every refusal is an OperationOutcome that says what is wrong and names the
element (``expression``) or the search parameter at fault, never an HTML page or a 500."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fhir.resources.R4B.operationoutcome import OperationOutcome


@dataclass(frozen=True)
class Issue:
    """One problem: its FHIR issue type (``invalid``, ``not-found``, ``forbidden``...), what a
    person should read, and the element paths at fault (``Observation.valueQuantity.unit``)."""

    code: str
    diagnostics: str
    expression: tuple[str, ...] = ()
    severity: str = "error"


@dataclass
class FhirError(Exception):
    """Raised anywhere below a FHIR view; the view answers ``status`` with the outcome."""

    status: int
    issues: list[Issue] = field(default_factory=list)

    @classmethod
    def of(cls, status: int, code: str, diagnostics: str, *expression: str) -> FhirError:
        return cls(status, [Issue(code, diagnostics, tuple(expression))])

    def __str__(self) -> str:
        return "; ".join(issue.diagnostics for issue in self.issues)


def invalid(diagnostics: str, *expression: str) -> FhirError:
    return FhirError.of(400, "invalid", diagnostics, *expression)


def not_found(diagnostics: str = "Not found.") -> FhirError:
    return FhirError.of(404, "not-found", diagnostics)


def outcome(issues: Iterable[Issue]) -> OperationOutcome:
    return OperationOutcome(issue=[
        {"severity": issue.severity, "code": issue.code, "diagnostics": issue.diagnostics,
         **({"expression": list(issue.expression)} if issue.expression else {})}
        for issue in issues
    ])


def pydantic_expression(resource_type: str, loc: Iterable) -> str:
    """``Observation.valueQuantity.value`` (or ``Bundle.entry[0].resource...``) from the
    location pydantic reports for a field."""
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not str(part).startswith("function-"):
            path += f".{part}"
    return path


def from_validation_error(resource_type: str, exc) -> FhirError:
    """A 400 naming each element fhir.resources refused."""
    issues = []
    for error in exc.errors():
        message = str(error.get("msg", "Invalid value."))
        if error.get("type") == "extra_forbidden":
            message = "Unknown element."
        issues.append(Issue("invalid" if error.get("type") != "extra_forbidden" else "structure",
                            message, (pydantic_expression(resource_type, error.get("loc", ())),)))
    return FhirError(400, issues or [Issue("invalid", "Invalid resource.")])
