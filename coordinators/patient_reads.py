"""The patient page's reads of the course, the plan and the contacts (the patient's own record:
patients.selectors), written in SQL and model-shaped (patients.selectors.Columns): compiling them
through the ORM cost more than running them. Each is one query and takes what the page, the
journey and the plan use of its rows (a field not read is deferred: reading it would be one query
more, which the query-count tests catch); `known` shares the people they name."""

from __future__ import annotations

from coordinators.models import CareTask, ContactLogEntry, TaskState
from netcare.models import Centre, User
from netcare.sqlrows import in_list
from patients.models import AdverseEvent, PerformanceStatus
from patients.selectors import PERSON, Columns, joined, read
from prrt.models import Administration, Cycle, CycleDecision, SSAInjection, TreatmentCourse
from referrals.models import Referral

_COURSE = Columns(TreatmentCourse, "c", ("external_id", "patient", "centre", "state",
                                         "planned_first_dose"))
_COURSE_CENTRE = Columns(Centre, "ce")
_CYCLE = Columns(Cycle, "y", ("external_id", "course", "number", "state", "due_date",
                              "planned_date", "booked_date", "booked_at"))
_ADMINISTRATION = Columns(Administration, "a", (
    "cycle", "administered_at", "activity_gbq", "lar_injected_at", "amino_acids_given",
    "antiemetic_given", "infusion_reaction_grade", "reaction_is_hypersensitivity",
    "precautions_given", "warnings", "notes"))
_DECISION = Columns(CycleDecision, "d", ("cycle", "decision", "categories", "decided_at"))


def course_and_cycles(patient) -> tuple[TreatmentCourse | None, list]:
    """The patient's latest course (with its centre) and its cycles, each with its
    administration and decisions, as select_related and prefetch_related would leave them: the
    course with its cycles in one query, the decisions in one more (none without cycles)."""
    rows = read([_COURSE, _COURSE_CENTRE, _CYCLE, _ADMINISTRATION],
                "FROM prrt_treatmentcourse c JOIN netcare_centre ce ON ce.id = c.centre_id"
                " LEFT JOIN prrt_cycle y ON y.course_id = c.id"
                " LEFT JOIN prrt_administration a ON a.cycle_id = y.id"
                " WHERE c.id = (SELECT id FROM prrt_treatmentcourse WHERE patient_id = %s"
                " ORDER BY created_at DESC, id DESC LIMIT 1) ORDER BY y.number", [patient.pk])
    if not rows:
        return None, []
    course = rows[0][0]
    joined(course, "centre", rows[0][1])
    cycles = []
    for _, _, cycle, administration in rows:
        if cycle is not None:
            joined(cycle, "course", course)  # one course object, as course.cycles would give
            joined(cycle, "administration", administration)
            cycles.append(cycle)
    if cycles:
        by_cycle: dict[int, list] = {cycle.pk: [] for cycle in cycles}
        ids = list(by_cycle)
        for (decision,) in read([_DECISION], "FROM prrt_cycledecision d WHERE d.cycle_id"
                                f" IN {in_list(ids)} ORDER BY d.decided_at, d.id", ids):
            by_cycle[decision.cycle_id].append(decision)
        for cycle in cycles:
            joined(cycle, "decisions", by_cycle[cycle.pk])
    return course, cycles


_TASK = Columns(CareTask, "t", (
    "external_id", "course", "patient", "kind", "cycle", "sequence", "state", "owner_party",
    "owner_user", "due", "snoozed_until", "appointment_at", "appointment_place",
    "appointment_note"))
_OWNER = Columns(User, "u", PERSON, shared=True)


def course_tasks(patient, course, known: dict) -> list[CareTask]:
    """The open care tasks of the patient's `course`, in due order, with their owners."""
    rows = read([_TASK, _OWNER], "FROM coordinators_caretask t"
                " LEFT JOIN netcare_user u ON u.id = t.owner_user_id"
                " WHERE t.patient_id = %s AND t.course_id = %s AND t.state = %s"
                " ORDER BY t.due, t.kind, t.cycle, t.sequence, t.id",
                [patient.pk, course.pk, TaskState.OPEN], known=known)
    for task, owner in rows:
        joined(task, "owner_user", owner)
    return [task for task, _ in rows]


_CONTACT = Columns(ContactLogEntry, "e", (
    "external_id", "task", "kind", "party", "occurred_at", "summary", "recorded_by"))
