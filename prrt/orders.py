"""Dose orders: the [177Lu]Lu-DOTA-TATE made for one cycle and one calibration time.

A booked cycle at a centre with a supplier has a dose order, prepared "to order" by the booking
itself with the supplier's deadlines (``rules.orders``: order by the cut-off, cancel free until
the free-cancellation day). The centre's team places it (order number), records the supplier's
confirmation and the dose's arrival (lot, measured activity); the administration of the cycle
marks it administered. It can be cancelled before it arrives (late, and charged, after the free
day) or, once arrived and not given, recorded as wasted (charged unless pre-treatment testing
made the patient ineligible).

The plan follows: rebooking moves an order not yet placed; a placed order cannot move (the dose
is made for its calibration time), so it is cancelled, with its charge when late, and a new one
prepared for the new day; a booking released leaves nothing to order. A withhold or a
discontinuation cancels the live order; after the free day the specialist chooses between a
late cancellation (charged) and keeping the dose. No order exists for a cycle that is not
booked (``dose_order_create`` refuses).

Every change goes through the funnel: the row lock, the role check, a CourseEvent, an audit row
and a ``DoseOrderChanged`` event (the plan's order task and the pages follow it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

import rules
from netcare import audit, events
from netcare.clock import centre_today, centre_zone, local_date
from netcare.models import Role
from netcare.workflow import (
    Step,
    TransitionConflict,
    TransitionForbidden,
    TransitionInvalid,
    run_transition,
)
from prrt import clinical
from prrt.models import (
    LIVE_ORDER_STATES,
    OPEN_CYCLE_STATES,
    CourseEvent,
    CourseState,
    Cycle,
    DoseOrder,
    DoseOrderState,
    Supplier,
)
from rules import (
    Charge,
    OrderDeadlines,
    OrderTerms,
    cancellation_charge,
    order_deadlines,
    waste_charge,
)

DEFAULT_CALIBRATION_TIME = dt.time(8, 0)
# A dose is calibrated for its infusion day, or up to this many days before it.
CALIBRATION_DAYS_BEFORE = 2
PLACED_STATES = (DoseOrderState.ORDERED, DoseOrderState.CONFIRMED)
ORDERING_COURSE_STATES = (CourseState.ELIGIBILITY_REVIEW, CourseState.APPROVED,
                          CourseState.ACTIVE)


class OrderAction:
    """What a specialist chooses for a placed dose when withholding after its free day."""

    CANCEL = "cancel"
    KEEP = "keep"
    CHOICES = ((CANCEL, "Cancel the order (late: charged)"),
               (KEEP, "Keep the dose (it is charged if it is not used)"))


# --- terms and deadlines ---------------------------------------------------------------------


def supplier_terms(supplier: Supplier) -> OrderTerms:
    return OrderTerms(cutoff_weekday=supplier.order_cutoff_weekday,
                      cutoff_weeks_before=supplier.order_cutoff_weeks_before,
                      free_cancellation_days_before=supplier.free_cancellation_days_before,
                      late_cancellation_charge=supplier.late_cancellation_charge,
                      unused_dose_charge=supplier.unused_dose_charge,
                      currency=supplier.currency)


def default_supplier(centre) -> Supplier | None:
    """The centre's supplier for new orders: its first active one, by name."""
    return Supplier.objects.filter(centre=centre, active=True).order_by("name", "pk").first()


ORDERABLE_HORIZON_DAYS = 28


def first_orderable_day(centre, today: dt.date) -> dt.date | None:
    """The first infusion day whose dose can still be ordered on time (its cut-off is today or
    later) from the centre's supplier; None when the centre orders no doses."""
    supplier = default_supplier(centre)
    if supplier is None:
        return None
    terms = supplier_terms(supplier)
    for offset in range(ORDERABLE_HORIZON_DAYS + 1):
        day = today + dt.timedelta(days=offset)
        if order_deadlines(day, terms).order_by >= today:
            return day
    return None


def calibration_day(order: DoseOrder, centre) -> dt.date:
    return local_date(order.calibration_at, centre)


