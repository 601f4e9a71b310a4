"""The conformance runner: loads cases, drives adapters over NDJSON, judges and reports."""
