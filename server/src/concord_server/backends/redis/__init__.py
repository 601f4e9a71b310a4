"""redis backends."""
