"""The figures of what follows the course and what coordination loses: maintenance LAR
injections, overdue care tasks, the referral back, dose orders cancelled late or wasted, and
e-consult response times. Each computed like those of analytics.figures (which lists them all),
with its ``*_cases`` for the drill-down."""

from __future__ import annotations

from django.db.models import Count, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from analytics.period import Scope, month_key, month_label
from analytics.shapes import (
    Case,
    Column,
    Figure,
    Row,
    Series,
    UnknownBar,
    day_text,
    month_of,
    split_key,
    stats_columns,
    stats_of,
)
from analytics.sql import (
    DaysBetween,
    HoursBetween,
    day_value,
    grouped,
    local_day,
    local_month,
    monthly_counts,
    not_negative,
)
from coordinators.models import CareTask, OwnerParty, ReferralLetter, TaskKind
from coordinators.models import TaskState as T
from network.models import EConsult, EConsultState
from prrt.models import Administration, DoseOrder, DoseOrderState
from prrt.orders import order_costs

# --- maintenance injections ---------------------------------------------------------------------


def _maintenance(scope: Scope) -> QuerySet[CareTask]:
    return (CareTask.objects
            .filter(scope.patients("patient"), scope.during_days("due"),
                    kind=TaskKind.LAR_MAINTENANCE)
            .exclude(state=T.CANCELLED)
            .annotate(month=local_month("due"), done_on=local_day("done_at", scope.tz)))


def _maintenance_states(scope: Scope) -> dict[str, Q]:
    return {"on_time": Q(state=T.DONE, done_on__lte=F("latest")),
            "late": Q(state=T.DONE, done_on__gt=F("latest")),
            "missed": Q(state=T.SKIPPED) | Q(state=T.OPEN, latest__lt=scope.today),
            "open": Q(state=T.OPEN, latest__gte=scope.today)}


def maintenance_injections(scope: Scope) -> Figure:
    """The maintenance LAR injections due in the period (every 4 weeks after the course): given
    in their window, given late, missed (skipped, or the window passed with nothing given), or
    with the window still open; per month of the due day."""
    states = _maintenance_states(scope)
    rows = monthly_counts(_maintenance(scope), scope.months, states)
    return Figure(
        "maintenance-injections", "Maintenance LAR injections",
        "The maintenance octreotide LAR injections due in the month: given by the last day of "
        "their window, given after it, missed (skipped, or the window has passed with none "
        "given), or with the window still open.",
        ("Month",),
        (Column("n", "Due", parts=tuple(states), drill=True),
         Column("on_time", "Given in the window", drill=True),
         Column("late", "Given late", drill=True),
         Column("missed", "Missed", drill=True),
         Column("open", "Window still open", drill=True)),
        rows, (Series("missed"), Series("late")), "injections")


def maintenance_injections_cases(scope: Scope, row: str, column: str) -> list[Case]:
    states = _maintenance_states(scope)
    if column not in ("n", *states):
        raise UnknownBar(column)
    tasks = _maintenance(scope).filter(month=month_of(row))
    if column != "n":
        tasks = tasks.filter(states[column])
    return [Case(patient, due, f"Due {day_text(due)}; {T(state).label.lower()}"
                 + (f" on {day_text(done)}" if done else ""))
            for patient, due, state, done in tasks.values_list("patient_id", "due", "state",
                                                               "done_on")]


# --- overdue tasks ------------------------------------------------------------------------------

_OWNER = ("kind", "owner_party", "owner_user__external_id", "owner_user__first_name",
          "owner_user__last_name", "owner_user__username")


def _overdue(scope: Scope) -> QuerySet[CareTask]:
    """Tasks due in the period that stayed open after their due day: until done, skipped (the
    skip's event row), or today when still open. Cancelled tasks (the plan dropped them) are
    left out."""
    return (CareTask.objects
            .filter(scope.patients("patient"), scope.during_days("due"),
                    state__in=[T.OPEN, T.DONE, T.SKIPPED])
            # A task is skipped once (only an open task can be): its one event row of it.
            .annotate(skip=FilteredRelation("events", condition=Q(events__target=T.SKIPPED)))
            .annotate(ended=Coalesce(local_day("done_at", scope.tz),
                                     local_day("skip__at", scope.tz),
                                     day_value(scope.today)))
            .annotate(overdue=DaysBetween(F("ended"), F("due")))
            .filter(overdue__gt=0))


