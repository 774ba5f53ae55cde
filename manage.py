#!/usr/bin/env python
"""NETcare's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "netcare.settings")
    # A developer's shell with no configuration at all is a development machine. Production
    # always sets SECRET_KEY (it is required there), so DEBUG stays off wherever it is set.
    if "DEBUG" not in os.environ and "SECRET_KEY" not in os.environ:
        os.environ["DEBUG"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
