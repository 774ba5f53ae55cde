"""The centre's reference ranges page: its navigators and NET specialists keep the limits of
normal its laboratory reports (per analyte and unit), used for typed results without their own.
Mounted under the patient pages' URLs (``patients:reference-ranges``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from netcare.access import role_required
from netcare.models import Role
from netcare.numbers import plain
from patients.forms import ReferenceRangeForm
from patients.models import ReferenceRange
from patients.ranges import can_manage_ranges, reference_range_save


def _initial(reference: ReferenceRange) -> dict:
    return {"analyte": reference.analyte, "unit": reference.unit,
            "uln": plain(reference.uln), "lln": plain(reference.lln),
            "laboratory": reference.laboratory}


@role_required(Role.NAVIGATOR, Role.SPECIALIST)
def reference_ranges(request: HttpRequest) -> HttpResponse:
    """List the centre's ranges; add one, or change one (``?change=<id>`` fills the form)."""
    centre = request.user.centre
    if centre is None or not can_manage_ranges(request.user, centre):
        messages.error(request, "Reference ranges are kept by a NET specialist centre's team.")
        return redirect("home")
    ranges = list(ReferenceRange.objects.filter(centre=centre).select_related("updated_by"))
    editing = next((r for r in ranges if str(r.external_id) == request.GET.get("change")), None)
    status = 200
    if request.method == "POST":
        editing = next((r for r in ranges if str(r.external_id) == request.POST.get("range")),
                       None)
        form = ReferenceRangeForm(request.POST)
        if form.is_valid():
            try:
                saved = reference_range_save(actor=request.user, centre=centre,
                                             reference_range=editing, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"Reference range saved: {saved}. Decisions already "
                                          "taken keep the limits they used.")
                return redirect("patients:reference-ranges")
        messages.error(request, "The range was not saved: correct the fields marked below.")
        status = 400
    else:
        form = ReferenceRangeForm(initial=_initial(editing) if editing else None)
    return render(request, "patients/reference_ranges.html",
                  {"centre": centre, "ranges": ranges, "form": form, "editing": editing},
                  status=status)
