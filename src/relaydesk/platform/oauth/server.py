"""The OAuth 2.0 authorization server, on Authlib's core (RFC 6749, 6750, 7009, 7636, 7662,
8414), with the rules of RFC 9700:

* authorization code with PKCE (S256 only; required for public clients, accepted for all);
* refresh tokens rotate on every use; presenting a rotated one again (a replay: someone else
  has a copy) revokes the whole family — every token issued from the same authorization;
* a replayed authorization code also revokes what was issued from it (RFC 6749 §4.1.2);
* the implicit grant only for clients registered with ``allow_implicit`` (no refresh token);
* redirect URIs match exactly; codes, access and refresh tokens are stored as SHA-256 only.

Authlib is synchronous: one :class:`OAuthServer` is built per request around the sync
``Session`` that ``AsyncSession.run_sync`` hands out (the request's own transaction). The
request body is read before (:class:`HttpRequest` carries it). The caller commits even when
the answer is an error, so a replay's revocation sticks; when :attr:`OAuthServer.revoked` is
set it bumps the auth epoch first.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    ClientMixin,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import (  # type: ignore[import-untyped]
    AuthorizationCodeGrant,
    ImplicitGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator  # type: ignore[import-untyped]
from authlib.oauth2.rfc7009 import RevocationEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata  # type: ignore[import-untyped]
from sqlalchemy.orm import Session
from starlette.responses import Response

from relaydesk.config import Settings
from relaydesk.infra.auth import keys, scopes
from relaydesk.infra.auth.authenticator import OAUTH_ACCESS_PREFIX
from relaydesk.kit.ids import new_uuid
from relaydesk.kit.time import utcnow
from relaydesk.models import User
from relaydesk.models.oauth import OAuthAuthorizationCode, OAuthClient, OAuthToken
from relaydesk.platform.oauth import repository
from relaydesk.platform.oauth.service import check_secret

ACCESS_PREFIX = OAUTH_ACCESS_PREFIX  # rdo_…
REFRESH_PREFIX = "rdr_"
SECRET_METHODS = ["client_secret_basic", "client_secret_post"]
ALL_METHODS = [*SECRET_METHODS, "none"]
AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"  # noqa: S105 (a path)
REVOKE_PATH = "/oauth/revoke"
INTROSPECT_PATH = "/oauth/introspect"
METADATA_PATH = "/.well-known/oauth-authorization-server"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# -- the request, as Authlib sees it ------------------------------------------------------------


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._data.setdefault(key, value)
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class HttpRequest(OAuth2Request):  # type: ignore[misc]
    """An already-read HTTP request. ``uri`` is the public URL (``RELAYDESK_BASE_URL`` +
    path), so Authlib's https check follows the configured address, not the proxy hop.
    Parameters come from the query and the form, query first (like Flask's ``values``)."""

    family_id: str | None

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: Iterable[tuple[str, str]],
        form: Iterable[tuple[str, str]],
    ) -> None:
        # case-insensitive (Starlette's Headers): Authlib reads "Authorization"
        super().__init__(method=method, uri=uri, headers=headers)
        query_pairs, form_pairs = list(query), list(form)
        self._args = dict(query_pairs)
        self._form = dict(form_pairs)
        self.payload = _Payload(query_pairs + form_pairs)
        self.family_id = None

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


# -- Authlib's views of our rows ----------------------------------------------------------------


class Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, model: OAuthClient, server: OAuthServer) -> None:
        self.model = model
        self.server = server

    def get_client_id(self) -> str:
        return self.model.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.model.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes (every scope when none are named), narrowed to what the
        user's role allows once the user is known; None (→ ``invalid_scope``) if nothing is
        left."""
        wanted = frozenset(scope.split()) if scope else frozenset(scopes.ALL)
        allowed = self.server.user_scopes
        granted = wanted if allowed is None else wanted & allowed
        return scopes.render(granted) or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.model.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return check_secret(self.model, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.model.is_public:
            return method == "none"
        return method in SECRET_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" or (response_type == "token" and self.model.allow_implicit)

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "implicit":
            return self.model.allow_implicit
        return grant_type in ("authorization_code", "refresh_token")


class Code:
    def __init__(self, model: OAuthAuthorizationCode) -> None:
        self.model = model
        self.code_challenge = model.code_challenge
        self.code_challenge_method = model.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.model.redirect_uri

    def get_scope(self) -> str:
        return self.model.scope


class Token:
    """One token row, as the access or the refresh token it was looked up by."""

    def __init__(self, model: OAuthToken, kind: str, now: datetime) -> None:
        self.model = model
        self.kind = kind  # "access_token" | "refresh_token"
        self.now = now

    @property
    def expires_on(self) -> datetime | None:
        return (
            self.model.expires_on if self.kind == "access_token" else self.model.refresh_expires_on
        )

    def check_client(self, client: Client) -> bool:
        return self.model.client_id == client.model.id

    def get_scope(self) -> str:
        return self.model.scope

    def get_expires_in(self) -> int:
        expires = self.expires_on
        return max(0, int((expires - self.now).total_seconds())) if expires else 0

    def is_expired(self) -> bool:
        expires = self.expires_on
        return expires is None or self.now >= expires

    def is_revoked(self) -> bool:
        if self.model.revoked_on is not None:
            return True
        return self.kind == "refresh_token" and self.model.rotated_on is not None


# -- grants and endpoints -----------------------------------------------------------------------


def _server(grant: Any) -> OAuthServer:
    server: OAuthServer = grant.server
    return server


class PKCE(CodeChallenge):  # type: ignore[misc]
    """S256 only. Public clients must send a challenge; when one is sent its method must be
    named (``plain``, RFC 7636's default, is not accepted)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        client: Client = grant.request.client
        if client.model.is_public and not data.get("code_challenge"):
            raise InvalidRequestError("Public clients must use PKCE: send 'code_challenge' (S256).")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS

    def save_authorization_code(self, code: str, request: HttpRequest) -> None:
        server = _server(self)
        client: Client = request.client
        data = request.payload.data
        server.db.add(
            OAuthAuthorizationCode(
                code_hash=keys.digest(code),
                client_id=client.model.id,
                user_id=request.user.id,
                workspace_id=client.model.workspace_id,
                family_id=new_uuid(),
                redirect_uri=request.payload.redirect_uri or "",
                scope=request.scope or "",
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method")
                if data.get("code_challenge")
                else None,
                created_on=server.now,
                expires_on=server.now + timedelta(seconds=server.settings.oauth_code_seconds),
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        server = _server(self)
        row = repository.code_by_hash(server.db, keys.digest(code))
        if row is None or row.client_id != client.model.id:
            return None
        if row.used_on is not None:  # replayed: revoke what the first use got
            server.revoke_family(row.family_id)
            return None
        if server.now >= row.expires_on:
            return None
        return Code(row)

    def authenticate_user(self, authorization_code: Code) -> User:
        server = _server(self)
        row = authorization_code.model
        if not repository.claim_code(server.db, row.id, server.now):  # a concurrent use won
            server.revoke_family(row.family_id)
            raise InvalidGrantError("The authorization code was already used.")
        user = repository.get_user(server.db, row.user_id)
        if user is None or user.deleted_on is not None:
            raise InvalidGrantError("The user of this code no longer exists.")
        self.request.family_id = row.family_id
        return user

    def delete_authorization_code(self, authorization_code: Code) -> None:
        return None  # marked used (atomically) by authenticate_user


class RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        server = _server(self)
        if not refresh_token.startswith(REFRESH_PREFIX):
            return None
        row = repository.token_by_refresh_hash(server.db, keys.digest(refresh_token))
        if row is None or row.revoked_on is not None:
            return None
        if row.rotated_on is not None:  # reuse of a rotated token: the family is compromised
            server.revoke_family(row.family_id)
            return None
        token = Token(row, "refresh_token", server.now)
        return None if token.is_expired() else token

    def authenticate_user(self, refresh_token: Token) -> User:
        server = _server(self)
        row = refresh_token.model
        if not repository.claim_refresh(server.db, row.id, server.now):
            server.revoke_family(row.family_id)
            raise InvalidGrantError("The refresh token was already used.")
        user = repository.get_user(server.db, row.user_id)
        role = repository.member_role_sync(server.db, row.workspace_id, row.user_id)
        if user is None or user.deleted_on is not None or role is None:
            raise InvalidGrantError("The user is no longer a member of the workspace.")
        server.user_scopes = scopes.for_role(role)  # a demoted user's grant shrinks
        self.request.family_id = row.family_id
        return user

    def revoke_old_credential(self, refresh_token: Token) -> None:
        return None  # rotated (atomically) by authenticate_user


class Implicit(ImplicitGrant):  # type: ignore[misc]
    def authenticate_token_endpoint_client(self) -> Client:
        """The implicit grant has no client authentication: the client is identified by its
        id and the exact redirect URI (a confidential client may opt in too)."""
        client_id = self.request.payload.client_id
        client = self.server.query_client(client_id) if client_id else None
        if client is None:
            raise InvalidClientError(description="The client does not exist on this server.")
        assert isinstance(client, Client)
        return client


class _TokenLookup:
    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return _server(self).find_token(token_string)


class Revocation(_TokenLookup, RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009. Public clients revoke with their client_id alone. Revoking either token of
    a grant ends the grant: every token of its family."""

    CLIENT_AUTH_METHODS = ALL_METHODS

    def revoke_token(self, token: Token, request: HttpRequest) -> None:
        _server(self).revoke_family(token.model.family_id)


class Introspection(_TokenLookup, IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662, for confidential clients, about their own tokens (anything else is
    ``{"active": false}``)."""

    CLIENT_AUTH_METHODS = SECRET_METHODS

    def check_permission(self, token: Token, client: Client, request: HttpRequest) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: Token) -> dict[str, Any]:
        server = _server(self)
        row = token.model
        client = repository.client_by_pk(server.db, row.client_id)
        user = repository.get_user(server.db, row.user_id)
        expires = token.expires_on
        body: dict[str, Any] = {
            "active": True,
            "scope": row.scope,
            "client_id": client.client_id if client else None,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "iss": server.settings.base_url,
            "iat": int(row.issued_on.timestamp()),
            "exp": int(expires.timestamp()) if expires else None,
        }
        if user is not None:
            body["sub"] = user.uuid
            body["username"] = user.email
        return body


# -- the server ---------------------------------------------------------------------------------


class OAuthServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(
        self,
        db: Session,
        settings: Settings,
        *,
        user_scopes: frozenset[str] | None = None,
        now: datetime | None = None,
    ) -> None:
        super().__init__(scopes_supported=list(scopes.ALL))
        self.db = db
        self.settings = settings
        self.now = now or utcnow()
        # what the end user's role allows (None until known): granted = requested ∩ this
        self.user_scopes = user_scopes
        self.revoked = False  # tokens were revoked: the caller bumps the auth epoch
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **_: ACCESS_PREFIX + secrets.token_urlsafe(32),
                lambda **_: REFRESH_PREFIX + secrets.token_urlsafe(32),
                lambda client, grant_type: settings.oauth_access_token_seconds,
            ),
        )
        self.register_grant(CodeGrant, [PKCE(required=True)])
        self.register_grant(RefreshGrant)
        self.register_grant(Implicit)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)

    # Authlib's framework hooks

    def query_client(self, client_id: str) -> Client | None:
        model = repository.client_by_client_id(self.db, client_id)
        return Client(model, self) if model is not None else None

    def save_token(self, token: dict[str, Any], request: HttpRequest) -> None:
        client: Client = request.client
        refresh = token.get("refresh_token")
        self.db.add(
            OAuthToken(
                access_token_hash=keys.digest(token["access_token"]),
                refresh_token_hash=keys.digest(refresh) if refresh else None,
                family_id=request.family_id or new_uuid(),
                client_id=client.model.id,
                user_id=request.user.id,
                workspace_id=client.model.workspace_id,
                scope=token.get("scope", ""),
                issued_on=self.now,
                expires_on=self.now + timedelta(seconds=int(token["expires_in"])),
                refresh_expires_on=self.now + timedelta(days=self.settings.oauth_refresh_token_days)
                if refresh
                else None,
            )
        )
        self.db.flush()

    def create_oauth2_request(self, request: HttpRequest) -> HttpRequest:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(
        self, status: int, body: Any, headers: Iterable[tuple[str, str]]
    ) -> Response:
        content = orjson.dumps(body) if isinstance(body, dict) else (body or b"")
        response = Response(content, status_code=status)
        for name, value in headers:
            response.headers[name] = value
        if isinstance(body, dict):
            response.headers["Content-Type"] = "application/json"
            response.headers.update(NO_STORE)
        return response

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    # ours

    def revoke_family(self, family_id: str) -> None:
        repository.revoke_family(self.db, family_id, self.now)
        self.revoked = True

    def find_token(self, token_string: str) -> Token | None:
        digest = keys.digest(token_string)
        if token_string.startswith(ACCESS_PREFIX):
            row = repository.token_by_access_hash(self.db, digest)
            return Token(row, "access_token", self.now) if row else None
        if token_string.startswith(REFRESH_PREFIX):
            row = repository.token_by_refresh_hash(self.db, digest)
            return Token(row, "refresh_token", self.now) if row else None
        return None


def metadata(settings: Settings) -> dict[str, Any]:
    """RFC 8414 authorization server metadata (``/.well-known/oauth-authorization-server``)."""
    base = settings.base_url
    return dict(
        AuthorizationServerMetadata(
            {
                "issuer": base,
                "authorization_endpoint": base + AUTHORIZE_PATH,
                "token_endpoint": base + TOKEN_PATH,
                "revocation_endpoint": base + REVOKE_PATH,
                "introspection_endpoint": base + INTROSPECT_PATH,
                "scopes_supported": list(scopes.ALL),
                "response_types_supported": ["code", "token"],
                "response_modes_supported": ["query", "fragment"],
                "grant_types_supported": ["authorization_code", "refresh_token", "implicit"],
                "token_endpoint_auth_methods_supported": ALL_METHODS,
                "revocation_endpoint_auth_methods_supported": ALL_METHODS,
                "introspection_endpoint_auth_methods_supported": SECRET_METHODS,
                "code_challenge_methods_supported": ["S256"],
            }
        )
    )
