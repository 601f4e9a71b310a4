"""Server settings from environment variables (prefix CONCORD_) or a .env file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the server. Storage is chosen per capability by URL scheme."""

    model_config = SettingsConfigDict(env_prefix="CONCORD_", env_file=".env", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_port: int = 9090
    data_dir: Path = Path(".scratch/data")

    # Storage URLs: memory://, sqlite:///path (empty path = <data_dir>/concord.db),
    # redis://host:port/db, postgresql://user@host:port/db, etcd://host:port.
    locks_url: str = "sqlite://"
    cache_url: str = "memory://"
    discovery_url: str = "memory://"
    events_url: str = "sqlite://"
    sagas_url: str = "sqlite://"
    rbac_url: str = "sqlite://"
    ratelimit_url: str = "memory://"
    idempotency_url: str = "memory://"  # memory://, redis://, postgresql:// (replayed answers)

    # Origins (`scheme://host:port`, `*` wildcards) that saga HTTP steps may call. The default
    # allows any; production deployments should list their step services (no internal hosts).
    saga_http_allowed_origins: list[str] = Field(default_factory=lambda: ["*"])

    # Auth: JWT verification key(s) and the first-start admin credential.
    jwt_algorithm: str = "HS256"
    jwt_secret: str = Field(default="", repr=False)
    jwt_public_key: str = Field(default="", repr=False)
    jwt_private_key: str = Field(default="", repr=False)
    jwt_issuer: str = "concord"
    jwt_audience: str = "concord"
    bootstrap_admin_key: str = Field(default="", repr=False)
    # Keys the tags of page tokens; empty: derived from the JWT verification key, which every
    # instance of a deployment shares already.
    page_token_secret: str = Field(default="", repr=False)

    # Limits and HTTP behaviour.
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    # Failed authentications per client address (brute-force guard); 0 disables it.
    auth_failure_rate_per_second: float = 1.0
    auth_failure_burst: int = 30
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = 1_048_576
    ws_max_queue: int = 1000
    # permessage-deflate on WebSocket connections: off, since the contract's messages are small
    # and each compressing connection holds zlib state (about 40 KB) and spends CPU per message.
    ws_compression: bool = False
    test_hooks: bool = False
    openapi_path: str = ""
    swagger_ui_dir: str = ""
    # The built web console served at /console (empty: the repository's console/dist).
    console_dir: str = ""
    # GraphQL at /graphql (docs/graphql.md): limits per operation (0: none), introspection (and
    # the GraphiQL page, which needs it), where the schema and GraphiQL's npm packages are.
    graphql_max_depth: int = 20
    graphql_max_cost: int = 1000
    graphql_introspection: bool = True
    graphql_schema_path: str = ""
    graphiql_dir: str = ""
    log_level: str = "INFO"
    # Observability (docs/observability.md): how often gauges are read from the stores (seconds,
    # 0: never), and where spans go over OTLP/HTTP (empty: OTEL_EXPORTER_OTLP_ENDPOINT, and
    # when that is unset too, tracing is off).
    metrics_sample_interval: float = 15.0
    otlp_endpoint: str = ""
    # TLS (tls.py): PEM files; a client CA makes gRPC require client certificates, and REST ask
    # for them per tls_http_client_auth (none, optional, require).
    tls_cert_file: str = ""
    tls_key_file: str = Field(default="", repr=False)
    tls_client_ca_file: str = ""
    tls_http_client_auth: str = "none"
    # Server processes sharing the ports (workers.py); more than one needs every store on an
    # engine. reuse_port binds both ports with SO_REUSEPORT (set for each worker).
    workers: int = Field(default=1, ge=1)
    reuse_port: bool = False
    # SIGTERM: readiness fails and streams end at once; calls in flight get this long to finish.
    shutdown_grace_seconds: int = Field(default=20, ge=0)
    # Settings from etcd (etcd://host:port?prefix=/concord/config/), over the environment; see
    # config_sources.py. Empty: environment and .env only.
    config_url: str = ""

    def sqlite_path(self, url: str) -> Path:
        """The file of a sqlite:// URL (its `?` options are not part of it); the default file
        lives in the data folder."""
        path = url.split("?", 1)[0].removeprefix("sqlite://")
        return Path(path) if path else self.data_dir / "concord.db"
