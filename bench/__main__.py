"""`python -m bench` (`make bench`): run every benchmark module in bench/, each in its own
process (each sets up Django on a database of its own), with its default arguments."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    folder = str(Path(__file__).parent)
    names = sorted(m.name for m in pkgutil.iter_modules([folder]) if not m.name.startswith("_"))
    failed = 0
    for name in names:
        print(f"== bench.{name}", flush=True)
        run = subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False)
        failed += run.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