def _owner_label(party: str, first: str | None, last: str | None, username: str | None) -> str:
    if party == OwnerParty.USER:
        return f"{first or ''} {last or ''}".strip() or username or "A named user"
    return OwnerParty(party).label


def overdue_tasks(scope: Scope) -> Figure:
    """Care tasks due in the period that became overdue, by kind and owner: how many, how many
    are still overdue today, and how many days they stayed overdue (median and IQR)."""
    found = grouped(_overdue(scope), group=_OWNER, samples={"days": F("overdue")},
                    counts={"n": Count("pk"), "open": Count("pk", filter=Q(state=T.OPEN))})
    rows = []
    for (kind, party, user, first, last, username), got in found.items():
        rows.append(Row(f"{kind}:{party}:{user or '-'}",
                        (TaskKind(kind).label, _owner_label(party, first, last, username)),
                        {"n": got["n"], "open": got["open"], **stats_of(got, "days")}))
    rows.sort(key=lambda row: (-row.values["n"], row.labels))
    return Figure(
        "overdue-tasks", "Overdue tasks by kind and owner",
        "Care tasks due in the period that were still open after their due day, by kind and "
        "by who owned them: the days from the due day to the day they were done or skipped "
        "(or to today, for those still open).",
        ("Task", "Owner"),
        (Column("n", "Became overdue", drill=True), Column("open", "Still overdue", drill=True),
         *stats_columns("days overdue", "n")),
        rows, (Series("n"),), "tasks")


def overdue_tasks_cases(scope: Scope, row: str, column: str) -> list[Case]:
    kind, party, user = split_key(row, 3)
    if column not in ("n", "open") or kind not in TaskKind.values \
            or party not in OwnerParty.values:
        raise UnknownBar(row)
    tasks = _overdue(scope).filter(kind=kind, owner_party=party)
    tasks = tasks.filter(owner_user__isnull=True) if user == "-" else \
        tasks.filter(owner_user__external_id=user)
    if column == "open":
        tasks = tasks.filter(state=T.OPEN)
    return [Case(patient, due, f"Due {day_text(due)}; {days} days overdue"
                 + (" and still open" if state == T.OPEN else ""))
            for patient, due, days, state in tasks.values_list("patient_id", "due", "overdue",
                                                               "state")]


# --- referral back ------------------------------------------------------------------------------


def _letters(scope: Scope) -> QuerySet[ReferralLetter]:
    last_dose = Administration.objects.filter(cycle__course_id=OuterRef("course_id")) \
        .order_by("-administered_at").values("administered_at")[:1]
    return (ReferralLetter.objects
            .filter(scope.patients("patient"), scope.during("sent_at"),
                    state=ReferralLetter.State.SENT)
            .annotate(last_dose=Subquery(last_dose), month=local_month("sent_at", scope.tz))
            .annotate(after=not_negative(DaysBetween(local_day("sent_at", scope.tz),
                                                     local_day("last_dose", scope.tz)))))


def referral_back(scope: Scope) -> Figure:
    """The course letters that referred patients back in the period: days from the course's
    last dose to the letter, per month sent."""
    # Letters of a course without a dose given have no interval: not counted.
    found = grouped(_letters(scope), group=("month",), samples={"after": F("after")})
    rows = [Row(month_key(month), (month_label(month),),
                {"n": found.get((month,), {}).get("after_n", 0),
                 **stats_of(found.get((month,)), "after")})
            for month in scope.months]
    return Figure(
        "referral-back", "Referral back after the last dose",
        "Each course letter sent in the month (the patient referred back to their oncologist): "
        "the days from the course's last dose to the letter.",
        ("Month",), (Column("n", "Letters sent", drill=True),
                     *stats_columns("days after the last dose", "n")),
        rows, (Series("median", "q1", "q3"),), "days")


def referral_back_cases(scope: Scope, row: str, column: str) -> list[Case]:
    if column != "n":
        raise UnknownBar(column)
    letters = _letters(scope).filter(month=month_of(row), after__isnull=False)
    return [Case(patient, sent.astimezone(scope.tz).date(),
                 f"Letter {after} days after the last dose")
            for patient, sent, after in letters.values_list("patient_id", "sent_at", "after")]


