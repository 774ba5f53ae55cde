"""A centre's reference ranges (limits of normal per analyte and unit, from its laboratory),
and the limits a lab result is read with: its own where it has them, else the centre's.

A result's own ULN or LLN always wins; a limit it lacks comes from the centre's range for its
analyte and unit (a spelling of the same unit, ``umol/L`` or ``µmol/L``, is the same unit). The
rules, the lab table, the approval page and the decision's labs snapshot all read limits through
:class:`CentreRanges`, so they agree, and a decision keeps the limits it used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

import rules
from netcare import audit
from netcare.models import Role
from netcare.numbers import plain, unit_display
from patients.models import RANGED_ANALYTES, LabResult, ReferenceRange

RESULT = "result"
CENTRE = "centre"

logger = logging.getLogger(__name__)


def unit_factor(analyte: str, unit: str) -> Fraction | None:
    """The unit's factor to the analyte's canonical unit (None: not a unit the rules know)."""
    try:
        spec = rules.SPECS[rules.Analyte(analyte)]
    except ValueError:
        return None
    return spec.factors.get(unit)


def same_unit(analyte: str, unit: str) -> list[str]:
    """Every spelling of `unit` for `analyte` (``umol/L``, ``µmol/L``, ``μmol/L``)."""
    factor = unit_factor(analyte, unit)
    if factor is None:
        return [unit]
    spec = rules.SPECS[rules.Analyte(analyte)]
    return [name for name, value in spec.factors.items() if value == factor]


@dataclass(frozen=True)
class Limits:
    """The limits of normal a result is read with, and where each came from."""

    uln: Decimal | None = None
    lln: Decimal | None = None
    uln_source: str = ""  # RESULT, CENTRE or "" (none)
    lln_source: str = ""
    laboratory: str = ""  # the centre range's laboratory, when one was used

    @property
    def from_centre(self) -> bool:
        return CENTRE in (self.uln_source, self.lln_source)

    @property
    def source(self) -> str:
        """``result``, ``centre``, ``result and centre`` or "" (no limits)."""
        sources = [s for s in (RESULT, CENTRE) if s in (self.uln_source, self.lln_source)]
        return " and ".join(sources)

    def text(self, unit: str) -> str:
        """``ULN 1.2 mg/dL (Riverside laboratory)``, for the pages; "" without limits."""
        parts = [f"{name} {plain(value)}" for name, value in (("LLN", self.lln),
                                                              ("ULN", self.uln))
                 if value is not None]
        if not parts:
            return ""
        shown = f"{', '.join(parts)} {unit_display(unit)}".strip()
        if self.from_centre:
            shown += f" ({self.laboratory or 'centre range'})"
        return shown

    def snapshot(self) -> dict[str, Any]:
        """What a decision's labs snapshot keeps of the limits it used."""
        return {"uln": None if self.uln is None else plain(self.uln),
                "lln": None if self.lln is None else plain(self.lln),
                "uln_source": self.uln_source, "lln_source": self.lln_source,
                "laboratory": self.laboratory if self.from_centre else ""}


