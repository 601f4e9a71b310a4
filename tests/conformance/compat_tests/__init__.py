"""Self-tests of `make compat` and `make spec-breaking`: deliberate breaking changes are caught."""
