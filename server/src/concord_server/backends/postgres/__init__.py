"""postgres backends."""
