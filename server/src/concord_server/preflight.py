"""Settings checked before anything starts, without connecting anywhere: each store URL's
scheme has a backend for its store, and the JWT algorithm has the keys it needs. A failure
stops the start with exit code 2 and a message naming the setting (server/README.md)."""

from __future__ import annotations

from concord_server.api.security import jwt_config
from concord_server.backends.registry import BACKENDS, scheme_of, supported_schemes
from concord_server.config import Settings
from concord_server.config_sources import ConfigError
from concord_server.errors import ConcordError
from concord_server.workers import STORE_URLS


def check(settings: Settings) -> None:
    """Raises ConfigError for a store URL no backend serves or JWT settings that cannot work."""
    for name in STORE_URLS:
        scheme, store = scheme_of(getattr(settings, name)), name.removesuffix("_url")
        if (store, scheme) not in BACKENDS:  # the URL itself is not logged: it may hold a password
            raise ConfigError(
                f"CONCORD_{name.upper()}: no {store} store for the scheme {scheme!r}; use one of "
                + ", ".join(f"{other}://" for other in supported_schemes(store))
            )
    if settings.jwt_algorithm.upper() != "HS256":  # HS256 needs only a secret, made if missing
        try:
            jwt_config(settings)
        except (ConcordError, ValueError) as exc:
            message = exc.message if isinstance(exc, ConcordError) else str(exc)
            raise ConfigError(f"CONCORD_JWT_*: {message}") from None
