"""memory backends."""
