"""The `concord` entry point: the root app with every command group attached."""

from __future__ import annotations

from concord_cli.app import app
from concord_cli.commands import (
    auth,
    cache,
    config_cmd,
    events,
    health,
    keys,
    locks,
    rbac,
    sagas,
    services,
)

app.add_typer(locks.app, name="locks")
app.add_typer(events.app, name="events")
app.add_typer(sagas.app, name="sagas")
app.add_typer(cache.app, name="cache")
app.add_typer(services.app, name="services")
app.add_typer(rbac.app, name="rbac")
app.add_typer(keys.app, name="keys")
app.add_typer(auth.app, name="auth")
app.add_typer(config_cmd.app, name="config")
app.command("health")(health.health)


def main() -> None:
    """Run `concord` with the process's arguments."""
    app(prog_name="concord")


__all__ = ["app", "main"]