def deadlines_of(order: DoseOrder, centre) -> OrderDeadlines:
    """The order's deadlines, on the centre's calendar (its time zone)."""
    return order_deadlines(calibration_day(order, centre), supplier_terms(order.supplier))


def live_order(cycle: Cycle) -> DoseOrder | None:
    return (DoseOrder.objects.filter(cycle=cycle, state__in=LIVE_ORDER_STATES)
            .select_related("supplier").first())


@dataclass(frozen=True)
class OrderView:
    """A dose order as the pages show it: the order, its deadlines and what cancelling today
    would cost."""

    order: DoseOrder
    deadlines: OrderDeadlines
    cancel_today: Charge
    past_order_by: bool
    past_free_cancellation: bool

    @property
    def placed(self) -> bool:
        return self.order.state in PLACED_STATES


def order_view(order: DoseOrder, *, centre, today: dt.date) -> OrderView:
    deadlines = deadlines_of(order, centre)
    return OrderView(order=order, deadlines=deadlines,
                     cancel_today=cancellation_charge(
                         today, deadlines, supplier_terms(order.supplier),
                         ordered=order.state in PLACED_STATES),
                     past_order_by=today > deadlines.order_by,
                     past_free_cancellation=today > deadlines.free_cancellation_until)


# --- the funnel --------------------------------------------------------------------------------


def _check_staff(actor, centre_id: int) -> None:
    if actor is None:
        return  # NETcare itself
    if actor.role not in (Role.NAVIGATOR, Role.SPECIALIST) or actor.centre_id != centre_id:
        raise TransitionForbidden("Only the centre's team orders doses.")


def _changed(order: DoseOrder, name: str, source: str, actor) -> events.DoseOrderChanged:
    return events.DoseOrderChanged(model="prrt.DoseOrder", object_id=order.pk, transition=name,
                                   source=source, target=order.state,
                                   actor_id=getattr(actor, "pk", None),
                                   course_id=order.cycle.course_id, cycle_id=order.cycle_id)


def _event(order: DoseOrder, actor, name: str, source: str, reason: str) -> None:
    CourseEvent.objects.create(course_id=order.cycle.course_id, cycle=order.cycle, actor=actor,
                               transition=name, source=source, target=order.state,
                               reason=reason)


def _calibration(cycle: Cycle, calibration_at: dt.datetime | None) -> dt.datetime:
    centre = cycle.course.centre
    if calibration_at is None:
        return dt.datetime.combine(cycle.booked_date, cycle.booked_time
                                   or DEFAULT_CALIBRATION_TIME, tzinfo=centre_zone(centre))
    if not isinstance(calibration_at, dt.datetime) or timezone.is_naive(calibration_at):
        raise TransitionInvalid("Give the calibration date and time.", field="calibration_at")
    day = local_date(calibration_at, centre)
    first = cycle.booked_date - dt.timedelta(days=CALIBRATION_DAYS_BEFORE)
    if not first <= day <= cycle.booked_date:
        raise TransitionInvalid(
            f"The dose is calibrated for the infusion on {cycle.booked_date:%d %b %Y}: give a "
            f"time from {first:%d %b %Y} to that day.", field="calibration_at")
    return calibration_at


def _activity(cycle: Cycle, activity_gbq) -> Decimal:
    if activity_gbq in (None, ""):
        return cycle.approved_activity_gbq or clinical.rules_config(
            cycle.course.centre).full_activity_gbq
    try:
        value = Decimal(str(activity_gbq))
    except (InvalidOperation, ValueError):
        raise TransitionInvalid("Give the activity in GBq.", field="activity_gbq") from None
    if not value.is_finite() or not Decimal("0.1") <= value <= Decimal(8):
        raise TransitionInvalid("The activity is 0.1 to 8 GBq.", field="activity_gbq")
    return value.quantize(Decimal("0.01"))