# The task's title, and its state (a task's state is read when it is built: django-fsm).
_CONTACT_TASK = Columns(CareTask, "t", ("kind", "cycle", "sequence", "state"))
_RECORDED_BY = Columns(User, "u", PERSON, shared=True)


def contacts(patient, known: dict, *, limit: int) -> list[ContactLogEntry]:
    """The latest `limit` entries of the contact log, with their task and author."""
    rows = read([_CONTACT, _CONTACT_TASK, _RECORDED_BY], "FROM coordinators_contactlogentry e"
                " LEFT JOIN coordinators_caretask t ON t.id = e.task_id"
                " JOIN netcare_user u ON u.id = e.recorded_by_id WHERE e.patient_id = %s"
                " ORDER BY e.occurred_at DESC, e.id DESC LIMIT %s",
                [patient.pk, limit], known=known)
    for entry, task, recorded_by in rows:
        joined(entry, "task", task)
        joined(entry, "recorded_by", recorded_by)
    return [entry for entry, _, _ in rows]


_INJECTION = Columns(SSAInjection, "i", (
    "external_id", "agent", "given_at", "dose_mg", "given_by", "place", "recorded_by"))


def injections(patient, known: dict, *, limit: int) -> list[SSAInjection]:
    """The latest `limit` SSA injections, with who recorded each."""
    rows = read([_INJECTION, _RECORDED_BY], "FROM prrt_ssainjection i"
                " JOIN netcare_user u ON u.id = i.recorded_by_id WHERE i.patient_id = %s"
                " ORDER BY i.given_at DESC, i.id DESC LIMIT %s",
                [patient.pk, limit], known=known)
    for injection, recorded_by in rows:
        joined(injection, "recorded_by", recorded_by)
    return [injection for injection, _ in rows]


# The short lists, read together (see short_lists): each list's columns, and the person or
# centre its rows name.
_PERFORMANCE = Columns(PerformanceStatus, "ps", (
    "scale", "value", "assessed_on", "assessed_by", "entered_by"))
_EVENT = Columns(AdverseEvent, "ae", ("term", "category", "ctcae_grade", "onset_on",
                                      "reported_by"))
_REFERRAL = Columns(Referral, "r", ("external_id", "centre", "state", "created_at"))
_NAMED_BY = Columns(User, "u", PERSON, shared=True)
_REFERRED_TO = Columns(Centre, "ce", ("name",))


def short_lists(patient, known: dict) -> dict[str, list]:
    """The patient's performance status assessments, adverse events and referrals, each latest
    first, in one query: a UNION of the three lists, each row tagged with its list and in its
    list's own columns (typed NULLs in the others')."""
    shown = (_PERFORMANCE, _EVENT, _REFERRAL)

    def select(name: str, columns: Columns, named: Columns) -> str:
        return "SELECT " + ", ".join([
            f"'{name}'", *(other.sql if other is columns else other.nulls for other in shown),
            *(other.sql if other is named else other.nulls for other in (_NAMED_BY,
                                                                          _REFERRED_TO))])

    rows = read(
        ["list", *shown, _NAMED_BY, _REFERRED_TO],  # "list": the name the row is tagged with
        "FROM patients_performancestatus ps JOIN netcare_user u ON u.id = ps.entered_by_id"
        " WHERE ps.patient_id = %s UNION ALL "
        + select("adverse_events", _EVENT, _NAMED_BY)
        + " FROM patients_adverseevent ae JOIN netcare_user u ON u.id = ae.reported_by_id"
        " WHERE ae.patient_id = %s UNION ALL "
        + select("referrals", _REFERRAL, _REFERRED_TO)
        + " FROM referrals_referral r JOIN netcare_centre ce ON ce.id = r.centre_id"
        " WHERE r.patient_id = %s",
        [patient.pk] * 3, head=select("performance", _PERFORMANCE, _NAMED_BY), known=known)
    lists: dict[str, list] = {"performance": [], "adverse_events": [], "referrals": []}
    for name, assessment, event, referral, person, centre in rows:
        if assessment is not None:
            joined(assessment, "entered_by", person)
        elif event is not None:
            joined(event, "reported_by", person)
        else:
            joined(referral, "centre", centre)
        lists[name].append(assessment or event or referral)
    # Latest first, as each model orders them.
    lists["performance"].sort(key=lambda ps: (ps.assessed_on, ps.pk), reverse=True)
    lists["adverse_events"].sort(key=lambda event: (event.onset_on, event.pk), reverse=True)
    lists["referrals"].sort(key=lambda referral: (referral.created_at, referral.pk),
                            reverse=True)
    return lists
