"""Builds the strict JSON Schemas kubeconform validates the chart's manifests against, offline.

Sources, pinned by their go.sum (`h1:`) hashes and fetched from the Go module proxy where GitHub is
not reachable:
- the Kubernetes API's OpenAPI v3 documents (`api/openapi-spec/v3` in `k8s.io/kubernetes`);
- the ServiceMonitor CRD of prometheus-operator (its schema for `monitoring.coreos.com/v1`).

Each resource kind becomes one self-contained file, `OUT/<group>/<version>/<kind>.json` (the core
group is named `v1`, as kubeconform's `{{ .Group }}` names it: `-schema-location
'OUT/{{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}.json'`), whose references point
into its own `definitions`. Strict: every object schema that lists its properties refuses
any other (`additionalProperties: false`) unless Kubernetes marks it as keeping unknown fields,
and `kind`/`apiVersion` must match the file.

    python3 deploy/tools/k8s_schemas.py OUT CACHE
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Module:
    """A module version and the `h1:` hash of its zip, as go.sum pins it."""

    path: str
    version: str
    h1: str

    @property
    def prefix(self) -> str:
        """The folder every file of the zip sits in."""
        return f"{self.path}@{self.version}/"


def proxy_url(module: Module) -> str:
    """The zip's address on the first proxy of GOPROXY (proxy.golang.org by default)."""
    proxies = os.environ.get("GOPROXY", "https://proxy.golang.org").split(",")
    base = next((p for p in proxies if p.startswith("http")), "https://proxy.golang.org")
    escaped = "".join(f"!{c.lower()}" if c.isupper() else c for c in module.path)
    return f"{base.rstrip('/')}/{escaped}/@v/{module.version}.zip"


def zip_hash(archive: Path) -> str:
    """Go's `h1:` hash of a module zip: sha256 over the sorted `sha256  name` lines."""
    summary = hashlib.sha256()
    with zipfile.ZipFile(archive) as z:
        for name in sorted(n for n in z.namelist() if not n.endswith("/")):
            digest = hashlib.sha256(z.read(name)).hexdigest()
            summary.update(f"{digest}  {name}\n".encode())
    return "h1:" + base64.b64encode(summary.digest()).decode()


def fetch(module: Module, cache: Path) -> Path:
    """The module's zip in `cache`, downloaded when missing; fails unless its hash is pinned."""
    archive = cache / f"{module.path.replace('/', '_')}@{module.version}.zip"
    if not archive.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        part = archive.with_suffix(".part")
        with urllib.request.urlopen(proxy_url(module), timeout=TIMEOUT_SECONDS) as answer:
            part.write_bytes(answer.read())
        part.replace(archive)
    actual = zip_hash(archive)
    if actual != module.h1:
        archive.unlink()
        raise SystemExit(f"{module.path}@{module.version}: hash {actual}, pinned {module.h1}")
    return archive


KUBERNETES = Module(
    "k8s.io/kubernetes", "v1.37.2", "h1:A2VDEiObzkYqFTKhSsn0ZEb0RlLEXpHWj93gi2HqEwE="
)
PROMETHEUS_OPERATOR = Module(
    "github.com/prometheus-operator/prometheus-operator",
    "v0.85.0",
    "h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=",
)
CRDS = ("example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",)
REF = "#/components/schemas/"
Schema = dict[str, Any]


def strict(node: Any, refs: set[str]) -> Any:
    """A copy of an OpenAPI schema as strict JSON Schema; collects the names it references."""
    if isinstance(node, list):
        return [strict(item, refs) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict(value, refs) for key, value in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF):
        refs.add(ref.removeprefix(REF))
        out["$ref"] = "#/definitions/" + ref.removeprefix(REF)
    keeps_unknown = out.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in out and "additionalProperties" not in out and not keeps_unknown:
        out["additionalProperties"] = False
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def standalone(root: Schema, components: dict[str, Schema], group: str, version: str) -> Schema:
    """The resource's strict schema with every schema it reaches in its own `definitions`."""
    refs: set[str] = set()
    schema: Schema = strict(root, refs)
    definitions: dict[str, Schema] = {}
    pending = set(refs)
    while pending:
        name = pending.pop()
        found: set[str] = set()
        definitions[name] = strict(components[name], found)
        pending |= found - definitions.keys()
    api_version = f"{group}/{version}" if group else version
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "enum": [api_version]}
    schema.setdefault("additionalProperties", False)
    schema["definitions"] = dict(sorted(definitions.items()))
    return schema


def write(out: Path, group: str, version: str, kind: str, schema: Schema) -> None:
    """Writes OUT/<group, or the version for the core group>/<version>/<kind, lower case>.json."""
    path = out / (group or version) / version / f"{kind.lower()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, sort_keys=True), encoding="utf-8")


def kubernetes_kinds(archive: Path, out: Path) -> int:
    """Every kind of every group-version document in the Kubernetes module."""
    count = 0
    folder = KUBERNETES.prefix + "api/openapi-spec/v3/"
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            if not (name.startswith(folder) and name.endswith(".json")):
                continue
            components = json.loads(z.read(name)).get("components", {}).get("schemas", {})
            for root in components.values():
                for gvk in root.get("x-kubernetes-group-version-kind", []):
                    group, version, kind = gvk["group"], gvk["version"], gvk["kind"]
                    schema = standalone(root, components, group, version)
                    schema["properties"]["kind"] = {"type": "string", "enum": [kind]}
                    write(out, group, version, kind, schema)
                    count += 1
    return count


def crd_kinds(archive: Path, out: Path) -> int:
    """Every served version of the pinned CRDs."""
    count = 0
    with zipfile.ZipFile(archive) as z:
        for crd_path in CRDS:
            crd = yaml.safe_load(z.read(PROMETHEUS_OPERATOR.prefix + crd_path))
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                root = version["schema"]["openAPIV3Schema"]
                schema = standalone(root, {}, group, version["name"])
                schema["properties"]["kind"] = {"type": "string", "enum": [kind]}
                write(out, group, version["name"], kind, schema)
                count += 1
    return count


def main(argv: list[str]) -> None:
    """Builds the schemas into OUT unless they are there for the same pins."""
    if len(argv) != 2:
        raise SystemExit(__doc__)
    out, cache = Path(argv[0]), Path(argv[1])
    stamp = out / ".pins"
    pins = json.dumps([KUBERNETES.h1, PROMETHEUS_OPERATOR.h1, CRDS])
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == pins:
        return
    kinds = kubernetes_kinds(fetch(KUBERNETES, cache), out)
    kinds += crd_kinds(fetch(PROMETHEUS_OPERATOR, cache), out)
    stamp.write_text(pins, encoding="utf-8")
    print(f"k8s_schemas: {kinds} kinds (Kubernetes {KUBERNETES.version}) in {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
