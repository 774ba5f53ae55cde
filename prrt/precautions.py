"""The centre's radiation-safety precaution sheet: what a patient is asked to do after each
infusion, each precaution for its own number of days (e.g. 3 days for adults, 7 days near
children and pregnant women).

A centre without a sheet of its own hands out the PRRT best-practice article's Table 2, every
item for the centre's precaution window (``precaution_days`` of its rules settings, default 7).
A centre that keeps its own sheet has its precaution window set to its longest item: the "no
routine blood draws" window, the check-in calls and the completion of each cycle read that one
setting, so they follow the sheet without reading it.

Day 0 is the infusion day: an item of 3 days after an infusion on Monday 6 January 2025 runs
until Thursday 9 January 2025, one of 7 days until Monday 13 January 2025.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction

import rules
from netcare import audit, events
from netcare.models import AuditEvent, Centre, Role
from netcare.workflow import TransitionForbidden, TransitionInvalid
from prrt.models import PrecautionItem

# The article's Table 2: the default sheet, every item for the centre's precaution window.
TABLE_2 = (
    "Sleep in a separate bed.",
    "Keep about 2 metres (6 feet) between you and other people as much as possible.",
    "Sit in the back seat of cars and across the table from others.",
    "Limit contact with small children and pregnant women.",
    "Wash your hands for one full minute with soap and water after using the toilet.",
    "Flush the toilet twice after each use.",
    "No one should touch your bodily fluids or secretions.",
    "Do not have sexual intercourse.",
    "Quickly clean up spilled bodily fluids, wearing gloves.",
    "Throw away items soiled with bodily fluids: flush them down the toilet or put them in a "
    "plastic bag in the household rubbish.",
    "Wash your clothing, sheets and towels separately from those of others in your home.",
    "Shower every day.",
)

MIN_DAYS = 1
MAX_DAYS = 60
MAX_ITEMS = 40
MAX_TEXT = 500
MAX_AUDIENCE = 120  # PrecautionItem.audience


@dataclass(frozen=True)
class SheetItem:
    """One precaution: what to do, for how many days after the infusion, and whom it protects
    when not everyone (blank: everyone)."""

    text: str
    days: int
    audience: str = ""

    def until(self, infusion_day: dt.date) -> dt.date:
        """The last day of this precaution (day 0 is the infusion day)."""
        return infusion_day + dt.timedelta(days=self.days)


@dataclass(frozen=True)
class SheetGroup:
    """The precautions that end on one day and protect the same people."""

    days: int
    until: dt.date
    audience: str
    items: tuple[SheetItem, ...]


@dataclass(frozen=True)
class SheetError:
    """What is wrong with one field of one row (0-based, in the order given; None: the sheet
    as a whole)."""

    row: int | None
    field: str
    message: str

    def __str__(self) -> str:
        return self.message if self.row is None else f"Row {self.row + 1}: {self.message}"


class PrecautionSheetInvalid(TransitionInvalid):
    """The sheet was not saved; `errors` names each row and field at fault."""

    def __init__(self, errors: Sequence[SheetError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(" ".join(str(error) for error in self.errors),
                         field="items" if first.row is None
                         else f"items[{first.row}].{first.field}")


@dataclass(frozen=True)
class SheetSaved:
    items: tuple[SheetItem, ...]
    precaution_days: int
    precaution_days_before: int
    changed: bool

    @property
    def window_moved(self) -> bool:
        return self.precaution_days != self.precaution_days_before


# --- reading ------------------------------------------------------------------------------------


def _config(centre) -> rules.RulesConfig:
    return rules.RulesConfig.from_mapping(centre.rules_settings or {})


def default_sheet(days: int) -> list[SheetItem]:
    """The article's Table 2, every item for `days` days."""
    return [SheetItem(text=text, days=days) for text in TABLE_2]


def centre_sheet_items(centre) -> list[SheetItem]:
    """The centre's own items in order (empty when it keeps none)."""
    return [SheetItem(text=item.text, days=item.days, audience=item.audience)
            for item in PrecautionItem.objects.filter(centre=centre).order_by("position", "id")]


def precaution_sheet(centre) -> list[SheetItem]:
    """The sheet the centre's patients are given: its own items in order or, when it keeps
    none, the article's Table 2 for the centre's precaution window."""
    return centre_sheet_items(centre) or default_sheet(_config(centre).precaution_days)


def sheet_groups(items: Iterable[SheetItem], infusion_day: dt.date) -> list[SheetGroup]:
    """The items grouped by the day they end and whom they protect: shortest first, everyone
    before a named audience, the sheet's order kept inside a group (pure)."""
    grouped: dict[tuple[int, str], list[SheetItem]] = {}
    for item in items:
        grouped.setdefault((item.days, item.audience), []).append(item)
    order = sorted(grouped, key=lambda key: (key[0], key[1] != "", key[1].lower()))
    return [SheetGroup(days=days, until=infusion_day + dt.timedelta(days=days),
                       audience=audience, items=tuple(grouped[(days, audience)]))
            for days, audience in order]


def longest_days(items: Iterable[SheetItem]) -> int:
    return max(item.days for item in items)


# --- validating ---------------------------------------------------------------------------------


def _days_value(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value if value is not None else "").strip()
    if not text.isdigit():
        return None
    return int(text)


