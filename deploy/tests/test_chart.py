"""The Helm chart: lint, render over several value sets, strict offline validation of every
manifest against the Kubernetes API schema, and the values it must refuse."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "concord"
VALUE_SETS = sorted((CHART / "ci").glob("*-values.yaml"))
KUBE_VERSION = "1.37.2"
CAPABILITIES = [
    "locks",
    "events",
    "sagas",
    "rbac",
    "cache",
    "discovery",
    "ratelimit",
    "idempotency",
]
ENGINES = {
    "locks": "redis://r:6379/0",
    "cache": "redis://r:6379/0",
    "ratelimit": "redis://r:6379/0",
    "idempotency": "redis://r:6379/0",
    "events": "postgresql://u:p@pg:5432/c",
    "sagas": "postgresql://u:p@pg:5432/c",
    "rbac": "postgresql://u:p@pg:5432/c",
    "discovery": "etcd://etcd:2379",
}
JWT = {"jwt": {"secret": "shared-secret-0123456789abcdef0123456789"}}
Manifest = dict[str, Any]


def tool(name: str) -> str:
    """The path of a tool `scripts/deploy/tools.sh` installed (CONCORD_HELM, ...)."""
    path = os.environ.get(name, "")
    if not path or not Path(path).exists():
        pytest.fail(f"{name} is not set to an installed tool: run `make test-chart`")
    return path


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Runs a command, not checked."""
    return subprocess.run(
        args, input=stdin, capture_output=True, text=True, timeout=300, check=False
    )


def template(tmp_path: Path, values: dict[str, Any] | None = None, *files: Path) -> str:
    """`helm template` of the chart with value files and inline values; fails on an error."""
    done = helm_template(tmp_path, values, *files)
    assert done.returncode == 0, done.stderr
    return done.stdout


def helm_template(
    tmp_path: Path, values: dict[str, Any] | None = None, *files: Path
) -> subprocess.CompletedProcess[str]:
    """`helm template` as it ran (its errors included)."""
    args = [tool("CONCORD_HELM"), "template", "rel", str(CHART), "--kube-version", KUBE_VERSION]
    for f in files:
        args += ["-f", str(f)]
    if values is not None:
        inline = tmp_path / "inline-values.yaml"
        inline.write_text(yaml.safe_dump(values), encoding="utf-8")
        args += ["-f", str(inline)]
    return run(*args)


def kubeconform(manifests: str) -> subprocess.CompletedProcess[str]:
    """kubeconform -strict against the offline schemas, reading the manifests on stdin."""
    schemas = tool("CONCORD_K8S_SCHEMAS").rstrip("/")
    location = schemas + "/{{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}.json"
    return run(
        tool("CONCORD_KUBECONFORM"), "-strict", "-summary", "-output", "text",
        "-kubernetes-version", KUBE_VERSION, "-schema-location", location, "-",
        stdin=manifests,
    )  # fmt: skip


def documents(manifests: str) -> dict[tuple[str, str], Manifest]:
    """The rendered manifests by (kind, name)."""
    docs = [d for d in yaml.safe_load_all(manifests) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def container(docs: dict[tuple[str, str], Manifest]) -> Manifest:
    """The server container of the Deployment."""
    spec: Manifest = docs[("Deployment", "rel-concord")]["spec"]["template"]["spec"]
    first: Manifest = spec["containers"][0]
    return first


@pytest.mark.parametrize("values", VALUE_SETS, ids=lambda p: p.stem)
def test_lint(values: Path) -> None:
    done = run(tool("CONCORD_HELM"), "lint", "--strict", str(CHART), "-f", str(values))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("values", VALUE_SETS, ids=lambda p: p.stem)
def test_every_manifest_is_valid_kubernetes(values: Path, tmp_path: Path) -> None:
    manifests = template(tmp_path, None, values)
    done = kubeconform(manifests)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = re.search(r"Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)", done.stdout)
    assert summary is not None, done.stdout
    valid, invalid, errors, skipped = map(int, summary.groups())
    assert (invalid, errors, skipped) == (0, 0, 0)
    assert valid == len([d for d in yaml.safe_load_all(manifests) if d]) >= 5


def test_the_validator_refuses_unknown_fields_and_wrong_types(tmp_path: Path) -> None:
    docs = documents(template(tmp_path))
    deployment = docs[("Deployment", "rel-concord")]
    deployment["spec"]["replica"] = 3
    unknown = kubeconform(yaml.safe_dump(deployment))
    assert unknown.returncode != 0
    assert "replica" in unknown.stdout
    del deployment["spec"]["replica"]
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    assert kubeconform(yaml.safe_dump(deployment)).returncode != 0
    service = docs[("Service", "rel-concord")]
    service["metadata"]["label"] = {"a": "b"}  # misspelt `labels`
    assert kubeconform(yaml.safe_dump(service)).returncode != 0


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ({"replicaCount": 3}, ", ".join(CAPABILITIES)),
        ({"autoscaling": {"enabled": True}}, ", ".join(CAPABILITIES)),
        ({"replicaCount": 2, "storage": {**ENGINES, "cache": ""}, "auth": JWT}, "but cache would"),
        (
            {"replicaCount": 2, "storage": {**ENGINES, "locks": "sqlite:///var/lib/concord/x.db"}},
            "but locks would",
        ),
    ],
    ids=["replicas", "autoscaling", "memory-cache", "sqlite-locks"],
)
def test_replicas_on_embedded_storage_are_refused(
    values: dict[str, Any], refused: str, tmp_path: Path
) -> None:
    done = helm_template(tmp_path, values)
    assert done.returncode != 0
    assert "need every capability on a shared engine" in done.stderr
    assert refused in done.stderr


