"""The chart's `helm test`: readiness, one lock acquired and released, metrics. Stdlib only.

Environment: CONCORD_URL (the Service's REST address), CONCORD_API_KEY, and for TLS either
CONCORD_CA_FILE (verify against it) or nothing (the check then skips verification: it tests the
server, not the certificate chain). Exit 0 when every check passes.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request
import uuid


def call(method: str, path: str, body: dict[str, object] | None = None) -> tuple[int, bytes]:
    """One request to the server; the status and the body, errors included."""
    url = os.environ["CONCORD_URL"].rstrip("/") + path
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("X-API-Key", os.environ.get("CONCORD_API_KEY", ""))
    request.add_header("Content-Type", "application/json")
    context = None
    if url.startswith("https:"):
        ca = os.environ.get("CONCORD_CA_FILE", "")
        context = ssl.create_default_context(cafile=ca or None)
        if not ca:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def check(name: str, ok: bool, detail: object) -> None:
    """Prints the outcome; stops at the first failure."""
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {detail}"))
    if not ok:
        sys.exit(1)


def main() -> None:
    """Readiness, acquire + release, metrics."""
    status, body = call("GET", "/v1/health/ready")
    check("readiness", status == 200 and json.loads(body)["status"] == "SERVING", body)
    name = f"helm-test-{uuid.uuid4().hex[:12]}"
    status, body = call("POST", f"/v1/locks/{name}:acquire", {"owner": "helm-test", "ttl": "30s"})
    check("acquire a lock", status == 200, body)
    token = json.loads(body)["lock"]["fencing_token"]
    check("fencing token", isinstance(token, int) and token >= 1, token)
    release = {"owner": "helm-test", "fencing_token": token}
    status, body = call("POST", f"/v1/locks/{name}:release", release)
    check("release it", status == 200, body)
    status, body = call("GET", "/metrics")
    check("metrics", status == 200 and b"concord_rpc_calls_total" in body, status)


if __name__ == "__main__":
    main()