# --- dose orders: late cancellations and wasted doses -------------------------------------------


def _ended_orders(scope: Scope) -> QuerySet[DoseOrder]:
    return DoseOrder.objects.filter(
        scope.patients("cycle__course__patient"), scope.during("ended_at"),
        state__in=[DoseOrderState.CANCELLED, DoseOrderState.WASTED])


ORDER_ROWS = {"late": "Late cancellations", "wasted": "Wasted doses"}


def order_losses(scope: Scope) -> Figure:
    """Dose orders cancelled after their free-cancellation deadline, and doses received and not
    given, ended in the period, with what they were charged (prrt.orders.order_costs), per
    currency."""
    rows = []
    for currency, costs in sorted(order_costs(_ended_orders(scope)).items()):
        rows.append(Row(f"{currency}:late", (ORDER_ROWS["late"], currency),
                        {"n": costs.late_cancellations,
                         "charge": costs.late_cancellation_charges, "waived": None}))
        rows.append(Row(f"{currency}:wasted", (ORDER_ROWS["wasted"], currency),
                        {"n": costs.wasted, "charge": costs.wasted_charges,
                         "waived": costs.waived}))
    return Figure(
        "order-losses", "Late cancellations and wasted doses",
        "Dose orders that ended in the period: cancelled after the supplier's free-cancellation "
        "deadline, or received and not given, with the charges. A wasted dose's charge is "
        "waived when pre-treatment testing made the patient ineligible.",
        ("Loss", "Currency"),
        (Column("n", "Orders", drill=True), Column("charge", "Charged", "money", basis="n"),
         Column("waived", "Charge waived", drill=True)),
        rows, (Series("n"),), "orders")


def order_losses_cases(scope: Scope, row: str, column: str) -> list[Case]:
    currency, loss = split_key(row, 2)
    if loss not in ORDER_ROWS or column not in ("n", "waived") or (
            loss == "late" and column == "waived"):
        raise UnknownBar(row)
    orders = _ended_orders(scope).filter(currency=currency)
    if loss == "late":
        orders = orders.filter(state=DoseOrderState.CANCELLED, late=True)
    else:
        orders = orders.filter(state=DoseOrderState.WASTED)
        if column == "waived":
            orders = orders.filter(ineligible_on_testing=True)
    return [Case(patient, ended.astimezone(scope.tz).date(),
                 f"{ORDER_ROWS[loss][:-1]}, cycle {cycle}: {charge} {currency}")
            for patient, ended, cycle, charge in orders.values_list(
                "cycle__course__patient_id", "ended_at", "cycle__number", "charge")]


# --- e-consults ---------------------------------------------------------------------------------


def _econsults(scope: Scope) -> QuerySet[EConsult]:
    """E-consults asked in the period: of the centre asked, from the practice's oncologists."""
    condition = scope.during("asked_at")
    if scope.centre_id is not None:
        condition &= Q(centre_id=scope.centre_id)
    if scope.practice_id is not None:
        condition &= Q(asked_by__centre_id=scope.practice_id)
    return EConsult.objects.filter(condition).annotate(
        month=local_month("asked_at", scope.tz))


def econsult_response(scope: Scope) -> Figure:
    """E-consults asked in the period: how many were answered, how many wait, and the hours
    from the question to the answer (median and IQR), per month asked."""
    found = grouped(_econsults(scope), group=("month",),
                    samples={"hours": HoursBetween(F("answered_at"), F("asked_at"))},
                    counts={"n": Count("pk"),
                            "waiting": Count("pk", filter=Q(state=EConsultState.ASKED))})
    rows = [Row(month_key(month), (month_label(month),),
                {"n": found.get((month,), {}).get("n", 0),
                 "answered": found.get((month,), {}).get("hours_n", 0),
                 "waiting": found.get((month,), {}).get("waiting", 0),
                 **stats_of(found.get((month,)), "hours")})
            for month in scope.months]
    return Figure(
        "econsult-response", "E-consult response times",
        "E-consults asked in the month: answered, still waiting for an answer, and the hours "
        "from the question to the answer.",
        ("Month",),
        (Column("n", "Asked"), Column("answered", "Answered"), Column("waiting", "Waiting"),
         *stats_columns("hours", "answered", "hours")),
        rows, (Series("median", "q1", "q3"),), "hours", drills=False)
