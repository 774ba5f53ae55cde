"""The dose order panel of the cycle page: what is ordered, its deadlines and charges, and the
centre team's actions (prepare, place, confirm, receive, cancel, record as wasted)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from netcare.access import role_required
from netcare.models import Role
from netcare.workflow import TransitionConflict, TransitionError
from prrt import orders, selectors
from prrt.models import LIVE_ORDER_STATES, OPEN_CYCLE_STATES, DoseOrder, DoseOrderState, Supplier
from prrt.order_forms import FORMS

# The actions each state offers, in the order the panel shows them.
ACTIONS = {
    DoseOrderState.TO_ORDER: ("place", "cancel"),
    DoseOrderState.ORDERED: ("confirm", "receive", "cancel"),
    DoseOrderState.CONFIRMED: ("receive", "cancel"),
    DoseOrderState.RECEIVED: ("waste",),
}
LABELS = {"create": "Prepare the dose order", "place": "Record the order as placed",
          "confirm": "The supplier confirmed it", "receive": "The dose arrived",
          "cancel": "Cancel the order", "waste": "Record the dose as wasted"}


def order_context(cycle, *, today, is_centre_staff: bool, bound=None) -> dict:
    """What the cycle page shows of the cycle's dose orders; `bound` is a form with errors
    (its action name as ``bound.action``) to show in place of a blank one."""
    history = list(DoseOrder.objects.filter(cycle=cycle).select_related("supplier")
                   .order_by("created_at", "pk"))
    live = next((o for o in history if o.state in LIVE_ORDER_STATES), None)
    centre = cycle.course.centre
    context = {"dose_orders": [orders.order_view(o, centre=centre, today=today)
                               for o in history],
               "dose_order": (orders.order_view(live, centre=centre, today=today)
                              if live is not None else None)}
    if not is_centre_staff:
        return context
    names = list(ACTIONS.get(live.state, ())) if live is not None else []
    suppliers = Supplier.objects.filter(centre=centre, active=True).order_by("name")
    if live is None and cycle.booked_date is not None and cycle.state in OPEN_CYCLE_STATES:
        names = ["create"]
    forms = []
    for name in names:
        if bound is not None and bound.action == name:
            form = bound
        else:
            form = _form(name, centre, suppliers=suppliers)
        form.label = LABELS[name]
        forms.append(form)
    context["order_forms"] = forms
    context["has_suppliers"] = live is not None or suppliers.exists()
    return context


def _form(action: str, centre, data=None, *, suppliers=None):
    kwargs = {"suppliers": suppliers} if action == "create" else {}
    form = FORMS[action](data, prefix=f"order-{action}", time_zone=centre.time_zone, **kwargs)
    form.action = action
    return form


@require_POST
@role_required(Role.NAVIGATOR, Role.SPECIALIST)
def cycle_order_action(request: HttpRequest, external_id, action: str) -> HttpResponse:
    from prrt.views import render_cycle  # the cycle page, with this form's errors

    cycle = selectors.cycle_for(request.user, external_id)
    centre = cycle.course.centre
    if action not in FORMS:
        return redirect("prrt:cycle", external_id=cycle.external_id)
    form = _form(action, centre, request.POST,
                 suppliers=Supplier.objects.filter(centre=centre, active=True))
    if form.is_valid():
        try:
            done = _apply(request.user, cycle, action, form.cleaned_data)
        except TransitionError as exc:
            if exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            else:  # a state or role problem: said at the top of the page too
                form.add_error(None, exc.message)
                messages.error(request, exc.message)
            form.status = exc.status
        else:
            messages.success(request, _done_message(action, done, centre))
            return redirect("prrt:cycle", external_id=cycle.external_id)
    messages.error(request, "The dose order was not changed.")
    return render_cycle(request, cycle, order_form=form, status=getattr(form, "status", 400))


def _apply(actor, cycle, action: str, data: dict) -> DoseOrder:
    if action == "create":
        return orders.dose_order_create(actor=actor, cycle=cycle, supplier=data["supplier"],
                                        calibration_at=data.get("calibration_at"),
                                        activity_gbq=data.get("activity_gbq"))
    order = orders.live_order(cycle)
    if order is None:
        raise TransitionConflict("This cycle has no open dose order: reload the page.")
    order.cycle = cycle
    if action == "place":
        return orders.dose_order_place(actor=actor, order=order,
                                       order_number=data["order_number"])
    if action == "confirm":
        return orders.dose_order_confirm(actor=actor, order=order)
    if action == "receive":
        return orders.dose_order_receive(
            actor=actor, order=order, lot_number=data["lot_number"],
            measured_activity_gbq=data["measured_activity_gbq"],
            measured_at=data.get("measured_at"))
    if action == "cancel":
        return orders.dose_order_cancel(actor=actor, order=order, reason=data["reason"])
    return orders.dose_order_waste(actor=actor, order=order, reason=data["reason"],
                                   ineligible_on_testing=data["ineligible_on_testing"])


def _done_message(action: str, order: DoseOrder, centre) -> str:
    if action in ("cancel", "waste"):
        charge = (f" {order.currency} {order.charge:,.2f} charged." if order.charge
                  else " No charge.")
        return f"Dose order {order.get_state_display().lower()}.{charge}"
    if action == "create":
        deadlines = orders.deadlines_of(order, centre)
        return (f"Dose order prepared: order it by {deadlines.order_by:%a %d %b %Y}.")
    return f"Dose order: {order.get_state_display().lower()}."

