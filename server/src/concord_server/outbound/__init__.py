"""Outbound adapters: the server calling other systems (saga HTTP steps)."""
