"""WHO 2019 grade of gastroenteropancreatic neuroendocrine neoplasms (§1).

Well-differentiated tumours are graded by Ki-67 and mitotic count; the higher of the two grades
decides, either may be missing. Poorly differentiated is NEC whatever the indices.

    Ki-67 < 3 % → G1; 3–20 % → G2; > 20 % → G3   (3.0 → G2, 20.0 → G2, 20.1 → G3)
    mitoses < 2 → G1; 2–20 → G2; > 20 → G3       per 2 mm² (2 → G2, 20 → G2, 21 → G3)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from .errors import RulesInputError
from .explain import fmt_cmp
from .units import non_negative

KI67_G2_FROM = Fraction(3)
KI67_G3_ABOVE = Fraction(20)
MITOSES_G2_FROM = Fraction(2)
MITOSES_G3_ABOVE = Fraction(20)
MITOSES_MAXIMUM = Fraction(1000)


class Differentiation(StrEnum):
    WELL = "well"
    POOR = "poor"


class Grade(StrEnum):
    G1 = "G1"
    G2 = "G2"
    G3 = "G3"
    NEC = "NEC"
    UNKNOWN = "unknown"


_ORDER = {Grade.G1: 1, Grade.G2: 2, Grade.G3: 3}


@dataclass(frozen=True)
class GradeResult:
    """The grade, what decided it (``differentiation``, ``ki67``, ``mitoses``,
    ``ki67_and_mitoses`` or None when unknown), each index's own grade and the reasons."""

    grade: Grade
    decided_by: str | None
    ki67_grade: Grade | None
    mitoses_grade: Grade | None
    reasons: tuple[str, ...]
    code: str


def ki67_grade(ki67_percent: Fraction) -> Grade:
    if ki67_percent > KI67_G3_ABOVE:
        return Grade.G3
    return Grade.G2 if ki67_percent >= KI67_G2_FROM else Grade.G1


def mitoses_grade(mitoses_per_2mm2: Fraction) -> Grade:
    if mitoses_per_2mm2 > MITOSES_G3_ABOVE:
        return Grade.G3
    return Grade.G2 if mitoses_per_2mm2 >= MITOSES_G2_FROM else Grade.G1


def tumour_grade(
    differentiation: Differentiation | str,
    ki67_percent: object = None,
    mitoses_per_2mm2: object = None,
) -> GradeResult:
    """Grade a GEP neuroendocrine neoplasm (WHO 2019). Numbers are compared exactly."""
    try:
        differentiation = Differentiation(differentiation)
    except ValueError:
        raise RulesInputError(
            "differentiation", f"must be 'well' or 'poor', got '{differentiation}'"
        ) from None
    ki67 = None
    if ki67_percent is not None:
        ki67 = non_negative(ki67_percent, "ki67_percent", maximum=100)
    mitoses = None
    if mitoses_per_2mm2 is not None:
        mitoses = non_negative(mitoses_per_2mm2, "mitoses_per_2mm2", maximum=MITOSES_MAXIMUM)
    by_ki67 = None if ki67 is None else ki67_grade(ki67)
    by_mitoses = None if mitoses is None else mitoses_grade(mitoses)
    index_text = _index_text(ki67, by_ki67, mitoses, by_mitoses)

    if differentiation is Differentiation.POOR:
        reasons = ["Poorly differentiated: neuroendocrine carcinoma (NEC) whatever the indices."]
        if (by_ki67 or by_mitoses) and Grade.G3 not in (by_ki67, by_mitoses):
            reasons.append(
                f"The indices ({index_text}) are below the usual NEC range: pathology review "
                "is advised."
            )
        return GradeResult(Grade.NEC, "differentiation", by_ki67, by_mitoses, tuple(reasons),
                           "GRADE.NEC")

    if by_ki67 is None and by_mitoses is None:
        return GradeResult(
            Grade.UNKNOWN, None, None, None,
            ("Well differentiated, but neither Ki-67 nor mitotic count is given: grade unknown.",),
            "GRADE.UNKNOWN",
        )
    if by_mitoses is None or (by_ki67 is not None and _ORDER[by_ki67] > _ORDER[by_mitoses]):
        grade, decided_by = by_ki67, "ki67"
    elif by_ki67 is None or _ORDER[by_mitoses] > _ORDER[by_ki67]:
        grade, decided_by = by_mitoses, "mitoses"
    else:
        grade, decided_by = by_ki67, "ki67_and_mitoses"
    assert grade is not None
    deciding = {
        "ki67": "Ki-67 decides",
        "mitoses": "the mitotic count decides",
        "ki67_and_mitoses": "both indices agree",
    }[decided_by]
    reasons = [f"Well differentiated, {index_text}: NET {grade} ({deciding}; the higher grade "
               "of the two indices counts)."]
    return GradeResult(grade, decided_by, by_ki67, by_mitoses, tuple(reasons), f"GRADE.{grade}")


def _index_text(
    ki67: Fraction | None, by_ki67: Grade | None, mitoses: Fraction | None,
    by_mitoses: Grade | None,
) -> str:
    parts = []
    if ki67 is not None:
        parts.append(f"Ki-67 {fmt_cmp(ki67, KI67_G2_FROM, KI67_G3_ABOVE)} % ({by_ki67})")
    if mitoses is not None:
        shown = fmt_cmp(mitoses, MITOSES_G2_FROM, MITOSES_G3_ABOVE)
        parts.append(f"{shown} mitoses per 2 mm² ({by_mitoses})")
    return " and ".join(parts) if parts else "no indices"
