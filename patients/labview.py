"""Labs as the patient page shows them: per analyte the latest value with the limits of normal it
is read with (its own, or the centre's reference range), its CTCAE grade (colour and text) and
the trend against the previous result, compared in canonical units. Results marked in error are
not given here: they leave the trend (the page lists them struck through)."""

from __future__ import annotations

from dataclasses import dataclass, field

import rules
from netcare.numbers import plain, unit_display
from patients.models import LabResult
from patients.ranges import CentreRanges, Limits

GRADE_CSS = {0: "badge-ok", 1: "badge-info", 2: "badge-warn", 3: "badge-bad", 4: "badge-bad"}


@dataclass
class LabRow:
    analyte: str
    label: str
    latest: LabResult
    value: str
    grade: int | None = None
    grade_css: str = ""
    trend: str = ""
    history: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)

    @property
    def range_text(self) -> str:
        """The limits of normal beside the value (``ULN 1.2 mg/dL``), with the laboratory when
        they are the centre's."""
        return self.limits.text(self.latest.unit)


def _canonical(lab: LabResult, ranges: CentreRanges):
    if lab.analyte in LabResult.PLAIN_NUMBER_ANALYTES:
        return None
    limits = ranges.limits_for(lab)
    try:
        return rules.lab_value(lab.analyte, lab.value, lab.unit, uln=limits.uln,
                               lln=limits.lln)
    except rules.RulesInputError:
        return None


def lab_rows(labs: list[LabResult], config: rules.RulesConfig,
             ranges: CentreRanges | None = None) -> list[LabRow]:
    """`labs` newest first (as the model orders them); one row per analyte, panel order. A
    result without limits of its own is read with the centre's `ranges`."""
    ranges = ranges or CentreRanges()
    labels = dict(LabResult.Analyte.choices)
    by_analyte: dict[str, list[LabResult]] = {}
    for lab in labs:
        by_analyte.setdefault(lab.analyte, []).append(lab)
    rows = []
    for analyte in LabResult.Analyte.values:
        results = by_analyte.get(analyte)
        if not results:
            continue
        latest = results[0]
        row = LabRow(analyte, labels[analyte], latest,
                     f"{plain(latest.value)} {unit_display(latest.unit)}".strip(),
                     limits=ranges.limits_for(latest))
        current = _canonical(latest, ranges)
        if current is not None:
            grade = rules.grade_lab(current, config).grade
            row.grade, row.grade_css = grade, GRADE_CSS.get(grade, "")
        if len(results) > 1:
            previous = _canonical(results[1], ranges)
            if current is not None and previous is not None:
                if current.canonical > previous.canonical:
                    row.trend = "↑ rising"
                elif current.canonical < previous.canonical:
                    row.trend = "↓ falling"
                else:
                    row.trend = "→ steady"
        row.history = [f"{lab.collected_at:%d %b}: {plain(lab.value)}" for lab in results[:5]]
        rows.append(row)
    return rows
