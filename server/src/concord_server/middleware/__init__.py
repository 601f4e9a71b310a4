"""Cross-cutting HTTP middleware: metrics and logging."""
