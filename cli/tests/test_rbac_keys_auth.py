"""`concord rbac`, `concord keys` and `concord auth` against the live server."""

from __future__ import annotations

from tests.runner import Runner


def test_roles_bindings_and_checks(cli: Runner, unique: str) -> None:
    role, subject = f"{unique}-reader", f"user:{unique}"
    made = cli("rbac", "roles", "create", role, "--allow", "locks.get:*", "--description", "reads")
    assert made.code == 0 and "locks.get:*" in made.out
    assert cli("rbac", "roles", "create", role).code == 6
    assert cli("rbac", "roles", "create", f"{role}2", "--allow", "no-colon").code == 2
    roles = {r["name"] for r in cli("-o", "json", "rbac", "roles", "list").json()}
    assert role in roles

    binding = cli("-o", "json", "rbac", "bindings", "create", subject, role).json()[0]
    assert cli("rbac", "check", subject, "locks.get", "locks/x").code == 0
    denied = cli("-o", "json", "rbac", "check", subject, "locks.acquire", "locks/x")
    assert denied.code == 4 and denied.json()["allowed"] is False
    listed = cli("-o", "json", "rbac", "bindings", "list", "--subject", subject).json()
    assert [b["binding_id"] for b in listed] == [binding["binding_id"]]

    updated = cli("-o", "json", "rbac", "roles", "update", role, "--allow", "locks.*:*").json()[0]
    assert updated["permissions"] == [{"action": "locks.*", "resource": "*"}]
    assert cli("rbac", "check", subject, "locks.acquire", "locks/x").code == 0
    assert cli("rbac", "bindings", "delete", binding["binding_id"]).code == 0
    assert cli("rbac", "roles", "delete", role).code == 0
    assert cli("rbac", "roles", "get", role).code == 5


def test_keys_whoami_token_and_revocation(cli: Runner, unique: str) -> None:
    subject, role = f"svc:{unique}", f"{unique}-self"
    # The key's subject may ask who it is and get tokens, by a role; the key's scopes allow it.
    cli("rbac", "roles", "create", role, "--allow", "auth.whoami:*", "--allow", "auth.token:*")
    assert cli("rbac", "bindings", "create", subject, role).code == 0
    created = cli("-o", "json", "keys", "create", unique, "--subject", subject, "--scope", "auth.*")
    assert created.code == 0, created.err
    secret, key_id = created.json()["secret"], created.json()["api_key"]["key_id"]

    who = cli("-o", "json", "auth", "whoami", env={"CONCORD_API_KEY": secret})
    assert who.code == 0, who.err
    me = who.json()
    assert me["subject"] == subject and me["scopes"] == ["auth.*"]
    assert key_id in {
        k["key_id"] for k in cli("-o", "json", "keys", "list", "--subject", subject).json()
    }

    token = cli(
        "auth", "token", "--ttl", "5m", "--raw", env={"CONCORD_API_KEY": secret}
    ).out.strip()
    by_token = cli(
        "-o", "json", "auth", "whoami", env={"CONCORD_API_KEY": None, "CONCORD_TOKEN": token}
    )
    assert by_token.json()["subject"] == subject and by_token.json()["credential_type"] == "JWT"

    denied = cli("keys", "list", env={"CONCORD_API_KEY": secret})
    assert denied.code == 4 and "PERMISSION_DENIED" in denied.err

    assert cli("-o", "json", "keys", "revoke", key_id).json()[0]["revoked"] is True
    revoked = cli("auth", "whoami", env={"CONCORD_API_KEY": secret})
    assert (
        revoked.code == 4 and "UNAUTHENTICATED" in revoked.err and "request id: req_" in revoked.err
    )


def test_no_server_is_a_connection_error(cli: Runner) -> None:
    result = cli("--base-url", "http://127.0.0.1:9", "--timeout", "5", "locks", "list")
    assert result.code == 9
    assert "error:" in result.err
