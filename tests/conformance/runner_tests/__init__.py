"""Tests of the conformance runner itself (no server needed)."""
