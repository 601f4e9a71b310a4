"""`python -m tests.conformance.runner`: run the conformance suite."""

from __future__ import annotations

import sys

from tests.conformance.runner.cli import main

if __name__ == "__main__":
    sys.exit(main())