def _create(*, actor, cycle: Cycle, supplier: Supplier, calibration_at: dt.datetime,
            activity: Decimal, why: str) -> DoseOrder:
    try:
        with transaction.atomic():
            order = DoseOrder.objects.create(cycle=cycle, supplier=supplier,
                                             calibration_at=calibration_at,
                                             activity_gbq=activity, currency=supplier.currency)
    except IntegrityError:
        raise TransitionConflict(
            f"Cycle {cycle.number} already has a dose order: reload the page.") from None
    deadlines = deadlines_of(order, cycle.course.centre)
    _event(order, actor, "dose_order_create", "",
           f"{why} Order by {deadlines.order_by:%a %d %b %Y}; free cancellation until "
           f"{deadlines.free_cancellation_until:%a %d %b %Y}.")
    audit.record_create(actor=actor, obj=order)
    events.publish(_changed(order, "create", "", actor))
    return order


def dose_order_create(*, actor, cycle: Cycle, supplier: Supplier | None = None,
                      calibration_at: dt.datetime | None = None,
                      activity_gbq=None) -> DoseOrder:
    """Prepare the dose order of a booked cycle ("to order"), as the centre's team."""
    _check_staff(actor, cycle.course.centre_id)
    with transaction.atomic():
        locked = (Cycle.objects.select_for_update(of=("self",))
                  .select_related("course__centre").get(pk=cycle.pk))
        course = locked.course
        if locked.state not in OPEN_CYCLE_STATES or course.state not in ORDERING_COURSE_STATES:
            raise TransitionConflict(f"Cycle {locked.number} is "
                                     f"{locked.get_state_display().lower()}: no dose to order.")
        if locked.booked_date is None:
            raise TransitionInvalid("Book the infusion before ordering its dose.",
                                    field="cycle")
        if live_order(locked) is not None:
            raise TransitionConflict(f"Cycle {locked.number} already has a dose order.")
        supplier = supplier or default_supplier(course.centre)
        if supplier is None or supplier.centre_id != course.centre_id or not supplier.active:
            raise TransitionInvalid("Choose one of the centre's active suppliers (the centre's "
                                    "settings list them).", field="supplier")
        return _create(actor=actor, cycle=locked, supplier=supplier,
                       calibration_at=_calibration(locked, calibration_at),
                       activity=_activity(locked, activity_gbq),
                       why=f"Dose for cycle {locked.number} to order from {supplier.name}.")


STEPS = {
    "place": Step("place", "place the dose order"),
    "confirm": Step("confirm", "record the supplier's confirmation"),
    "receive": Step("receive", "record the dose as received"),
    "administer": Step("administer", "mark the dose administered"),
    "cancel": Step("cancel", "cancel the dose order", reason_required=True),
    "waste": Step("waste", "record the dose as wasted", reason_required=True),
}


def _step(order: DoseOrder, name: str, actor, *, reason: str = "", after_apply=None,
          before_apply=None) -> DoseOrder:
    _check_staff(actor, order.cycle.course.centre_id)
    step = STEPS[name]
    return run_transition(
        queryset=DoseOrder.objects.select_related("cycle__course__centre", "supplier"),
        pk=order.pk, step=step, actor=actor, reason=reason,
        record_event=lambda obj, source, target: _event(
            obj, actor, f"dose_order_{name}", source, reason or f"Dose order: {step.label}."),
        before_apply=before_apply, after_apply=after_apply,
        event=lambda obj, source, target: _changed(obj, name, source, actor))


def _now_or(moment: dt.datetime | None, field: str) -> dt.datetime:
    now = timezone.now()
    if moment is None:
        return now
    if not isinstance(moment, dt.datetime) or timezone.is_naive(moment):
        raise TransitionInvalid("Give a date and time.", field=field)
    if moment > now + dt.timedelta(minutes=5):
        raise TransitionInvalid("That time is in the future.", field=field)
    return moment


def dose_order_place(*, actor, order: DoseOrder, order_number: str,
                     ordered_at: dt.datetime | None = None) -> DoseOrder:
    """The order was placed with the supplier, under its order number."""
    number = (order_number or "").strip()
    if not number:
        raise TransitionInvalid("Give the supplier's order number.", field="order_number")
    if len(number) > 60:
        raise TransitionInvalid("The order number is at most 60 characters.",
                                field="order_number")
    at = _now_or(ordered_at, "ordered_at")

    def apply(obj: DoseOrder) -> None:
        obj.order_number, obj.ordered_at = number, at
    return _step(order, "place", actor, after_apply=apply)