def test_replicas_need_a_shared_jwt_key(tmp_path: Path) -> None:
    done = helm_template(tmp_path, {"replicaCount": 2, "storage": ENGINES})
    assert done.returncode != 0
    assert "one JWT key shared by every instance" in done.stderr
    template(tmp_path, {"replicaCount": 2, "storage": ENGINES, "auth": JWT})


@pytest.mark.parametrize(
    "values",
    [
        {"storage": {"discovery": "redis://r:6379"}},
        {"storage": {"events": "redis://r:6379"}},
        {"replicaCount": "3"},
        {"replicas": 3},
        {"tls": {"httpClientAuth": "require"}},
        {"image": {"digest": "latest"}},
        {"config": {"logLevel": "verbose"}},
        {"extraEnv": {"PATH": "/bin"}},
        {"existingSecret": {"name": "s", "storageKeys": ["queues"]}},
    ],
    ids=lambda v: yaml.safe_dump(v, default_flow_style=True).strip(),
)
def test_the_values_schema_refuses(values: dict[str, Any], tmp_path: Path) -> None:
    done = helm_template(tmp_path, values)
    assert done.returncode != 0
    assert "schema" in done.stderr.lower(), done.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"tls": {"enabled": True}}, "tls.enabled needs tls.secretName"),
        (
            {
                "existingSecret": {"name": "s", "storageKeys": ["locks"]},
                "storage": {"locks": "redis://r:6379/0"},
            },
            "give the URL in one place",
        ),
        ({"existingSecret": {"storageKeys": ["locks"]}}, "needs existingSecret.name"),
        (
            {"existingSecret": {"name": "s"}, "storage": {"locks": "redis://r:6379/0"}},
            "put CONCORD_LOCKS_URL in s and list locks in existingSecret.storageKeys",
        ),
        (
            {"existingSecret": {"name": "s"}, "auth": {"jwt": {"secret": "shared"}}},
            "put CONCORD_JWT_SECRET in s instead",
        ),
    ],
    ids=[
        "tls-without-secret",
        "url-twice",
        "keys-without-secret",
        "url-the-existing-secret-drops",
        "jwt-key-the-existing-secret-drops",
    ],
)
def test_inconsistent_values_are_refused(
    values: dict[str, Any], message: str, tmp_path: Path
) -> None:
    done = helm_template(tmp_path, values)
    assert done.returncode != 0
    assert message in done.stderr


