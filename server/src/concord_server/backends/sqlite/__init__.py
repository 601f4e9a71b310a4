"""sqlite backends."""
