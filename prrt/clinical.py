"""The clinical rules' inputs for a course and its cycles, derived from records (never typed).

Builds on prrt.records (patient data) and adds what the course knows: doses given, withheld and
occurred categories, baseline values, precaution windows, the pre-dose lab window and the
centre's rules settings. Pure reads; callers pass `today`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max

import rules
from netcare.clock import local_date
from netcare.numbers import plain
from patients.models import AdverseEvent, LabResult
from patients.ranges import CentreRanges
from patients.records import rules_labs, rules_patient
from prrt.models import Administration, Cycle, CycleDecision, CycleState, SSAInjection

REQUIRED_PRE_DOSE = ["platelets", "hemoglobin", "neutrophils", "creatinine", "bilirubin",
                     "albumin"]
SHORT_ACTING_SSA = "octreotide_sc"


def rules_config(centre) -> rules.RulesConfig:
    return rules.RulesConfig.from_mapping(centre.rules_settings or {})


@dataclass
class CourseHistory:
    """The course as the rules see it: doses and the categories of each withhold episode."""

    doses: list[rules.Dose] = field(default_factory=list)
    withheld: set[str] = field(default_factory=set)
    occurred: set[str] = field(default_factory=set)
    administrations: list[Administration] = field(default_factory=list)

    def as_rules(self) -> rules.Course:
        return rules.Course(doses=tuple(self.doses), withheld_categories=frozenset(self.withheld),
                            occurred_categories=frozenset(self.occurred))

    @property
    def cumulative_activity_gbq(self) -> Decimal:
        return sum((Decimal(str(d.activity_gbq)) for d in self.doses), Decimal(0))


def course_history(course, cycles=None) -> CourseHistory:
    """Walk the cycles in order: a withhold adds its categories to the current episode; the
    next dose given closes the episode and its categories count as occurred (§5).

    `cycles`: the course's cycles already read, each with its decisions prefetched and its
    administration joined (``select_related("administration")``), so a page that shows them
    reads them once."""
    history = CourseHistory()
    if cycles is None:
        cycles = list(course.cycles.order_by("number").prefetch_related("decisions"))
        administrations = {a.cycle_id: a for a in
                           Administration.objects.filter(cycle__course=course)}
    else:
        cycles = sorted(cycles, key=lambda cycle: cycle.number)
        administrations = {cycle.pk: cycle.administration for cycle in cycles
                           if hasattr(cycle, "administration")}  # None raises AttributeError
    for cycle in cycles:
        for decision in cycle.decisions.all():
            if decision.decision == CycleDecision.Decision.WITHHOLD:
                history.withheld.update(decision.categories)
        administration = administrations.get(cycle.pk)
        if administration is not None:
            history.administrations.append(administration)
            history.doses.append(rules.Dose(
                cycle=cycle.number,
                date=local_date(administration.administered_at, course.centre),
                activity_gbq=administration.activity_gbq))
            history.occurred |= history.withheld
            history.withheld = set()
    return history


def precaution_windows(course, config: rules.RulesConfig) -> list[tuple[dt.datetime, dt.date]]:
    """(infusion time, last day of the window) for every infusion given."""
    return [(a.administered_at,
             local_date(a.administered_at, course.centre)
             + dt.timedelta(days=config.precaution_days))
            for a in Administration.objects.filter(cycle__course=course)]


def in_precaution_window(moment: dt.datetime, windows, centre) -> bool:
    """Day 0 before the infusion is fine; from the infusion to the window's last day is not."""
    day = local_date(moment, centre)
    return any(start < moment and day <= end for start, end in windows)