def dose_order_confirm(*, actor, order: DoseOrder) -> DoseOrder:
    def apply(obj: DoseOrder) -> None:
        obj.confirmed_at = timezone.now()
    return _step(order, "confirm", actor, after_apply=apply)


def dose_order_receive(*, actor, order: DoseOrder, lot_number: str, measured_activity_gbq,
                       measured_at: dt.datetime | None = None) -> DoseOrder:
    """The dose arrived: its lot and the activity measured on arrival, at what time."""
    lot = (lot_number or "").strip()
    if not lot or len(lot) > 60:
        raise TransitionInvalid("Give the lot number (at most 60 characters).",
                                field="lot_number")
    try:
        measured = Decimal(str(measured_activity_gbq))
    except (InvalidOperation, ValueError):
        raise TransitionInvalid("Give the measured activity in GBq.",
                                field="measured_activity_gbq") from None
    if not measured.is_finite() or not Decimal("0.1") <= measured <= Decimal(20):
        raise TransitionInvalid("The measured activity is 0.1 to 20 GBq.",
                                field="measured_activity_gbq")
    at = _now_or(measured_at, "measured_at")

    def apply(obj: DoseOrder) -> None:
        obj.lot_number, obj.measured_activity_gbq = lot, measured.quantize(Decimal("0.01"))
        obj.measured_at, obj.received_at = at, timezone.now()
    return _step(order, "receive", actor, after_apply=apply)


def dose_order_cancel(*, actor, order: DoseOrder, reason: str,
                      today: dt.date | None = None) -> DoseOrder:
    """Cancel before the dose arrives: free until the free-cancellation day, charged after."""
    centre = order.cycle.course.centre
    today = today or centre_today(centre)

    def apply(obj: DoseOrder) -> None:
        charge = cancellation_charge(today, deadlines_of(obj, centre),
                                     supplier_terms(obj.supplier),
                                     ordered=obj.ordered_at is not None)
        obj.late, obj.charge, obj.currency = charge.late, charge.amount, charge.currency
        obj.ended_at, obj.end_reason = timezone.now(), f"{reason.strip()} {charge.reason}"
    return _step(order, "cancel", actor, reason=reason, after_apply=apply)


def dose_order_waste(*, actor, order: DoseOrder, reason: str,
                     ineligible_on_testing: bool = False) -> DoseOrder:
    """The dose arrived and was not given: charged unless pre-treatment testing made the
    patient ineligible."""
    def apply(obj: DoseOrder) -> None:
        charge = waste_charge(ineligible_on_testing=ineligible_on_testing,
                              terms=supplier_terms(obj.supplier))
        obj.ineligible_on_testing = bool(ineligible_on_testing)
        obj.charge, obj.currency = charge.amount, charge.currency
        obj.ended_at, obj.end_reason = timezone.now(), f"{reason.strip()} {charge.reason}"
    return _step(order, "waste", actor, reason=reason, after_apply=apply)


# --- the plan follows: bookings, withholds, administrations ----------------------------------


def _describe(order: DoseOrder, centre) -> str:
    """"Cycle 2: the dose ordered for 04 Mar 2025 (order A-1)", to start a sentence."""
    number = f" (order {order.order_number})" if order.order_number else ""
    what = "dose ordered" if order.state != DoseOrderState.TO_ORDER else "dose to order"
    return (f"Cycle {order.cycle.number}: the {what} for "
            f"{calibration_day(order, centre):%d %b %Y}{number}")


