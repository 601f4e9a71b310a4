"""Concord's language-neutral conformance suite: cases as data, one runner, thin SDK adapters."""