def pre_dose_labs(cycle: Cycle, *, today: dt.date,
                  config: rules.RulesConfig) -> tuple[dict[str, LabResult], list[LabResult]]:
    """The latest usable lab per analyte for this cycle, and the draws refused because they
    fell inside a precaution window."""
    course = cycle.course
    centre = course.centre
    start = cycle.planned_date - dt.timedelta(days=config.pre_dose_lab_window_days)
    end = max(today, cycle.planned_date)
    tz = zoneinfo.ZoneInfo(centre.time_zone)
    windows = precaution_windows(course, config)
    latest: dict[str, LabResult] = {}
    refused: list[LabResult] = []
    labs = (LabResult.objects.filter(
        patient_id=course.patient_id, entered_in_error=False,
        collected_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        collected_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
        .order_by("analyte", "-collected_at", "-id"))
    for lab in labs:
        if in_precaution_window(lab.collected_at, windows, centre):
            refused.append(lab)
            continue
        latest.setdefault(lab.analyte, lab)
    return latest, refused


def last_long_acting_ssa(course) -> dt.date | None:
    patient = course.patient
    injected = (SSAInjection.objects.filter(patient=patient,
                                           agent__in=["octreotide_lar", "lanreotide"])
                .aggregate(last=Max("given_at"))["last"])
    lar = Administration.objects.filter(cycle__course__patient=patient,
                                        lar_injected_at__isnull=False).aggregate(
        last=Max("lar_injected_at"))["last"]
    dates = [local_date(moment, course.centre) for moment in (injected, lar) if moment]
    if patient.last_long_acting_ssa_on is not None:
        dates.append(patient.last_long_acting_ssa_on)
    return max(dates) if dates else None


def baseline_for(course, latest: dict[str, LabResult], today: dt.date) -> rules.Baseline | None:
    data = course.baseline or {}
    if data.get("creatinine"):
        creatinine = rules.lab_value("creatinine", data["creatinine"]["value"],
                                     data["creatinine"]["unit"], field="baseline.creatinine")
        return rules.Baseline(creatinine=creatinine, weight_kg=data.get("weight_kg"),
                              age_years=data.get("age_years"))
    if "creatinine" not in latest:
        return None
    lab = latest["creatinine"]
    patient = course.patient
    return rules.Baseline(
        creatinine=rules.lab_value("creatinine", lab.value, lab.unit, field="baseline.creatinine"),
        weight_kg=patient.weight_kg, age_years=patient.age_on(today))


def baseline_snapshot(course, latest: dict[str, LabResult], today: dt.date) -> dict:
    lab = latest.get("creatinine")
    patient = course.patient
    return {
        "creatinine": None if lab is None else {"value": str(lab.value), "unit": lab.unit},
        "weight_kg": None if patient.weight_kg is None else str(patient.weight_kg),
        "age_years": patient.age_on(today),
    }


def adverse_events_since(course, since: dt.date) -> list[rules.AdverseEvent]:
    events = AdverseEvent.objects.filter(patient_id=course.patient_id, onset_on__gte=since)
    return [rules.AdverseEvent(grade=e.ctcae_grade, category=e.category, term=e.term,
                               related=e.related_to_treatment) for e in events]


def labs_snapshot(latest: dict[str, LabResult], ranges: CentreRanges | None = None) -> dict:
    """The labs a recommendation used, as stored with the decision: each value with the limits
    of normal it was graded against (its own, or the centre's range with its laboratory), so
    that changing the centre's ranges never regrades a decision already taken."""
    ranges = ranges or CentreRanges()
    return {analyte: {"value": plain(lab.value), "unit": lab.unit,
                      **ranges.limits_for(lab).snapshot(),
                      "collected_at": lab.collected_at.isoformat(), "id": str(lab.external_id)}
            for analyte, lab in sorted(latest.items())}


@dataclass(frozen=True)
class Recommendation:
    """The rules' decision for a cycle and what it used. ``rendered`` is the shape pages and
    API responses show: while ``complete`` is false it carries no action (§4.5)."""

    decision: rules.DoseDecision
    rendered: dict
    labs: dict[str, LabResult]
    history: CourseHistory
    baseline: rules.Baseline | None
    ranges: CentreRanges = field(default_factory=CentreRanges)

    @property
    def complete(self) -> bool:
        return self.decision.complete

    @property
    def action(self) -> str | None:
        """The recommended action, or None while the decision panel is incomplete."""
        return str(self.decision.action) if self.complete else None


def dose_day(cycle: Cycle, history: CourseHistory, today: dt.date) -> dt.date | None:
    """The day the dose would be given: the planned (booked) day, or today once it has passed;
    None when that is not after the last dose given (then the rules use the assessment day)."""
    day = max(cycle.planned_date, today)
    if history.doses and day <= history.doses[-1].date:
        return None
    return day


def recommendation_for(cycle: Cycle, *, today: dt.date) -> Recommendation:
    """The rules' dose decision for `cycle` on `today`, from the records: the pre-dose labs of
    its window, the patient now (sex, age, weight), the course's baseline and history, adverse
    events since the last dose and the planned infusion day (for the timing warnings)."""
    course = cycle.course
    config = rules_config(course.centre)
    latest, _refused = pre_dose_labs(cycle, today=today, config=config)
    return _recommendation(cycle, today=today, config=config, latest=latest)


def _recommendation(cycle: Cycle, *, today: dt.date, config: rules.RulesConfig,
                    latest: dict[str, LabResult]) -> Recommendation:
    course = cycle.course
    history = course_history(course)
    baseline = baseline_for(course, latest, today)
    ranges = CentreRanges.of(course.centre_id)
    since = history.doses[-1].date if history.doses else course.planned_first_dose - \
        dt.timedelta(days=90)
    labs_date = max((local_date(lab.collected_at, course.centre) for lab in latest.values()),
                    default=None)
    if labs_date is not None:
        labs_date = min(labs_date, today)  # a draw dated ahead of the centre's day is today's
    decision = rules.dose_decision(
        rules.DoseInput(course=history.as_rules(), patient=rules_patient(course.patient, today),
                        baseline=baseline, labs=rules_labs(latest, ranges),
                        adverse_events=tuple(adverse_events_since(course, since)),
                        labs_date=labs_date, dose_date=dose_day(cycle, history, today)),
        today, config)
    decision = _only_weight_missing(decision, course.patient)
    rendered = rules.render_dose_decision(decision, today, as_recommendation=True)
    return Recommendation(decision, rendered, latest, history, baseline, ranges)


_SEX_AND_AGE = ("patient.sex", "patient.age_years")


def _only_weight_missing(decision: rules.DoseDecision, patient) -> rules.DoseDecision:
    """The record always has the sex and date of birth; without a weight the rules see no
    patient at all, so say the weight alone is missing."""
    if patient.weight_kg is not None or "patient.weight_kg" not in decision.missing_inputs:
        return decision
    paths = tuple(p for p in decision.missing_inputs if p not in _SEX_AND_AGE)
    return dataclasses.replace(decision, missing_inputs=paths, reasons=(
        rules.no_recommendation_text(paths), *decision.reasons[1:]))


def planned_infusion_at(cycle: Cycle) -> dt.datetime:
    """The planned infusion moment: the booked time on the booked day, else the start of the
    planned day (the earliest it can be, so a check against it is on the safe side)."""
    tz = zoneinfo.ZoneInfo(cycle.course.centre.time_zone)
    at = dt.time.min
    if cycle.booked_date == cycle.planned_date and cycle.booked_time is not None:
        at = cycle.booked_time
    return dt.datetime.combine(cycle.planned_date, at, tzinfo=tz)


def short_acting_ssa_check(patient, dose_at: dt.datetime,
                           config: rules.RulesConfig) -> rules.Finding | None:
    """Short-acting octreotide from the recorded doses (SSA injections of octreotide s.c.): the
    latest one at or before `dose_at` must be 24 h or more before it. None when none is recorded
    in that time (then the infusion-day tick box is the attestation)."""
    last = (SSAInjection.objects.filter(patient=patient, agent=SHORT_ACTING_SSA,
                                        given_at__lte=dose_at)
            .order_by("-given_at").values_list("given_at", flat=True).first())
    if last is None:
        return None
    finding = rules.short_acting_ssa_finding(last, dose_at, config)
    if finding is None:
        return None
    tz = zoneinfo.ZoneInfo(patient.centre.time_zone)
    moment = last.astimezone(tz)
    return rules.Finding(finding.code, finding.severity,
                         f"{finding.reason} (recorded dose on {moment:%d %b %Y at %H:%M})",
                         finding.values, finding.thresholds)


@dataclass(frozen=True)
class Readiness:
    ready: bool
    missing: list[str]
    warnings: list[str]


def readiness(cycle: Cycle, *, today: dt.date) -> Readiness:
    """What a cycle still needs before a specialist can decide on it (§3, §4.5): the course
    approved and the cycle before given, the pre-dose labs of the window and a complete decision
    panel, the long-acting SSA washout, the short-acting octreotide interval from recorded doses
    and, before cycle 1, SSTR imaging and (for a patient who can become pregnant) the pregnancy
    test or "not applicable" with who said so. The rules' manual-review items are warnings."""
    course = cycle.course
    config = rules_config(course.centre)
    missing: list[str] = []
    warnings: list[str] = []
    if course.state not in ("approved", "active"):
        missing.append("The course is not approved yet.")
    if cycle.state not in (CycleState.PLANNED, CycleState.READY, CycleState.WITHHELD):
        return Readiness(False, [], [])
    previous = course.cycles.filter(number__lt=cycle.number).exclude(
        state__in=[CycleState.ADMINISTERED, CycleState.COMPLETED]).exists()
    if previous:
        missing.append("The previous cycle has not been given yet.")
    latest, refused = pre_dose_labs(cycle, today=today, config=config)
    absent = [a for a in REQUIRED_PRE_DOSE if a not in latest]
    if absent:
        labels = dict(LabResult.Analyte.choices)
        missing.append(
            f"Pre-dose labs within {config.pre_dose_lab_window_days} days before "
            f"{cycle.planned_date:%d %b %Y}: {', '.join(labels[a] for a in absent)}.")
    if refused:
        missing_note = (f"{len(refused)} lab result(s) drawn inside a precaution window "
                        "do not count.")
        warnings.append(missing_note)
    _decision_panel(cycle, today, config, latest, absent, missing, warnings)
    if cycle.state == CycleState.WITHHELD:
        last = cycle.decisions.filter(decision=CycleDecision.Decision.WITHHOLD).last()
        if last and not any(lab.entered_at > last.decided_at for lab in latest.values()):
            missing.append("New labs after the decision to withhold.")
    last_ssa = last_long_acting_ssa(course)
    if last_ssa is not None:
        finding = rules.long_acting_ssa_finding(last_ssa, cycle.planned_date, config)
        if finding is not None:
            (missing if finding.severity == rules.Severity.BLOCK else warnings).append(
                finding.reason)
    short_acting = short_acting_ssa_check(course.patient, planned_infusion_at(cycle), config)
    if short_acting is not None:
        missing.append(f"{short_acting.reason}: book the infusion later.")
    if cycle.number == 1:
        _before_cycle_1(cycle, today, config, missing)
    return Readiness(not missing, missing, warnings)


def _decision_panel(cycle: Cycle, today: dt.date, config: rules.RulesConfig,
                    latest: dict[str, LabResult], absent: list[str], missing: list[str],
                    warnings: list[str]) -> None:
    """An incomplete decision panel keeps the cycle from becoming ready (§4.5); what the labs
    line above already names is not repeated. Manual-review items become warnings."""
    try:
        recommendation = _recommendation(cycle, today=today, config=config, latest=latest)
    except rules.RulesInputError as exc:
        missing.append(f"The rules could not evaluate the records: {exc}.")
        return
    decision = recommendation.decision
    beyond = tuple(path for path in decision.missing_inputs
                   if path.removeprefix("labs.") not in absent)
    if beyond:
        missing.append(rules.no_recommendation_text(beyond))
    for finding in decision.needs_review:
        reason = finding.reason
        warnings.append(reason if reason.startswith("Manual review") else
                        f"Manual review: {reason}")


def _before_cycle_1(cycle: Cycle, today: dt.date, config: rules.RulesConfig,
                    missing: list[str]) -> None:
    from patients.models import ImagingStudy

    course = cycle.course
    sstr = (ImagingStudy.objects.filter(patient_id=course.patient_id,
                                        modality__in=ImagingStudy.SSTR_MODALITIES)
            .order_by("-performed_on").first())
    oldest = rules.add_months(cycle.planned_date, -config.sstr_imaging_max_age_months)
    if sstr is None:
        missing.append("SSTR imaging before cycle 1.")
    elif sstr.performed_on < oldest:
        missing.append(f"SSTR imaging of {sstr.performed_on:%d %b %Y} is more than "
                       f"{config.sstr_imaging_max_age_months} months before cycle 1: "
                       "a new scan is needed.")
    patient = course.patient
    try:
        pregnancy = rules.pregnancy_finding(
            sex=patient.sex, status=patient.pregnancy or None,
            tested_on=patient.pregnancy_tested_on, stated_by=patient.pregnancy_stated_by,
            dose_date=max(cycle.planned_date, today), today=today, config=config)
    except rules.RulesInputError as exc:
        missing.append(f"Pregnancy record: {exc}.")
        return
    if pregnancy is not None:
        missing.append(pregnancy.reason)