def orders_follow_bookings(*, actor, course, today: dt.date) -> list[str]:
    """After a booking or rebooking (inside its transaction): every open cycle's dose order
    follows its booking. Returns what the navigator should know (charges, new deadlines)."""
    centre = course.centre
    supplier = default_supplier(centre)
    notes: list[str] = []
    cycles = list(course.cycles.filter(state__in=OPEN_CYCLE_STATES).order_by("number"))
    live = {o.cycle_id: o for o in DoseOrder.objects.filter(
        cycle__in=cycles, state__in=LIVE_ORDER_STATES).select_related("supplier")}
    for cycle in cycles:
        order = live.get(cycle.pk)
        if order is not None:
            order.cycle = cycle
            day = calibration_day(order, centre)
            if cycle.booked_date is not None and dt.timedelta(0) <= cycle.booked_date - day \
                    <= dt.timedelta(days=CALIBRATION_DAYS_BEFORE):
                continue
            notes += _move_or_cancel(actor=actor, order=order, cycle=cycle, today=today)
            order.refresh_from_db(fields=["state"])
            if order.state in LIVE_ORDER_STATES:
                continue
        if cycle.booked_date is None or supplier is None:
            continue
        new = _create(actor=actor, cycle=cycle, supplier=supplier,
                      calibration_at=_calibration(cycle, None),
                      activity=_activity(cycle, None),
                      why=f"Dose for cycle {cycle.number} to order from {supplier.name} "
                          f"(infusion booked for {cycle.booked_date:%d %b %Y}).")
        deadlines = deadlines_of(new, centre)
        if today > deadlines.order_by:
            notes.append(f"Cycle {cycle.number}: the order cut-off for "
                         f"{cycle.booked_date:%d %b %Y} was {deadlines.order_by:%a %d %b %Y}; "
                         "ask the supplier whether the dose can still be made.")
        else:
            notes.append(f"Cycle {cycle.number}: order the dose by "
                         f"{deadlines.order_by:%a %d %b %Y} (free cancellation until "
                         f"{deadlines.free_cancellation_until:%a %d %b %Y}).")
    return notes


def _move_or_cancel(*, actor, order: DoseOrder, cycle: Cycle, today: dt.date) -> list[str]:
    centre = cycle.course.centre
    if cycle.booked_date is None:
        if order.state == DoseOrderState.TO_ORDER:
            dose_order_cancel(actor=actor, order=order, today=today,
                              reason=f"The booking of cycle {cycle.number} was released.")
            return []
        return [f"{_describe(order, centre)} stays: its booking was released. Book the "
                "infusion again, or cancel the order."]
    if order.state == DoseOrderState.TO_ORDER:
        before = audit.snapshot(order, ["calibration_at"])
        order.calibration_at = _calibration(cycle, None)
        order.save(update_fields=["calibration_at", "updated_at"])
        deadlines = deadlines_of(order, centre)
        note = (f"Dose to order moved to {cycle.booked_date:%d %b %Y}: order by "
                f"{deadlines.order_by:%a %d %b %Y}.")
        _event(order, actor, "dose_order_move", order.state, note)
        audit.record_update(actor=actor, obj=order, before=before, note=note)
        events.publish(_changed(order, "move", order.state, actor))
        return [f"Cycle {cycle.number}: {note}"]
    if order.state in PLACED_STATES:
        what = _describe(order, centre)
        ended = dose_order_cancel(actor=actor, order=order, today=today,
                                  reason=f"Infusion rebooked to {cycle.booked_date:%d %b %Y}.")
        cost = (f"cancelled late: {ended.currency} {ended.charge:,.2f} charged" if ended.late
                else "cancelled free of charge")
        return [f"{what} was {cost}; a new dose is to order."]
    return [f"{_describe(order, centre)} has arrived and cannot move: record it as wasted, or "
            "give it."]


def order_choice_needed(cycle: Cycle, *, today: dt.date) -> OrderView | None:
    """The placed order a withhold or discontinuation would cancel late (after its free day):
    the decision must say whether to cancel it or keep the dose. None when there is no choice."""
    order = live_order(cycle)
    if order is None or order.state not in PLACED_STATES:
        return None
    view = order_view(order, centre=cycle.course.centre, today=today)
    return view if view.past_free_cancellation else None


