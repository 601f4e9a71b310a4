"""A CA bundle and a client certificate against a server that requires them (REST and WSS);
skipped unless CONCORD_TEST_TLS_BASE_URL is set (`make test-sdks` starts that server)."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from concord import APIConnectionError, AsyncConcord, Concord


@pytest.fixture
def tls() -> dict[str, str]:
    """The TLS server's URL, its CA, and a client certificate it accepts."""
    url = os.environ.get("CONCORD_TEST_TLS_BASE_URL", "")
    if not url:
        pytest.skip("CONCORD_TEST_TLS_BASE_URL is not set (make test-sdks starts a TLS server)")
    return {
        "url": url,
        "ca": os.environ["CONCORD_TEST_TLS_CA_FILE"],
        "cert": os.environ["CONCORD_TEST_TLS_CLIENT_CERT"],
        "key": os.environ["CONCORD_TEST_TLS_CLIENT_KEY"],
    }


def _client(
    tls: dict[str, str],
    live_key: str,
    ca_bundle: str | Path | None = None,
    client_cert: str | Path | tuple[str, str] | None = None,
) -> Concord:
    return Concord(
        base_url=tls["url"],
        api_key=live_key,
        max_retries=0,
        ca_bundle=ca_bundle,
        client_cert=client_cert,
    )


def test_ca_bundle_and_client_certificate(tls: dict[str, str], live_key: str, unique: str) -> None:
    pair = (tls["cert"], tls["key"])
    with _client(tls, live_key, ca_bundle=tls["ca"], client_cert=pair) as client:
        lock = client.locks.acquire(f"{unique}-tls", owner="me", ttl=timedelta(seconds=30))
        assert lock.lock is not None and lock.lock.fencing_token >= 1
        with client.with_options(timeout=20) as copy:  # a copy keeps the TLS settings
            assert str(copy.health.live().status) == "SERVING"


def test_websocket_streams_use_the_same_tls(
    tls: dict[str, str], live_key: str, unique: str
) -> None:
    name = f"{unique}-wss"
    pair = (tls["cert"], tls["key"])
    ttl = timedelta(seconds=30)
    with (
        _client(tls, live_key, ca_bundle=tls["ca"], client_cert=pair) as client,
        client.locks.watch(prefix=name, transport="websocket") as changes,
    ):
        threading.Thread(target=client.locks.acquire, args=(name, "w", ttl)).start()
        change = next(iter(changes))
    assert change.lock is not None and change.lock.name == name


def test_one_file_certificate_and_the_environment(
    tls: dict[str, str], live_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    combined = tmp_path / "client-with-key.pem"
    combined.write_text(Path(tls["cert"]).read_text() + Path(tls["key"]).read_text())
    with _client(tls, live_key, ca_bundle=Path(tls["ca"]), client_cert=combined) as client:
        assert str(client.health.live().status) == "SERVING"
    monkeypatch.setenv("CONCORD_CA_BUNDLE", tls["ca"])
    monkeypatch.setenv("CONCORD_CLIENT_CERT", tls["cert"])
    monkeypatch.setenv("CONCORD_CLIENT_KEY", tls["key"])
    with _client(tls, live_key) as client:
        assert str(client.health.live().status) == "SERVING"


def test_async_client(tls: dict[str, str], live_key: str) -> None:
    async def live() -> str:
        async with AsyncConcord(
            base_url=tls["url"],
            api_key=live_key,
            ca_bundle=tls["ca"],
            client_cert=(tls["cert"], tls["key"]),
        ) as client:
            return str((await client.health.live()).status)

    assert asyncio.run(live()) == "SERVING"


def test_refused_without_a_certificate_or_the_ca(tls: dict[str, str], live_key: str) -> None:
    with (
        _client(tls, live_key, ca_bundle=tls["ca"]) as no_certificate,
        pytest.raises(APIConnectionError),
    ):
        no_certificate.health.live()
    pair = (tls["cert"], tls["key"])
    with _client(tls, live_key, client_cert=pair) as no_ca, pytest.raises(APIConnectionError):
        no_ca.health.live()


def test_unusable_files_are_refused_at_construction(tls: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot use the CA bundle"):
        Concord(base_url=tls["url"], ca_bundle=tmp_path / "missing.pem")
    with pytest.raises(ValueError, match="cannot use the client certificate"):
        Concord(base_url=tls["url"], client_cert=tls["cert"])  # no key in that file
