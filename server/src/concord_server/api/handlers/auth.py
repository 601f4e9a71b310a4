"""AuthService handlers: API keys, token issuance and the caller's identity."""

from __future__ import annotations

from concord_server._gen.concord.v1 import auth_pb2
from concord_server.api import convert
from concord_server.context import CallContext
from concord_server.domain.auth import API_KEY, JWT, AuthService
from concord_server.domain.rbac import RbacService
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.rbac import ApiKeyRecord

_CREDENTIAL_TYPES = {
    API_KEY: auth_pb2.CREDENTIAL_TYPE_API_KEY,
    JWT: auth_pb2.CREDENTIAL_TYPE_JWT,
}


def api_key_message(key: ApiKeyRecord) -> auth_pb2.ApiKey:
    """The public facts of a key (never its secret or hash)."""
    return auth_pb2.ApiKey(
        key_id=key.key_id,
        name=key.name,
        subject=key.subject,
        scopes=list(key.scopes),
        created_at=convert.timestamp(key.created_at),
        expires_at=convert.timestamp(key.expires_at),
        revoked=key.revoked,
    )


class AuthHandlers:
    """The RPCs of concord.v1.AuthService."""

    SERVICE = "concord.v1.AuthService"

    def __init__(self, auth: AuthService, rbac: RbacService) -> None:
        self._auth = auth
        self._rbac = rbac

    async def CreateApiKey(
        self, request: auth_pb2.CreateApiKeyRequest, ctx: CallContext
    ) -> auth_pb2.CreateApiKeyResponse:
        """Creates an API key and returns its secret, once."""
        created = await self._auth.create_api_key(
            request.name,
            request.subject,
            list(request.scopes),
            convert.optional_timedelta(request, "ttl"),
        )
        return auth_pb2.CreateApiKeyResponse(
            api_key=api_key_message(created.key), secret=created.secret
        )

    async def ListApiKeys(
        self, request: auth_pb2.ListApiKeysRequest, ctx: CallContext
    ) -> auth_pb2.ListApiKeysResponse:
        """Lists API keys, oldest first."""
        page = await self._auth.list_api_keys(
            request.subject, request.page_size, request.page_token
        )
        return auth_pb2.ListApiKeysResponse(
            api_keys=[api_key_message(k) for k in page.items],
            next_page_token=page.next_page_token,
        )

    async def GetApiKey(
        self, request: auth_pb2.GetApiKeyRequest, ctx: CallContext
    ) -> auth_pb2.GetApiKeyResponse:
        """Returns an API key."""
        key = await self._auth.get_api_key(request.key_id)
        return auth_pb2.GetApiKeyResponse(api_key=api_key_message(key))

    async def RevokeApiKey(
        self, request: auth_pb2.RevokeApiKeyRequest, ctx: CallContext
    ) -> auth_pb2.RevokeApiKeyResponse:
        """Revokes an API key at once."""
        key = await self._auth.revoke_api_key(request.key_id)
        return auth_pb2.RevokeApiKeyResponse(api_key=api_key_message(key))

    async def IssueToken(
        self, request: auth_pb2.IssueTokenRequest, ctx: CallContext
    ) -> auth_pb2.IssueTokenResponse:
        """Issues a JWT for the caller's subject with at most its scopes."""
        self._require_caller(ctx)
        issued = await self._auth.issue_token(
            ctx.principal, list(request.scopes), convert.optional_timedelta(request, "ttl")
        )
        return auth_pb2.IssueTokenResponse(
            access_token=issued.access_token,
            token_type="Bearer",
            expires_at=convert.timestamp(issued.expires_at),
        )

    async def WhoAmI(
        self, request: auth_pb2.WhoAmIRequest, ctx: CallContext
    ) -> auth_pb2.WhoAmIResponse:
        """Describes the calling credential and the roles bound to its subject now."""
        self._require_caller(ctx)
        caller = ctx.principal
        return auth_pb2.WhoAmIResponse(
            subject=caller.subject,
            credential_type=_CREDENTIAL_TYPES[caller.credential_type],
            scopes=list(caller.scopes),
            roles=await self._rbac.role_names(caller.subject),
            key_id=caller.key_id,
            expires_at=convert.timestamp(caller.expires_at),
        )

    @staticmethod
    def _require_caller(ctx: CallContext) -> None:
        """Rejects a call that reached the handler without an authenticated principal."""
        if ctx.principal.credential_type not in _CREDENTIAL_TYPES:
            raise ConcordError(ErrorCode.UNAUTHENTICATED, "this call needs a credential")