class CentreRanges:
    """The reference ranges of one centre, looked up by analyte and unit (no query per lab)."""

    def __init__(self, ranges: Iterable[ReferenceRange] = ()) -> None:
        self._ranges: dict[tuple[str, Fraction], ReferenceRange] = {}
        for reference in ranges:
            factor = unit_factor(reference.analyte, reference.unit)
            if factor is not None:
                self._ranges[(reference.analyte, factor)] = reference

    @classmethod
    def of(cls, centre_id: int | None) -> CentreRanges:
        """The centre's ranges as stored now (decisions and saves read these)."""
        if centre_id is None:
            return cls()
        return cls(ReferenceRange.objects.filter(centre_id=centre_id))

    @classmethod
    def cached(cls, centre_id: int | None) -> CentreRanges:
        """The centre's ranges through the cache, for the pages that show them: read from the
        table on a miss, dropped from the cache whenever one of the centre's ranges is saved or
        deleted (see :func:`forget_centre_ranges`), and kept at most CACHE_SECONDS."""
        if centre_id is None:
            return cls()
        key = _cache_key(centre_id)
        rows = _quietly(cache.get, key)
        if rows is None:
            rows = list(ReferenceRange.objects.filter(centre_id=centre_id)
                        .values_list(*CACHED_FIELDS))
            _quietly(cache.set, key, rows, CACHE_SECONDS)
        return cls(ReferenceRange(centre_id=centre_id, **dict(zip(CACHED_FIELDS, row,
                                                                  strict=True)))
                   for row in rows)

    def range_for(self, analyte: str, unit: str) -> ReferenceRange | None:
        factor = unit_factor(analyte, unit)
        return None if factor is None else self._ranges.get((analyte, factor))

    def limits(self, analyte: str, unit: str, uln: Any = None, lln: Any = None) -> Limits:
        """The limits for a value of `analyte` in `unit` that carries `uln` and `lln` (either may
        be None): its own win; a missing one is the centre's."""
        if analyte in LabResult.PLAIN_NUMBER_ANALYTES:
            return Limits()
        own = {"uln": _number(uln), "lln": _number(lln)}
        reference = self.range_for(analyte, unit)
        values: dict[str, Any] = {}
        laboratory = ""
        for name in ("uln", "lln"):
            if own[name] is not None:
                values[name], values[f"{name}_source"] = own[name], RESULT
            elif reference is not None and getattr(reference, name) is not None:
                values[name], values[f"{name}_source"] = getattr(reference, name), CENTRE
                laboratory = reference.laboratory
        return Limits(**values, laboratory=laboratory)

    def limits_for(self, lab: LabResult) -> Limits:
        return self.limits(lab.analyte, lab.unit, lab.uln, lab.lln)


# --- the cached copy ---------------------------------------------------------------------------

# What the cache keeps of each range (plain values, not pickled model instances), and for how
# long at most: a safety net only, the copy is dropped whenever a range is written.
CACHED_FIELDS = ("pk", "analyte", "unit", "uln", "lln", "laboratory")
CACHE_SECONDS = 60 * 60


def _cache_key(centre_id: int) -> str:
    return f"patients:reference-ranges:{centre_id}"


def forget_centre_ranges(centre_id: int) -> None:
    """Drop the cached ranges of a centre: at once, and again once the writing transaction has
    committed (a page read in between, from the rows as committed before, may have put the old
    ranges back)."""
    key = _cache_key(centre_id)
    _quietly(cache.delete, key)
    transaction.on_commit(lambda: _quietly(cache.delete, key))


def _quietly(call, *args):
    """A cache call that never fails the page or the save: the cache is only a shortcut to the
    table (a cache that does not answer, Redis down, reads the table; a drop it missed is undone
    by the entry's expiry)."""
    try:
        return call(*args)
    except Exception:  # the cache backend's own errors (redis.ConnectionError, ...)
        logger.warning("The cache did not answer; reference ranges read from the database",
                       exc_info=True)
        return None


def reference_range_written(sender, instance: ReferenceRange, **kwargs) -> None:
    """Every write of a range through the ORM (the service, the admin, a shell) drops the cache;
    connected in PatientsConfig.ready. A bulk update bypasses this: call forget_centre_ranges."""
    forget_centre_ranges(instance.centre_id)


def _number(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value).strip())


# --- changing a centre's ranges ----------------------------------------------------------------


