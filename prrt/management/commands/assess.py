"""``python manage.py assess FILE|-``: run one clinical scenario through the NETcare rules.

Reads a JSON scenario (contract in clinical-rules.md §5) from FILE or stdin and prints the result
as JSON, exit 0. Invalid input prints ``{"error": {"field": ..., "message": ...}}`` and exits 2.
Per-centre choices come from the optional ``NETCARE_RULES`` settings mapping (see
``rules.RulesConfig``). No database access.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from rules import RulesConfig, RulesInputError, assess_json

EXIT_INVALID_INPUT = 2


class Command(BaseCommand):
    help = "Assess a clinical scenario (JSON from FILE, or '-' for stdin) and print JSON."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="scenario JSON file, or '-' to read stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = self._read(options["file"], options.get("stdin") or sys.stdin)
            config = RulesConfig.from_mapping(getattr(settings, "NETCARE_RULES", {}))
            result = assess_json(text, config)
        except RulesInputError as error:
            self.stdout.write(json.dumps(error.as_dict(), indent=2, ensure_ascii=False))
            raise SystemExit(EXIT_INVALID_INPUT) from None
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))

    @staticmethod
    def _read(name: str, stdin: Any) -> str:
        if name == "-":
            return stdin.read()
        try:
            return Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesInputError("file", f"cannot read {name}: {exc}") from None
