"""Runs the OpenTelemetry Collector that scripts/otelcol.sh builds (OTLP/HTTP in, OTLP JSON
lines out) on loopback for end-to-end trace tests, and reads the spans it wrote."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.live import free_port, wait_while_running

REPO = Path(__file__).resolve().parents[3]
TIMEOUT_SECONDS = 120.0  # generous: the machine may be busy
KINDS = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


def collector_binary() -> Path:
    """The collector built by `scripts/otelcol.sh build`, or a skip that says so."""
    path = Path(os.environ.get("CONCORD_OTELCOL_BIN", REPO / ".scratch/bin/concord-otelcol"))
    if not path.is_file():
        pytest.skip(f"{path} is missing: run scripts/otelcol.sh build (make test does)")
    return path


@dataclass(frozen=True)
class Span:
    """One exported span, with ids as hex strings and attributes as plain values."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: str
    attributes: dict[str, Any]
    service: str
    error: bool


def _value(v: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    return int(v["intValue"]) if "intValue" in v else v


def _spans_of(line: dict[str, Any]) -> list[Span]:
    spans = []
    for resource_spans in line.get("resourceSpans", []):
        resource = {a["key"]: _value(a["value"]) for a in resource_spans["resource"]["attributes"]}
        for scope in resource_spans.get("scopeSpans", []):
            for s in scope.get("spans", []):
                spans.append(
                    Span(
                        trace_id=s["traceId"],
                        span_id=s["spanId"],
                        parent_id=s.get("parentSpanId", ""),
                        name=s["name"],
                        kind=KINDS.get(s.get("kind", 0), "UNSPECIFIED"),
                        attributes={a["key"]: _value(a["value"]) for a in s.get("attributes", [])},
                        service=str(resource.get("service.name", "")),
                        error=s.get("status", {}).get("code") == 2,
                    )
                )
    return spans


@dataclass
class Collector:
    """One collector process writing every span it receives to `work_dir/spans.jsonl`."""

    work_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The OTLP/HTTP base URL a server exports to."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def spans_file(self) -> Path:
        """Where the file exporter writes."""
        return self.work_dir / "spans.jsonl"

    def start(self) -> Collector:
        """Writes the configuration, starts the process and waits until it accepts spans."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{self.port}"}}}},
            "exporters": {"file": {"path": str(self.spans_file), "flush_interval": "100ms"}},
            "service": {
                "telemetry": {"metrics": {"level": "none"}},
                "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["file"]}},
            },
        }
        config_path = self.work_dir / "config.json"  # JSON is YAML: the collector reads it
        config_path.write_text(json.dumps(config))
        log = (self.work_dir / "otelcol.log").open("ab")
        self.process = subprocess.Popen(
            [str(collector_binary()), "--config", str(config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_for(self._accepts, "the collector to accept spans")
        return self

    def _accepts(self) -> bool:
        try:
            answer = httpx.post(self.endpoint + "/v1/traces", json={}, timeout=2)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def spans(self) -> list[Span]:
        """Every span written so far."""
        if not self.spans_file.exists():
            return []
        found: list[Span] = []
        for line in self.spans_file.read_text().splitlines():
            if line.strip():
                found += _spans_of(json.loads(line))
        return found

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Polls `condition` until it holds; fails with the log tail after the deadline."""
        wait_while_running(
            self.process,
            condition,
            what,
            self.log_tail,
            name="the collector",
            timeout=TIMEOUT_SECONDS,
            interval=0.2,
        )

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the collector's log."""
        path = self.work_dir / "otelcol.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stops the process (SIGTERM, then SIGKILL if it hangs)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
