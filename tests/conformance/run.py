#!/usr/bin/env python3
"""`tests/conformance/run.py`: run the conformance suite from any working directory."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conformance.runner.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