def test_default_is_one_instance_with_its_database_on_a_volume(tmp_path: Path) -> None:
    docs = documents(template(tmp_path))
    deployment = docs[("Deployment", "rel-concord")]
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    claim = docs[("PersistentVolumeClaim", "rel-concord-data")]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data["persistentVolumeClaim"]["claimName"] == "rel-concord-data"
    assert not {k for k, _ in docs} & {"HorizontalPodAutoscaler", "PodDisruptionBudget"}
    server = container(docs)
    assert server["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert server["readinessProbe"]["httpGet"]["path"] == "/v1/health/ready"
    assert server["livenessProbe"]["httpGet"]["path"] == "/v1/health/live"
    assert pod["terminationGracePeriodSeconds"] == 5 + 20 + 10
    secret = docs[("Secret", "rel-concord")]["stringData"]
    assert len(secret["CONCORD_BOOTSTRAP_ADMIN_KEY"]) == 40
    assert not any(k.endswith("_URL") for k in secret)


def test_engines_layout_rolls_and_keeps_no_volume(tmp_path: Path) -> None:
    values = CHART / "ci" / "replicas-engines-values.yaml"
    docs = documents(template(tmp_path, None, values))
    deployment = docs[("Deployment", "rel-concord")]
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert ("PersistentVolumeClaim", "rel-concord-data") not in docs
    pod = deployment["spec"]["template"]["spec"]
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == "data")
    secret = docs[("Secret", "rel-concord")]["stringData"]
    assert {f"CONCORD_{c.upper()}_URL" for c in CAPABILITIES} <= set(secret)
    for kind in ("PodDisruptionBudget", "ServiceMonitor", "NetworkPolicy", "Ingress"):
        assert (kind, "rel-concord") in docs


def test_existing_secret_and_tls(tmp_path: Path) -> None:
    values = CHART / "ci" / "autoscaling-tls-values.yaml"
    docs = documents(template(tmp_path, None, values))
    assert ("Secret", "rel-concord") not in docs
    assert ("HorizontalPodAutoscaler", "rel-concord") in docs
    server = container(docs)
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in server["env"]}
    for cap in CAPABILITIES:
        ref = refs[f"CONCORD_{cap.upper()}_URL"]
        assert ref["name"] == "concord-credentials" and "optional" not in ref
    assert refs["CONCORD_JWT_PUBLIC_KEY"]["optional"] is True
    assert server["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    config = docs[("ConfigMap", "rel-concord")]["data"]
    assert config["CONCORD_TLS_CERT_FILE"] == "/etc/concord/tls/tls.crt"
    assert config["CONCORD_TLS_CLIENT_CA_FILE"] == "/etc/concord/client-ca/ca.crt"
    assert config["CONCORD_TLS_HTTP_CLIENT_AUTH"] == "optional"
    mounts = {m["name"]: m["mountPath"] for m in server["volumeMounts"]}
    assert mounts["tls"] == "/etc/concord/tls" and mounts["client-ca"] == "/etc/concord/client-ca"


def test_pods_roll_when_the_configuration_changes(tmp_path: Path) -> None:
    def checksums(values: dict[str, Any]) -> dict[str, str]:
        docs = documents(template(tmp_path, values))
        annotations: dict[str, str] = docs[("Deployment", "rel-concord")]["spec"]["template"][
            "metadata"
        ]["annotations"]
        return annotations

    base = checksums({"auth": {"bootstrapAdminKey": "k"}})
    assert base == checksums({"auth": {"bootstrapAdminKey": "k"}})
    changed = checksums({"auth": {"bootstrapAdminKey": "k"}, "config": {"logLevel": "DEBUG"}})
    assert changed["checksum/config"] != base["checksum/config"]
    rekeyed = checksums({"auth": {"bootstrapAdminKey": "other"}})
    assert rekeyed["checksum/secret"] != base["checksum/secret"]


def test_helm_test_pod_runs_the_smoke_test_file(tmp_path: Path) -> None:
    docs = documents(template(tmp_path))
    script = docs[("ConfigMap", "rel-concord-smoke-test")]["data"]["smoke_test.py"]
    assert script == (CHART / "files" / "smoke_test.py").read_text(encoding="utf-8")
    pod = docs[("Pod", "rel-concord-smoke-test")]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    selector = docs[("Service", "rel-concord")]["spec"]["selector"].items()
    assert not selector <= pod["metadata"]["labels"].items()  # never behind the Service
    assert pod["spec"]["containers"][0]["command"] == ["python3", "/smoke/smoke_test.py"]


def test_every_released_version_is_spec_version() -> None:
    """One version for everything a tag releases (the release workflow checks the tag)."""
    version = (ROOT / "spec" / "VERSION").read_text(encoding="utf-8").strip()
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert (chart["version"], chart["appVersion"]) == (version, version)
    stamped = {
        "server/pyproject.toml": f'version = "{version}"',
        "sdks/python/pyproject.toml": f'version = "{version}"',
        "sdks/node/package.json": f'"version": "{version}"',
        "sdks/java/pom.xml": f"<version>{version}</version>",
        "sdks/csharp/Concord.csproj": f"<Version>{version}</Version>",
        "sdks/go/client.go": f'const Version = "{version}"',
    }
    for path, line in stamped.items():
        assert line in (ROOT / path).read_text(encoding="utf-8"), path