def sheet_validate(items: Sequence[Mapping[str, Any]]) -> list[SheetItem]:
    """The items as a sheet, or PrecautionSheetInvalid naming every row and field at fault:
    text required (at most 500 characters), days a whole number from 1 to 60, audience at most
    120 characters; at most 40 items (pure)."""
    errors: list[SheetError] = []
    cleaned: list[SheetItem] = []
    if len(items) > MAX_ITEMS:
        raise PrecautionSheetInvalid([SheetError(None, "items",
                                                 f"A sheet has at most {MAX_ITEMS} items.")])
    for row, item in enumerate(items):
        text = " ".join(str(item.get("text") or "").split())
        audience = " ".join(str(item.get("audience") or "").split())
        days = _days_value(item.get("days"))
        if not text:
            errors.append(SheetError(row, "text", "write the precaution."))
        elif len(text) > MAX_TEXT:
            errors.append(SheetError(row, "text",
                                     f"a precaution has at most {MAX_TEXT} characters."))
        if days is None or not MIN_DAYS <= days <= MAX_DAYS:
            errors.append(SheetError(row, "days", f"give a whole number of days from {MIN_DAYS} "
                                                  f"to {MAX_DAYS}."))
        if len(audience) > MAX_AUDIENCE:
            errors.append(SheetError(row, "audience",
                                     f"the audience has at most {MAX_AUDIENCE} characters."))
        if days is not None:
            cleaned.append(SheetItem(text=text, days=days, audience=audience))
    if errors:
        raise PrecautionSheetInvalid(errors)
    return cleaned


def longest_fitting_days(settings: Mapping[str, Any]) -> int | None:
    """The longest precaution window the centre's other rules settings allow (the window and
    the next cycle's pre-dose labs must fit inside the cycle interval; the post-course labs
    come after it), or None when no window fits (pure)."""
    for days in range(MAX_DAYS, MIN_DAYS - 1, -1):
        try:
            rules.RulesConfig.from_mapping({**settings, "precaution_days": days})
        except (ValueError, TypeError):
            continue
        return days
    return None


def sheet_fit(items: Sequence[SheetItem], settings: Mapping[str, Any]) -> dict[str, Any]:
    """The centre's rules settings with the precaution window set to the sheet's longest item,
    validated by the rules; PrecautionSheetInvalid on the longest rows when it does not fit."""
    longest = longest_days(items)
    updated = {**settings, "precaution_days": longest}
    try:
        rules.RulesConfig.from_mapping(updated)
    except (ValueError, TypeError) as exc:
        limit = longest_fitting_days(settings)
        if limit is None:
            message = f"the centre's rules settings are not valid ({exc})."
        else:
            message = (f"{longest} days does not fit the course's plan ({exc}): the longest "
                       f"precaution may last at most {limit} days.")
        raise PrecautionSheetInvalid([SheetError(row, "days", message)
                                      for row, item in enumerate(items)
                                      if item.days == longest]) from exc
    return updated


# --- changing -----------------------------------------------------------------------------------


def can_edit_sheet(user, centre) -> bool:
    """The centre's NET specialists and nurse navigators keep its precaution sheet."""
    return (user is not None and getattr(user, "is_authenticated", False) and user.is_active
            and user.role in (Role.SPECIALIST, Role.NAVIGATOR) and user.centre_id == centre.pk
            and centre.is_specialist_centre)


def precaution_sheet_save(*, actor, centre, items: Sequence[Mapping[str, Any]]) -> SheetSaved:
    """Replace the centre's precaution sheet with `items` (each with text, days and audience),
    in their order; an empty list goes back to the article's Table 2.

    The centre's precaution window (``precaution_days``) becomes the longest item's days, and
    must fit the course's plan (the rules refuse it otherwise): the no-routine-bloods window,
    the check-ins and the completion of each cycle follow. One audit row on the centre holds
    the sheet and the window before and after; when the window moves, the plans of the centre's
    courses re-sync on commit (``CentreSettingsChanged``). Nothing is written when nothing
    changed."""
    if not can_edit_sheet(actor, centre):
        raise TransitionForbidden("Only the centre's NET specialists and nurse navigators keep "
                                  "its precaution sheet.")
    cleaned = sheet_validate(items)
    with transaction.atomic():
        locked = Centre.objects.select_for_update().get(pk=centre.pk)
        settings = dict(locked.rules_settings or {})
        days_before = _config(locked).precaution_days
        if cleaned:
            settings = sheet_fit(cleaned, settings)
        current = list(PrecautionItem.objects.filter(centre=locked).order_by("position", "id"))
        before = [asdict(SheetItem(i.text, i.days, i.audience)) for i in current]
        after = [asdict(item) for item in cleaned]
        days_after = rules.RulesConfig.from_mapping(settings).precaution_days
        settings_changed = settings != (locked.rules_settings or {})
        if before == after and not settings_changed:
            return SheetSaved(tuple(cleaned), days_after, days_before, changed=False)
        PrecautionItem.objects.filter(centre=locked).delete()
        PrecautionItem.objects.bulk_create(
            PrecautionItem(centre=locked, position=position, text=item.text, days=item.days,
                           audience=item.audience)
            for position, item in enumerate(cleaned))
        changes: dict[str, list[Any]] = {"precaution_sheet": [before, after]}
        if settings_changed:
            locked.rules_settings = settings
            locked.save(update_fields=["rules_settings"])
            centre.rules_settings = settings
            changes["precaution_days"] = [days_before, days_after]
        audit.record(actor=actor, action=AuditEvent.Action.UPDATE, obj=locked, changes=changes,
                     note="Precaution sheet changed" + (
                         f": precaution window {days_before} -> {days_after} days"
                         if days_after != days_before else ""))
        if days_after != days_before:
            events.publish(events.CentreSettingsChanged(centre_id=locked.pk,
                                                        what="precaution_days"))
    return SheetSaved(tuple(cleaned), days_after, days_before, changed=True)

