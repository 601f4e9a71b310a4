"""Entry point for `python -m concord_codegen`."""

from concord_codegen.cli import main

raise SystemExit(main())
