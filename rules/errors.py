"""The one error the clinical rules raise for bad input: it names the exact field."""

from __future__ import annotations


class RulesInputError(ValueError):
    """Invalid input to a rule, naming the field path (``labs.platelets.unit``) and the problem.

    The rules never guess: an unknown unit, a negative or non-finite number, a physiologically
    impossible value or dates out of order are refused with this error.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, dict[str, str]]:
        """The JSON shape of ``manage.py assess`` errors."""
        return {"error": {"field": self.field, "message": self.message}}


def join_path(parent: str, child: str | int) -> str:
    """Build a field path: ``join_path("labs", "platelets") == "labs.platelets"``."""
    if isinstance(child, int):
        return f"{parent}[{child}]"
    return f"{parent}.{child}" if parent else child