def orders_after_stop(*, actor, cycle: Cycle, today: dt.date, order_action: str,
                      why: str) -> list[str]:
    """A withhold or discontinuation of `cycle` (inside its transaction): its live order is
    cancelled (free until the free day, else as the specialist chose: cancel late or keep)."""
    order = live_order(cycle)
    if order is None:
        return []
    order.cycle = cycle
    centre = cycle.course.centre
    if order.state == DoseOrderState.RECEIVED:
        return [f"{_describe(order, centre)} has arrived: record it as wasted if it will not "
                "be given."]
    late = order.state in PLACED_STATES and order_view(
        order, centre=centre, today=today).past_free_cancellation
    if late and order_action not in (OrderAction.CANCEL, OrderAction.KEEP):
        raise TransitionInvalid(
            f"{_describe(order, centre)} is past its free cancellation: choose whether to "
            "cancel it (charged) or keep the dose.", field="order_action")
    if late and order_action == OrderAction.KEEP:
        _event(order, actor, "dose_order_keep", order.state,
               f"Dose kept after {why}: charged if it is not used.")
        return [f"{_describe(order, centre)} is kept: it is charged if it is not used."]
    ended = dose_order_cancel(actor=actor, order=order, today=today, reason=f"Cycle {why}.")
    if ended.late:
        return [f"{_describe(order, centre)} was cancelled late: {ended.currency} "
                f"{ended.charge:,.2f} charged."]
    return [f"{_describe(order, centre)} was cancelled free of charge."]


def orders_after_administration(*, cycle: Cycle) -> None:
    """The cycle was given (inside its transaction): its live order is administered, as
    NETcare's own act."""
    order = live_order(cycle)
    if order is not None:
        order.cycle = cycle
        _step(order, "administer", None)


# --- what ordering cost -------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderCosts:
    late_cancellations: int
    late_cancellation_charges: Decimal
    wasted: int
    wasted_charges: Decimal
    waived: int


def order_costs(orders) -> dict[str, OrderCosts]:
    """Late cancellations and wasted doses, with their charges, per currency, from the order
    rows (`orders`: a DoseOrder queryset already scoped and filtered by period)."""
    late = Q(state=DoseOrderState.CANCELLED, late=True)
    wasted = Q(state=DoseOrderState.WASTED)
    rows = orders.order_by().values("currency").annotate(
        n_late=Count("pk", filter=late), sum_late=Sum("charge", filter=late),
        n_wasted=Count("pk", filter=wasted), sum_wasted=Sum("charge", filter=wasted),
        n_waived=Count("pk", filter=wasted & Q(ineligible_on_testing=True)))
    return {row["currency"]: OrderCosts(row["n_late"], row["sum_late"] or Decimal(0),
                                        row["n_wasted"], row["sum_wasted"] or Decimal(0),
                                        row["n_waived"]) for row in rows}


def supplier_terms_error(supplier: Supplier) -> str:
    """What is wrong with a supplier's terms for the centre's plan ("" when nothing is): the
    pre-dose labs must fit in their window before the free-cancellation deadline."""
    try:
        supplier_terms(supplier)
        labs_setting(supplier.centre, extra=supplier)
    except (ValueError, rules.RulesInputError) as exc:
        return str(exc)
    return ""


def labs_setting(centre, *, extra: Supplier | None = None) -> dict:
    """The centre's rules settings with the pre-dose labs due before the free-cancellation
    deadline of its active suppliers (the earliest one), validated."""
    suppliers = [s for s in Supplier.objects.filter(centre=centre, active=True)
                 if extra is None or s.pk != extra.pk]
    if extra is not None and extra.active:
        suppliers.append(extra)
    settings = dict(centre.rules_settings or {})
    if suppliers:
        settings["pre_dose_labs_by_days_before"] = 1 + max(
            s.free_cancellation_days_before for s in suppliers)
    else:
        settings.pop("pre_dose_labs_by_days_before", None)
    rules.RulesConfig.from_mapping(settings)
    return settings


def supplier_saved(*, actor, supplier: Supplier) -> None:
    """After a supplier's terms changed (the admin site): the centre's plan draws the pre-dose
    labs before the free-cancellation deadline; its courses re-plan."""
    centre = supplier.centre
    settings = labs_setting(centre)
    if settings != (centre.rules_settings or {}):
        before = audit.snapshot(centre, ["rules_settings"])
        centre.rules_settings = settings
        centre.save(update_fields=["rules_settings"])
        audit.record_update(actor=actor, obj=centre, before=before,
                            note="pre-dose labs before the free-cancellation deadline")
        events.publish(events.CentreSettingsChanged(centre_id=centre.pk,
                                                    what="pre_dose_labs_by_days_before"))
