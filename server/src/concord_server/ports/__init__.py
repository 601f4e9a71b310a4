"""Ports: the storage interfaces the domain needs, as typing Protocols and frozen records."""
