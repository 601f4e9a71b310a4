"""`concord services`: register, heartbeat, deregister, list, watch."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from concord import InstanceStatus, ServiceInstance, WatchServiceResponse
from rich.text import Text

from concord_cli.commands.common import Count, Limit, limited
from concord_cli.output import Column, styled, until, when
from concord_cli.parsing import duration, pairs
from concord_cli.state import state_of

app = typer.Typer(help="Service discovery: instances, health, changes.", no_args_is_help=True)
Service = Annotated[str, typer.Argument(help="Service name.")]
Instance = Annotated[str, typer.Argument(help="Instance id.")]
INSTANCE_COLUMNS: list[Column] = [
    ("SERVICE", lambda i: i.service),
    ("INSTANCE", lambda i: i.instance_id),
    ("ADDRESS", lambda i: f"{i.address}:{i.port}"),
    ("STATUS", lambda i: styled(i.status)),
    ("TAGS", lambda i: ",".join(i.tags)),
    ("EXPIRES IN", lambda i: until(i.expires_at)),
]
SERVICE_COLUMNS: list[Column] = [
    ("SERVICE", lambda s: s.name),
    ("INSTANCES", lambda s: str(s.instance_count)),
    ("HEALTHY", lambda s: str(s.healthy_count)),
]
Status = Annotated[
    str | None, typer.Option("--status", help="HEALTHY or UNHEALTHY.", case_sensitive=False)
]


def _status(text: str | None) -> InstanceStatus | None:
    if text is None:
        return None
    if text.upper() not in ("HEALTHY", "UNHEALTHY"):
        raise typer.BadParameter("HEALTHY or UNHEALTHY", param_hint="--status")
    return InstanceStatus(text.upper())


def _show(ctx: typer.Context, instance: ServiceInstance | None) -> None:
    if instance is not None:
        state_of(ctx).printer.items([instance], INSTANCE_COLUMNS)


@app.command()
def register(
    ctx: typer.Context,
    service: Service,
    instance_id: Instance,
    address: Annotated[str, typer.Option("--address", help="Host or IP address.")],
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")],
    tags: Annotated[list[str] | None, typer.Option("--tag", help="Tag (repeatable).")] = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", help="Metadata KEY=VALUE (repeatable).")
    ] = None,
    ttl: Annotated[
        timedelta | None,
        typer.Option("--ttl", parser=duration, help="Expire without heartbeats after this long."),
    ] = None,
    status: Status = None,
) -> None:
    """Register (or update) an instance."""
    instance = (
        state_of(ctx)
        .client()
        .discovery.register(
            service,
            instance_id,
            address,
            port,
            tags=tags or (),
            metadata=pairs(meta),
            ttl=ttl,
            status=_status(status),
        )
        .instance
    )
    _show(ctx, instance)


@app.command()
def heartbeat(
    ctx: typer.Context, service: Service, instance_id: Instance, status: Status = None
) -> None:
    """Renew an instance's TTL (and set its status)."""
    client = state_of(ctx).client()
    _show(ctx, client.discovery.heartbeat(service, instance_id, status=_status(status)).instance)


@app.command()
def deregister(ctx: typer.Context, service: Service, instance_id: Instance) -> None:
    """Remove an instance."""
    state = state_of(ctx)
    gone = state.client().discovery.deregister(service, instance_id).deregistered
    state.printer.one({"deregistered": gone}, [("deregistered", lambda d: str(gone).lower())])


@app.command("list")
def list_(
    ctx: typer.Context,
    service: Annotated[
        str | None, typer.Argument(help="A service's instances; without one, every service.")
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="Only with this tag.")] = None,
    unhealthy: Annotated[
        bool, typer.Option("--include-unhealthy", help="Unhealthy instances too.")
    ] = False,
    limit: Limit = None,
) -> None:
    """List services with their health counts, or one service's instances."""
    state = state_of(ctx)
    discovery = state.client().discovery
    if service is None:
        state.printer.items(limited(discovery.list_services(), limit), SERVICE_COLUMNS)
        return
    found = discovery.list_instances(service, tags=tags or (), include_unhealthy=unhealthy)
    state.printer.items(limited(found, limit), INSTANCE_COLUMNS)


def event_line(event: WatchServiceResponse) -> Text:
    """One instance change on a line."""
    line = Text(f"{when(event.occurred_at)}  ")
    line.append_text(styled(event.type))
    instance = event.instance
    if instance is not None:
        line.append(
            f"  {instance.service}/{instance.instance_id}  {instance.address}:{instance.port}  "
        )
        line.append_text(styled(instance.status))
    return line


@app.command()
def watch(ctx: typer.Context, service: Service, count: Count = None) -> None:
    """Stream a service's instance changes."""
    state = state_of(ctx)
    with state.client().discovery.watch(service) as stream:
        for seen, event in enumerate(stream, start=1):
            state.printer.event(event, event_line(event))
            if count is not None and seen >= count:
                break