def can_manage_ranges(user, centre) -> bool:
    """A centre's navigators and NET specialists keep its ranges; administrators too (admin)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.role == Role.ADMINISTRATOR:
        return True
    return (user.role in (Role.NAVIGATOR, Role.SPECIALIST) and user.centre_id == centre.pk
            and centre.is_specialist_centre)


def reference_range_validate(*, analyte: str, unit: str, uln: Any, lln: Any,
                             laboratory: str) -> dict[str, Any]:
    """The cleaned values of a range, or a ValidationError naming each bad field: a known
    analyte and unit, at least one limit, each plausible in that unit (a ULN in the range the
    rules accept for it), the LLN below the ULN, and the laboratory's name."""
    errors: dict[str, list[str]] = {}
    if analyte not in dict(RANGED_ANALYTES):
        raise ValidationError({"analyte": f"Unknown analyte '{analyte}'."})
    if unit_factor(analyte, unit) is None:
        accepted = ", ".join(rules.SPECS[rules.Analyte(analyte)].factors)
        raise ValidationError({"unit": f"Unknown unit '{unit}' for {analyte}; accepted: "
                                       f"{accepted}."})
    limits: dict[str, Decimal | None] = {}
    for name, raw in (("uln", uln), ("lln", lln)):
        try:
            limits[name] = _number(raw)
        except ArithmeticError:
            errors.setdefault(name, []).append(f"'{raw}' is not a number.")
            continue
        if limits[name] is not None and not (limits[name].is_finite() and limits[name] > 0):
            errors.setdefault(name, []).append("Enter a number greater than zero.")
    laboratory = (laboratory or "").strip()
    if not laboratory:
        errors["laboratory"] = ["Name the laboratory the range comes from."]
    if errors:
        raise ValidationError(errors)
    if limits["uln"] is None and limits["lln"] is None:
        raise ValidationError({"uln": "Give the ULN, the LLN or both."})
    if limits["uln"] is not None and limits["lln"] is not None and limits["lln"] >= limits["uln"]:
        raise ValidationError({"lln": "The LLN must be below the ULN."})
    # Each limit must itself be a plausible value in this unit, and a ULN must lie in the range
    # the rules accept for it: the rules' units check both (one definition).
    for name in ("uln", "lln"):
        value = limits[name]
        if value is None:
            continue
        try:
            if name == "uln":
                rules.lab_value(analyte, value, unit, uln=value)
            else:
                rules.quantity(analyte, value, unit)
        except rules.RulesInputError as exc:
            raise ValidationError({name: f"{name.upper()}: {exc.message}."}) from None
    return {"analyte": analyte, "unit": unit, "laboratory": laboratory, **limits}


RANGE_FIELDS = ["analyte", "unit", "uln", "lln", "laboratory"]


def reference_range_save(*, actor, centre, analyte: str, unit: str, uln: Any = None,
                         lln: Any = None, laboratory: str,
                         reference_range: ReferenceRange | None = None) -> ReferenceRange:
    """Add the centre's range for an analyte and unit, or change it (the one given, else the
    one already kept for that analyte and unit). Audited with the values before and after.
    Decisions already taken keep the limits they used."""
    if not can_manage_ranges(actor, centre):
        raise PermissionDenied("Only the centre's navigators and NET specialists keep its "
                               "reference ranges.")
    data = reference_range_validate(analyte=analyte, unit=unit, uln=uln, lln=lln,
                                    laboratory=laboratory)
    with transaction.atomic():
        ranges = ReferenceRange.objects.select_for_update().filter(centre=centre)
        if reference_range is not None:
            existing = ranges.get(pk=reference_range.pk)
        else:
            existing = ranges.filter(analyte=analyte,
                                     unit__in=same_unit(analyte, unit)).first()
        clash = ranges.filter(analyte=analyte, unit__in=same_unit(analyte, unit))
        if existing is not None:
            clash = clash.exclude(pk=existing.pk)
        if clash.exists():
            raise ValidationError({"unit": "The centre already has a range for this analyte "
                                           "and unit: change that one."})
        if existing is None:
            reference = ReferenceRange(centre=centre, updated_by=actor, **data)
            reference.save()
            audit.record_create(actor=actor, obj=reference)
            return reference
        before = audit.snapshot(existing, RANGE_FIELDS)
        for key, value in data.items():
            setattr(existing, key, value)
        existing.updated_by = actor
        try:
            with transaction.atomic():
                existing.save()
        except IntegrityError:
            raise ValidationError({"unit": "The centre already has a range for this analyte "
                                           "and unit."}) from None
        existing.refresh_from_db(fields=RANGE_FIELDS)  # compared as stored
        audit.record_update(actor=actor, obj=existing, before=before,
                            note=f"Reference range changed: {existing}")
    return existing
