"""`concord rbac`: roles, bindings, permission checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from concord import Permission, Role

from concord_cli.commands.common import Limit, limited
from concord_cli.output import Column, when
from concord_cli.state import state_of

app = typer.Typer(help="Role-based access control: roles, bindings, checks.", no_args_is_help=True)
roles = typer.Typer(help="Roles: named sets of permissions.", no_args_is_help=True)
bindings = typer.Typer(help="Bindings: a role granted to a subject.", no_args_is_help=True)
app.add_typer(roles, name="roles")
app.add_typer(bindings, name="bindings")

ROLE_COLUMNS: list[Column] = [
    ("ROLE", lambda r: r.name),
    ("PERMISSIONS", lambda r: ", ".join(f"{p.action}:{p.resource}" for p in r.permissions)),
    ("DESCRIPTION", lambda r: r.description),
    ("UPDATED", lambda r: when(r.updated_at)),
]
BINDING_COLUMNS: list[Column] = [
    ("ID", lambda b: b.binding_id),
    ("SUBJECT", lambda b: b.subject),
    ("ROLE", lambda b: b.role),
    ("EXPIRES", lambda b: when(b.expires_at)),
    ("CREATED", lambda b: when(b.created_at)),
]
RoleName = Annotated[str, typer.Argument(help="Role name.")]
Allow = Annotated[
    list[str] | None,
    typer.Option("--allow", help="Permission ACTION:RESOURCE, e.g. 'locks.*:locks/jobs-*'."),
]
Description = Annotated[str, typer.Option("--description", help="What the role is for.")]


def permissions(items: list[str] | None) -> list[Permission]:
    """['action:resource', ...] as Permission models."""
    out = []
    for item in items or []:
        action, sep, resource = item.partition(":")
        if not sep or not action or not resource:
            raise typer.BadParameter(f"{item!r} is not ACTION:RESOURCE", param_hint="--allow")
        out.append(Permission(action=action, resource=resource))
    return out


def _show(ctx: typer.Context, role: Role | None) -> None:
    if role is not None:
        state_of(ctx).printer.items([role], ROLE_COLUMNS)


@roles.command("list")
def roles_list(ctx: typer.Context, limit: Limit = None) -> None:
    """List roles."""
    state = state_of(ctx)
    state.printer.items(limited(state.client().rbac.list_roles(), limit), ROLE_COLUMNS)


@roles.command("get")
def roles_get(ctx: typer.Context, name: RoleName) -> None:
    """Show a role."""
    _show(ctx, state_of(ctx).client().rbac.get_role(name).role)


@roles.command("create")
def roles_create(
    ctx: typer.Context, name: RoleName, allow: Allow = None, description: Description = ""
) -> None:
    """Create a role."""
    rbac = state_of(ctx).client().rbac
    _show(ctx, rbac.create_role(name, description=description, permissions=permissions(allow)).role)


@roles.command("update")
def roles_update(
    ctx: typer.Context, name: RoleName, allow: Allow = None, description: Description = ""
) -> None:
    """Replace a role's permissions and description."""
    rbac = state_of(ctx).client().rbac
    _show(ctx, rbac.update_role(name, description=description, permissions=permissions(allow)).role)


@roles.command("delete")
def roles_delete(ctx: typer.Context, name: RoleName) -> None:
    """Delete a role."""
    state = state_of(ctx)
    deleted = state.client().rbac.delete_role(name).deleted
    state.printer.one({"deleted": deleted}, [("deleted", lambda d: str(deleted).lower())])


@bindings.command("list")
def bindings_list(
    ctx: typer.Context,
    subject: Annotated[str, typer.Option("--subject", help="Only this subject's.")] = "",
    role: Annotated[str, typer.Option("--role", help="Only of this role.")] = "",
    limit: Limit = None,
) -> None:
    """List role bindings."""
    state = state_of(ctx)
    found = state.client().rbac.list_bindings(subject=subject, role=role)
    state.printer.items(limited(found, limit), BINDING_COLUMNS)


@bindings.command("create")
def bindings_create(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="Subject, e.g. user:alice.")],
    role: RoleName,
    expires: Annotated[
        datetime | None, typer.Option("--expires", help="When the grant ends (ISO 8601, UTC).")
    ] = None,
) -> None:
    """Grant a role to a subject."""
    state = state_of(ctx)
    at = expires.replace(tzinfo=expires.tzinfo or UTC) if expires else None
    binding = state.client().rbac.create_binding(subject, role, expires_at=at).binding
    state.printer.items([binding] if binding else [], BINDING_COLUMNS)


@bindings.command("delete")
def bindings_delete(
    ctx: typer.Context, binding_id: Annotated[str, typer.Argument(help="Binding id.")]
) -> None:
    """Remove a role binding."""
    state = state_of(ctx)
    deleted = state.client().rbac.delete_binding(binding_id).deleted
    state.printer.one({"deleted": deleted}, [("deleted", lambda d: str(deleted).lower())])


@app.command()
def check(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="Subject.")],
    action: Annotated[str, typer.Argument(help="Action, e.g. locks.acquire.")],
    resource: Annotated[str, typer.Argument(help="Resource, e.g. locks/jobs-1.")],
) -> None:
    """Would SUBJECT be allowed ACTION on RESOURCE? Exit 0 if allowed, 4 if not."""
    state = state_of(ctx)
    answer = state.client().rbac.check_permission(subject, action, resource)
    state.printer.one(
        answer,
        [("allowed", lambda a: str(a.allowed).lower()), ("by role", lambda a: a.role or "-")],
    )
    if not answer.allowed:
        raise typer.Exit(4)
