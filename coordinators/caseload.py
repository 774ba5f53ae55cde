"""The navigator's caseload: what is overdue, due today, due in the next 7 days, snoozed or
blocked, for every patient the navigator may see, grouped by patient with counts.

A fixed number of queries whatever the caseload, and a cost that does not grow with it: the
counts, which patients have something and their order (overdue first, then blocked, then due
today, then in the next days; snoozed only last; then by name) come from the centre's read model
(coordinators/caseload_model.py, brought up to date before each read), or for a filtered
caseload are computed by the database from the tasks themselves (coordinators/caseload_sql.py,
portable SQL); only the rows of the patient groups shown (PAGE_PATIENTS at a time, the next ones
on demand) are read, as plain values rather than model instances, with their URLs and labels
made here, and rendered by Jinja2 (templates/jinja2/coordinators/caseload_groups.jinja).
"Overdue" and "due" are derived from the dates when read, never stored. The dates are the plan's
(the tasks' own), the same on every page.

A snoozed task (``snoozed_until`` after today) waits in its own group, with the day it wakes and
the reason, and counts as neither overdue nor due; on the day it wakes it is back where its dates
put it. Only open tasks are listed: a task done by a person or closed by NETcare from its record
is gone. A task with a one-click way to act carries it (:func:`task_link`): rebooking a withheld
cycle opens the cycle, the referral back opens the course letter.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from coordinators import caseload_model
from coordinators.caseload_sql import BLOCKED_IDS_INLINE, Read
from coordinators.models import CareTask, OwnerParty, TaskKind
from netcare.access import centre_scope
from netcare.links import url_maker
from patients.models import AdverseEvent
from prrt.models import CourseState

OWNER_FILTERS = {"me": "Me", "centre": "The centre", "practice": "Referring practices"}
STAGE_FILTERS = {CourseState.ELIGIBILITY_REVIEW: "Eligibility review",
                 CourseState.APPROVED: "Approved", CourseState.ACTIVE: "In treatment",
                 CourseState.COMPLETED: "Follow-up"}


@dataclass(frozen=True)
class Filters:
    owner: str = ""
    kind: str = ""
    stage: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, data) -> Filters:
        owner = data.get("owner", "")
        kind = data.get("kind", "")
        stage = data.get("stage", "")
        return cls(owner=owner if owner in OWNER_FILTERS else "",
                   kind=kind if kind in TaskKind.values else "",
                   stage=stage if stage in STAGE_FILTERS else "",
                   q=(data.get("q") or "").strip()[:60])

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in (("owner", self.owner), ("kind", self.kind),
                                  ("stage", self.stage), ("q", self.q)) if v}


@dataclass(frozen=True)
class TaskLink:
    """Where to act on a task in one click."""

    label: str
    url: str


def task_link(task: CareTask) -> TaskLink | None:
    """The page that acts on `task`: the cycle to rebook or order the dose for (its public id
    comes from :func:`coordinators.selectors.with_cycle_ref`), the course letter for the
    referral back."""
    course_ref = task.course.external_id if task.kind == TaskKind.REFERRAL_FOLLOW_UP else None
    return link_for(task.kind, task.cycle, getattr(task, "cycle_ref", None), course_ref,
                    cycle_url=url_maker("prrt:cycle"), letter_url=url_maker("letters:letter"))


_CYCLE_LINKS = {TaskKind.REBOOK_CYCLE: "Rebook cycle {}", TaskKind.DOSE_ORDER: "Order the dose "
                "for cycle {}"}


def link_for(kind: str, cycle: int, cycle_ref, course_ref, *, cycle_url,
             letter_url) -> TaskLink | None:
    """The one-click link of a task, from plain values (`cycle_url` and `letter_url` make the
    URLs from public ids)."""
    if kind in _CYCLE_LINKS and cycle_ref is not None:
        return TaskLink(_CYCLE_LINKS[kind].format(cycle), cycle_url(cycle_ref))
    if kind == TaskKind.REFERRAL_FOLLOW_UP and course_ref is not None:
        return TaskLink("Open the course letter", letter_url(course_ref))
    return None


def is_snoozed(task: CareTask, today: dt.date) -> bool:
    """Snoozed until a later day: the task wakes on ``snoozed_until``."""
    return task.snoozed_until is not None and task.snoozed_until > today


@dataclass
class PatientRow:
    """A patient as the caseload shows them (values, not a model instance)."""

    pk: int
    external_id: uuid.UUID
    family_name: str
    given_name: str
    mrn: str
    url: str = ""


@dataclass
class CourseRow:
    state: str

    def get_state_display(self) -> str:
        return CourseState(self.state).label


@dataclass
class CentreRow:
    time_zone: str


@dataclass
class TaskCourse:
    centre: CentreRow


@dataclass
class TaskRow:
    """An open care task as the caseload shows it: its values, the owner's name, the public id
    of the cycle to rebook (``cycle_ref``), its one-click link and the URL of its action
    forms."""

    pk: int
    external_id: uuid.UUID
    kind: str
    cycle: int
    sequence: int
    due: dt.date
    latest: dt.date
    snoozed_until: dt.date | None
    reason: str
    appointment_at: dt.datetime | None
    appointment_place: str
    appointment_note: str
    owner_party: str
    owner_user: str | None
    course: TaskCourse
    course_external_id: uuid.UUID
    cycle_ref: uuid.UUID | None = None
    link: TaskLink | None = None
    forms_url: str = ""

    @property
    def title(self) -> str:
        label = TaskKind(self.kind).label
        if self.cycle:
            return f"{label} (cycle {self.cycle})"
        if self.kind in (TaskKind.IMAGING, TaskKind.LAR_MAINTENANCE):
            return f"{label} #{self.sequence}"
        return label

    def get_owner_party_display(self) -> str:
        return OwnerParty(self.owner_party).label


@dataclass
class BlockedCycle:
    pk: int
    external_id: uuid.UUID
    number: int
    planned_date: dt.date
    url: str = ""


@dataclass
class PatientGroup:
    patient: PatientRow
    course: CourseRow | None = None
    overdue: list[TaskRow] = field(default_factory=list)
    today: list[TaskRow] = field(default_factory=list)
    upcoming: list[TaskRow] = field(default_factory=list)
    snoozed: list[TaskRow] = field(default_factory=list)
    blocked: list[tuple[BlockedCycle, list[str]]] = field(default_factory=list)

    @property
    def buckets(self) -> list[tuple[str, str, list[TaskRow]]]:
        """(status, label, tasks) for the non-empty buckets, most urgent first; the snoozed
        tasks last, by the day they wake."""
        return [(status, label, tasks) for status, label, tasks in (
            ("overdue", "Overdue", self.overdue), ("today", "Due today", self.today),
            ("upcoming", "Next 7 days", self.upcoming), ("snoozed", "Snoozed", self.snoozed))
            if tasks]


@dataclass
class Caseload:
    """`groups`: the patient groups shown, from the `offset`-th most urgent; `counts` cover the
    whole caseload."""

    today: dt.date
    filters: Filters
    groups: list[PatientGroup]
    adverse_events: list[dict]
    counts: dict[str, int]
    offset: int = 0

    @property
    def shown(self) -> int:
        """How many groups are shown, up to the last of this page."""
        return self.offset + len(self.groups)

    @property
    def hidden(self) -> int:
        return max(self.counts["patients"] - self.shown, 0)

    @property
    def shown_groups(self) -> list[PatientGroup]:
        return self.groups


PAGE_PATIENTS = 25


def caseload_for(user, *, today: dt.date, filters: Filters = Filters(),
                 show: int = PAGE_PATIENTS, offset: int = 0) -> Caseload:
    """The caseload: counts over everything; the `show` most urgent patient groups from the
    `offset`-th (overdue first, then blocked, then due today, then in the next days; snoozed
    only last), with their tasks and blocked cycles; recent serious adverse events."""
    read = Read(user, today=today, filters=filters)
    if read.empty:
        return Caseload(today=today, filters=filters, groups=[], adverse_events=[],
                        counts=dict.fromkeys(("overdue", "today", "upcoming", "snoozed",
                                              "blocked", "patients"), 0), offset=offset)
    centre_id = centre_scope(user)
    if centre_id is not None and not filters.as_query():
        # The whole centre, unfiltered: from the read model, brought up to date first.
        caseload_model.refresh(read, centre_id=centre_id, today=today)
        counts = caseload_model.counts(centre_id=centre_id)
        ranked = caseload_model.ranked(centre_id=centre_id, offset=offset, show=show)
    else:
        counts, ranked = live_ranking(read, offset=offset, show=show)
    patient_url = url_maker("patients:detail")
    groups = {pk: PatientGroup(PatientRow(
        pk=pk, external_id=external_id, family_name=family_name, given_name=given_name,
        mrn=mrn, url=patient_url(external_id)))
        for pk, external_id, family_name, given_name, mrn, *_ in ranked}
    if groups:
        _fill_tasks(groups, read.tasks_of(list(groups)), today=today)
        if read.has_blocked:
            _fill_blocked(groups, read.blocked_of(list(groups)))
    return Caseload(today=today, filters=filters, groups=list(groups.values()),
                    adverse_events=_adverse_events(read), counts=counts,
                    offset=offset)


def live_ranking(read: Read, *, offset: int, show: int) -> tuple[dict[str, int], list[tuple]]:
    """The counts and the ranked patients computed from the open tasks and cycles themselves
    (a filtered caseload, or a scope other than a whole centre)."""
    counts = read.counts()
    blocked: list[int] | None = []
    if read.has_blocked:  # one row (the patient's id) per blocked cycle
        patients = read.blocked_patients()
        counts["blocked"] = len(patients)
        blocked = list(dict.fromkeys(sorted(patients)))
        if len(blocked) > BLOCKED_IDS_INLINE:
            blocked = None  # the ranking reads them itself
    else:
        counts["blocked"] = 0
    ranked = read.ranked(blocked=blocked, offset=offset, show=show)
    if not ranked and offset:  # a page past the end: the number of patients from the first
        first = read.ranked(blocked=blocked, offset=0, show=1)
        counts["patients"] = first[0][5] if first else 0
    else:
        counts["patients"] = ranked[0][5] if ranked else 0
    return counts, ranked


def _owner_name(first: str | None, last: str | None, username: str | None) -> str | None:
    if username is None:
        return None
    return f"{first or ''} {last or ''}".strip() or username  # as User.__str__


def _fill_tasks(groups: dict[int, PatientGroup], rows: list[tuple], *, today: dt.date) -> None:
    forms_url = url_maker("caseload:task-forms")
    cycle_url = url_maker("prrt:cycle")
    letter_url = url_maker("letters:letter")
    centres: dict[str, TaskCourse] = {}
    for (pk, external_id, patient_id, kind, cycle, sequence, due, latest, snoozed_until, reason,
         appointment_at, place, note, owner_party, first, last, username, course_state,
         course_id, time_zone, cycle_ref) in rows:
        course = centres.get(time_zone) or centres.setdefault(
            time_zone, TaskCourse(CentreRow(time_zone)))
        task = TaskRow(pk=pk, external_id=external_id, kind=kind, cycle=cycle,
                       sequence=sequence, due=due, latest=latest, snoozed_until=snoozed_until,
                       reason=reason, appointment_at=appointment_at, appointment_place=place,
                       appointment_note=note, owner_party=owner_party,
                       owner_user=_owner_name(first, last, username), course=course,
                       course_external_id=course_id, cycle_ref=cycle_ref,
                       forms_url=forms_url(external_id))
        task.link = link_for(kind, cycle, cycle_ref, course_id, cycle_url=cycle_url,
                             letter_url=letter_url)
        group = groups[patient_id]
        if group.course is None:
            group.course = CourseRow(course_state)
        if task.snoozed_until is not None and task.snoozed_until > today:
            group.snoozed.append(task)
        elif due < today:
            group.overdue.append(task)
        elif due == today:
            group.today.append(task)
        else:
            group.upcoming.append(task)
    for group in groups.values():
        group.snoozed.sort(key=lambda t: (t.snoozed_until, t.due, t.kind, t.cycle, t.pk))


def _fill_blocked(groups: dict[int, PatientGroup], rows: list[tuple]) -> None:
    cycle_url = url_maker("prrt:cycle")
    for pk, external_id, number, planned_date, missing, patient_id, course_state in rows:
        group = groups[patient_id]
        if group.course is None:
            group.course = CourseRow(course_state)
        group.blocked.append((BlockedCycle(pk, external_id, number, planned_date,
                                           cycle_url(external_id)), list(missing)))


def _adverse_events(read: Read) -> list[dict]:
    """The recent serious adverse events as values, with the patient's link."""
    patient_url = url_maker("patients:detail")
    categories = dict(AdverseEvent._meta.get_field("category").flatchoices)
    return [{"ctcae_grade": grade, "term": term, "category": categories.get(category, category),
             "onset_on": onset_on, "patient_url": patient_url(patient),
             "family_name": family_name, "given_name": given_name,
             "reported_by": _owner_name(first, last, username)}
            for (grade, term, category, onset_on, patient, family_name, given_name, first, last,
                 username) in read.adverse_events()]
