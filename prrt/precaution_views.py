"""The centre's precaution sheet page (``prrt:precaution-sheet``): its NET specialists and nurse
navigators read and edit the radiation-safety precautions its patients are given after each
infusion, each with its own number of days, and see the dates a patient infused today would be
given. Saving goes through prrt.precautions.precaution_sheet_save (validated, audited; the
centre's precaution window follows the longest item)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from netcare.access import role_required
from netcare.clock import centre_today
from netcare.models import Role
from netcare.workflow import TransitionError
from prrt import clinical
from prrt.precautions import (
    MAX_AUDIENCE,
    MAX_DAYS,
    MAX_ITEMS,
    MAX_TEXT,
    MIN_DAYS,
    PrecautionSheetInvalid,
    SheetItem,
    can_edit_sheet,
    centre_sheet_items,
    default_sheet,
    precaution_sheet_save,
    sheet_groups,
)

PREFIX = "items"


class PrecautionItemForm(forms.Form):
    """One row of the sheet; its labels carry the row's number, so each field is named on its
    own (a screen reader, a test) among the rows."""

    text = forms.CharField(max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2}))
    days = forms.IntegerField(min_value=MIN_DAYS, max_value=MAX_DAYS,
                              help_text=f"Days after the infusion (day 0), {MIN_DAYS} to "
                                        f"{MAX_DAYS}.")
    audience = forms.CharField(max_length=MAX_AUDIENCE, required=False,
                               help_text='Blank for everyone; e.g. "children and pregnant '
                                         'women".')

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        number = self.row_number
        self.fields["text"].label = f"Text of precaution {number}"
        self.fields["days"].label = f"Days for precaution {number}"
        self.fields["audience"].label = f"Only near (precaution {number})"

    @property
    def row_number(self) -> str:
        index = (self.prefix or "").rpartition("-")[2]
        return str(int(index) + 1) if index.isdigit() else ""


PrecautionFormSet = forms.formset_factory(PrecautionItemForm, extra=1, can_delete=True,
                                          max_num=MAX_ITEMS, validate_max=True)


def _rows_posted(data) -> list[dict]:
    """The rows as typed (removed ones left out), to show again with one more blank row."""
    try:
        total = min(int(data.get(f"{PREFIX}-TOTAL_FORMS", 0)), MAX_ITEMS)
    except (TypeError, ValueError):
        total = 0
    rows = []
    for index in range(total):
        key = f"{PREFIX}-{index}-"
        if data.get(f"{key}DELETE"):
            continue
        row = {name: data.get(f"{key}{name}", "") for name in ("text", "days", "audience")}
        if any(str(value).strip() for value in row.values()):
            rows.append(row)
    return rows


def _items_of(formset) -> tuple[list[dict], list[PrecautionItemForm]]:
    """The rows to save, in order, and the form each came from: removed rows and blank new
    rows are left out."""
    items, forms_used = [], []
    removed = set(map(id, formset.deleted_forms))
    for form in formset.forms:
        if id(form) in removed:
            continue
        if form.empty_permitted and not form.has_changed():
            continue
        items.append({name: form.cleaned_data.get(name) for name in ("text", "days",
                                                                       "audience")})
        forms_used.append(form)
    return items, forms_used


def _show_errors(formset, forms_used, exc: PrecautionSheetInvalid) -> list[str]:
    """Each row's error beside its field; what concerns the whole sheet is returned."""
    general = []
    for error in exc.errors:
        message = error.message[:1].upper() + error.message[1:]
        if error.row is None or error.row >= len(forms_used):
            general.append(message)
            continue
        form = forms_used[error.row]
        form.add_error(error.field if error.field in form.fields else None, message)
    return general


@role_required(Role.NAVIGATOR, Role.SPECIALIST)
def precaution_sheet_page(request: HttpRequest) -> HttpResponse:
    """Show the centre's sheet (or the article's Table 2 it uses by default), edit it row by
    row (add a row, remove a row), go back to Table 2, and preview today's dates."""
    centre = request.user.centre
    if centre is None or not can_edit_sheet(request.user, centre):
        raise Http404("Not found.")
    own = centre_sheet_items(centre)
    config = clinical.rules_config(centre)
    status = 200
    general: list[str] = []
    if request.method == "POST" and "reset" in request.POST:
        return _save(request, centre, [], reset=True)
    if request.method == "POST" and "add" in request.POST:
        rows = _rows_posted(request.POST)
        formset = PrecautionFormSet(prefix=PREFIX, initial=rows)
    elif request.method == "POST":
        formset = PrecautionFormSet(request.POST, prefix=PREFIX)
        if formset.is_valid():
            items, forms_used = _items_of(formset)
            if not items:
                general.append("Keep at least one precaution, or go back to the article's "
                               "Table 2.")
            else:
                try:
                    return _save(request, centre, items)
                except PrecautionSheetInvalid as exc:
                    general += _show_errors(formset, forms_used, exc)
        general += [str(error) for error in formset.non_form_errors()]
        messages.error(request, "The precaution sheet was not saved: correct the fields "
                                "marked below.")
        status = 400
    else:
        shown = own or default_sheet(config.precaution_days)
        formset = PrecautionFormSet(prefix=PREFIX, initial=[
            {"text": item.text, "days": item.days, "audience": item.audience} for item in shown])
    today = centre_today(centre)
    sheet: list[SheetItem] = own or default_sheet(config.precaution_days)
    return render(request, "prrt/precaution_sheet.html", {
        "centre": centre, "own": bool(own), "sheet": sheet, "formset": formset,
        "general_errors": general, "precaution_days": config.precaution_days,
        "today": today, "preview": sheet_groups(sheet, today),
        "max_days": MAX_DAYS,
    }, status=status)


def _save(request: HttpRequest, centre, items: list[dict], *, reset: bool = False):
    try:
        saved = precaution_sheet_save(actor=request.user, centre=centre, items=items)
    except PrecautionSheetInvalid:
        raise
    except TransitionError as exc:
        messages.error(request, exc.message)
        return redirect("prrt:precaution-sheet")
    if not saved.changed:
        messages.success(request, "Nothing changed: the precaution sheet is as it was.")
    elif reset:
        messages.success(request, "The centre now uses the article's Table 2 for its "
                                  f"precaution window of {saved.precaution_days} days.")
    elif saved.window_moved:
        messages.success(request, "Precaution sheet saved. The precaution window is now "
                                  f"{saved.precaution_days} days (it was "
                                  f"{saved.precaution_days_before}): the no-routine-bloods "
                                  "window, the check-in calls and the plans of the centre's "
                                  "courses follow.")
    else:
        messages.success(request, "Precaution sheet saved. The precaution window stays "
                                  f"{saved.precaution_days} days.")
    return redirect("prrt:precaution-sheet")
