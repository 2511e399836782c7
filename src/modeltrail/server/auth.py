"""Access control: bearer tokens and roles, applied to every API route at once.

``authorize`` is a dependency of the whole application (``FastAPI(dependencies=...)``), so a
router added anywhere is covered without saying so. It maps each request to the role it needs:

- ``GET``/``HEAD``/``OPTIONS`` (and the read-only POSTs below) need ``reader``;
- every other method needs ``writer``;
- ``/api/v1/tokens`` needs ``admin``.

When the request names an experiment (``/experiments/{id}``, a run or an execution in the
path, or ``experiment``/``run`` in the body of a create), the token's grant on that experiment
counts as well as its global role; such a token may also read an artifact of its experiments
(``SCOPED_ARTIFACT_READS``), list what its experiments hold (``SCOPED_LISTS``), use the
model registry for the versions of its experiments (``SCOPED_REGISTRY``), and call the routes
of integrations that decide per experiment themselves (``SCOPED_ROUTES``). What a
token with grants only may link and see beyond this first check is decided per entity in
``modeltrail.services.access``. Health probes, metrics, the OpenAPI document and the web UI
stay open: only ``/api/v1``, ``/v1/metadata`` and the prefixes integrations ask for (``guard``:
MLflow's ``/api/2.0/mlflow``) are guarded. Roles follow the path the router matched, below the
app's root, whatever prefix the app is served under.

A token is looked up in a read that never waits for writers, and a token found valid is
trusted for ``TOKEN_CACHE_SECONDS`` by the process that looked it up. Revoking or rotating a
token through a server forgets what that server trusted at once; other server processes of the
store refuse it within that second, as they do a token that expired or whose grace ended.
"""

from __future__ import annotations

import ipaddress
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool

from modeltrail.domain.scope import Scope
from modeltrail.domain.tokens import (
    MIN_ADMIN_TOKEN,
    Principal,
    Refusal,
    Role,
    Token,
    TokenCreate,
    TokenCreated,
    TokenRotate,
)
from modeltrail.errors import Conflict, Forbidden, Unauthorized
from modeltrail.services import access, tokens

# Paths access control guards, with those of each integration mounted elsewhere (``guard``).
GUARDED_PREFIXES: tuple[str, ...] = ("/api/v1", "/v1/metadata")
ADMIN_PREFIXES = ("/api/v1/tokens",)
# Paths any valid token may call, whatever its roles.
AUTHENTICATED_ONLY = frozenset({"/api/v1/whoami"})
# POSTs that only read (a query too large or structured for a URL).
READ_ONLY_POSTS = frozenset({"/api/v1/cache/lookup"})
# Routes of integrations (method, route path) whose handlers decide per experiment what a token
# with grants may do, with the services' rule (``guard``): the guard lets such a token through.
SCOPED_ROUTES: frozenset[tuple[str, str]] = frozenset()
# Path segments that name an entity whose experiment is known.
_SCOPED = {"experiments": "experiment", "runs": "run", "executions": "execution"}


def guard(
    prefix: str,
    *,
    read_only_posts: Iterable[str] = (),
    scoped: Iterable[tuple[str, str]] = (),
) -> None:
    """Guard the paths under ``prefix`` (an integration's, outside ``/api/v1``) as every
    other; ``read_only_posts`` are checked as reads; ``scoped`` (method, route path) routes
    decide themselves what a token with grants on single experiments may do there."""
    global GUARDED_PREFIXES, READ_ONLY_POSTS, SCOPED_ROUTES
    if not prefix.startswith(GUARDED_PREFIXES):
        GUARDED_PREFIXES = (*GUARDED_PREFIXES, prefix)
    READ_ONLY_POSTS = READ_ONLY_POSTS | frozenset(read_only_posts)
    SCOPED_ROUTES = SCOPED_ROUTES | frozenset(scoped)


_BODY_SCOPE = {"/api/v1/runs": ("experiment", "experiment"), "/api/v1/executions": ("run", "run")}

# Reads about one artifact that a token with grants only may make when the artifact is of an
# experiment it may read (``services.access``); the answers are redacted for it.
SCOPED_ARTIFACT_READS = {
    "/api/v1/artifacts/{entity_id}": "entity_id",
    "/api/v1/artifacts/{artifact_id}/lineage": "artifact_id",
    "/api/v1/artifacts/{artifact_id}/impact": "artifact_id",
    "/api/v1/artifacts/{artifact_id}/diff": "artifact_id",
    "/api/v1/artifacts/{artifact_id}/versions": "artifact_id",
    "/v1/metadata/experiments/runs/executions/artifacts/{artifact}": "artifact",
}

# The files of one artifact: a token with grants only may read them where it may read the
# artifact, and upload or remove them where it may write the artifact.
SCOPED_ARTIFACT_FILES = "/api/v1/artifacts/{artifact_id}/"

# Lists a token with grants only may read: they list what its experiments hold.
SCOPED_LISTS = frozenset(
    {
        "/api/v1/experiments",
        "/api/v1/runs",
        "/api/v1/executions",
        "/api/v1/artifacts",
        "/api/v1/search",
    }
)

# The model registry: a token with grants only may read it, and make the changes of versions
# and aliases listed here; the registry shows it the versions of its experiments only and
# refuses what it may not change (``modeltrail.services.registry.visible``). Its other
# changes (of registered models themselves, of protected aliases) need a global role.
SCOPED_REGISTRY = "/api/v1/models"
SCOPED_REGISTRY_WRITES = frozenset(
    (method, SCOPED_REGISTRY + path)
    for method, path in (
        ("POST", "/{name}/versions"),
        ("PATCH", "/{name}/versions/{version}"),
        ("DELETE", "/{name}/versions/{version}"),
        ("PUT", "/{name}/versions/{version}/tags/{key}"),
        ("DELETE", "/{name}/versions/{version}/tags/{key}"),
        ("PUT", "/{name}/aliases/{alias}"),
        ("DELETE", "/{name}/aliases/{alias}"),
    )
)


def scoped_registry(method: str, template: str) -> bool:
    """Whether a token with grants only passes the guard of this registry route (what it
    sees and changes there is decided by the registry)."""
    if template != SCOPED_REGISTRY and not template.startswith(SCOPED_REGISTRY + "/"):
        return False
    return method in ("GET", "HEAD") or (method, template) in SCOPED_REGISTRY_WRITES


bearer = HTTPBearer(auto_error=False, description="An API token: `modeltrail tokens create`")

# How long (seconds) a server trusts a token it found valid without looking it up again.
TOKEN_CACHE_SECONDS = 1.0
_CACHE_SIZE = 4096


class TrustedTokens:
    """Tokens found valid in the last ``TOKEN_CACHE_SECONDS``, with their principals: a
    request with one of them needs no lookup (a trip to a thread and a query, as much as a
    small read's own work). Used on the event loop only."""

    def __init__(self, seconds: float = TOKEN_CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(token, None)
            return None
        return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        if len(self._entries) >= _CACHE_SIZE:
            self._entries.clear()  # many tokens at once: start over rather than track age
        self._entries[token] = (time.monotonic() + self.seconds, principal)

    def forget(self) -> None:
        self._entries.clear()


@dataclass(frozen=True)
class AuthSettings:
    """Whether tokens are required, the admin token given by configuration, and the tokens
    this server trusts for now."""

    enabled: bool = False
    admin_token: str | None = None
    trusted: TrustedTokens = field(default_factory=TrustedTokens, compare=False, repr=False)

    @classmethod
    def decide(
        cls,
        host: str,
        *,
        auth: bool | None,
        admin_token: str | None,
        stored_admin: Callable[[], bool] = lambda: False,
    ) -> AuthSettings:
        """On for any non-loopback address or when an admin token is configured, unless forced.

        Raises ``ValueError`` when the admin token is too short to be a secret, and when auth
        is on without an admin token, configured or in the store (``stored_admin``).
        """
        if admin_token is not None and len(admin_token) < MIN_ADMIN_TOKEN:
            raise ValueError(
                f"the admin token must be at least {MIN_ADMIN_TOKEN} characters long (this one "
                f"has {len(admin_token)}): make one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        enabled = auth if auth is not None else (not is_loopback(host) or bool(admin_token))
        if enabled and not admin_token and not stored_admin():
            raise ValueError(
                f"listening on {host} requires access control: set MODELTRAIL_ADMIN_TOKEN or "
                "--admin-token (or pass --no-auth to run an open server on purpose); it may "
                "be left out once the store holds an admin token (`modeltrail tokens create "
                "NAME --role admin`)"
            )
        return cls(enabled=enabled, admin_token=admin_token or None)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def required_role(method: str, path: str) -> Role | None:
    """The role a request needs; None for a path that is not guarded."""
    if not path.startswith(GUARDED_PREFIXES):
        return None
    if path.startswith(ADMIN_PREFIXES):
        return Role.ADMIN
    if method in ("GET", "HEAD", "OPTIONS") or path in READ_ONLY_POSTS:
        return Role.READER
    return Role.WRITER


def document_open_paths(spec: dict[str, Any]) -> dict[str, Any]:
    """Say in the OpenAPI document that the paths outside the guarded prefixes (probes,
    metrics) need no token: the app-wide dependency would otherwise list the bearer scheme on
    every operation."""
    for path, methods in spec.get("paths", {}).items():
        if required_role("GET", path) is None:
            for operation in methods.values():
                operation["security"] = []
    return spec


def _path_scope(request: Request) -> tuple[str, uuid.UUID] | None:
    route = request.scope.get("route")
    template = getattr(route, "path", "")
    parts = template.strip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if part in _SCOPED and nxt.startswith("{") and nxt.endswith("}"):
            raw = request.path_params.get(nxt[1:-1].split(":")[0])
            try:
                return _SCOPED[part], uuid.UUID(str(raw))
            except ValueError:
                return None
    return None


async def _body_scope(request: Request, path: str) -> tuple[str, uuid.UUID] | None:
    wanted = _BODY_SCOPE.get(path)
    if wanted is None or request.method != "POST":
        return None
    try:
        body = json.loads(await request.body())
        return wanted[1], uuid.UUID(str(body[wanted[0]]))
    except (ValueError, TypeError, KeyError):
        return None


async def _experiment(request: Request, principal: Principal, path: str) -> uuid.UUID | None:
    if not principal.experiments:
        return None  # only grants make the experiment matter: skip the lookup
    scope = _path_scope(request) or await _body_scope(request, path)
    if scope is None:
        return None
    entity, entity_id = scope
    if entity == "experiment":
        return entity_id
    meta = request.app.state.metadata
    return await run_in_threadpool(meta.query, tokens.experiment_of, entity, entity_id)


async def _scoped_read(request: Request, principal: Principal, needed: Role) -> bool:
    """Whether a token with grants may make this read: a list (cut to its experiments by the
    services) or a read of an artifact of its experiments."""
    template = getattr(request.scope.get("route"), "path", "")
    scope = Scope.of(principal)
    if needed is not Role.READER or scope is None or not principal.experiments:
        return False
    if template in SCOPED_LISTS and request.method in ("GET", "HEAD"):
        return True
    if scoped_registry(request.method, template):
        return True
    param = SCOPED_ARTIFACT_READS.get(template)
    if param is None and template.startswith(SCOPED_ARTIFACT_FILES):
        param = "artifact_id"
    if param is None:
        return False
    try:
        artifact_id = uuid.UUID(str(request.path_params.get(param)))
    except ValueError:
        return False
    meta = request.app.state.metadata
    return await run_in_threadpool(meta.query, access.can_read_artifact, scope, artifact_id)


def _scoped_registry_write(request: Request, principal: Principal, needed: Role) -> bool:
    """Whether a token with grants may make this change of the registry's versions or
    aliases: it may where it may write an experiment (the registry checks which)."""
    template = getattr(request.scope.get("route"), "path", "")
    scope = Scope.of(principal)
    if needed is not Role.WRITER or scope is None or not scope.writable:
        return False
    return (request.method, template) in SCOPED_REGISTRY_WRITES


async def _scoped_file_write(request: Request, principal: Principal, needed: Role) -> bool:
    """Whether a token with grants may upload or remove files of this artifact: it may where
    it may write the artifact."""
    template = getattr(request.scope.get("route"), "path", "")
    scope = Scope.of(principal)
    if needed is not Role.WRITER or scope is None or not principal.experiments:
        return False
    if not template.startswith(SCOPED_ARTIFACT_FILES):
        return False
    try:
        artifact_id = uuid.UUID(str(request.path_params.get("artifact_id")))
    except ValueError:
        return False
    meta = request.app.state.metadata
    return await run_in_threadpool(meta.query, access.can_write_artifact, scope, artifact_id)


def _scoped_route(request: Request, principal: Principal) -> bool:
    """Whether a token with grants may call this route of an integration: its handler decides
    per experiment (``SCOPED_ROUTES``), with the request's scope."""
    if not principal.experiments or Scope.of(principal) is None:
        return False
    template = getattr(request.scope.get("route"), "path", "")
    return (request.method, template) in SCOPED_ROUTES


def _principal(request: Request, token: str) -> Principal | Refusal:
    settings: AuthSettings = request.app.state.auth
    # A read: on SQLite it never waits for the write lock, whatever the writers do.
    return request.app.state.metadata.query(  # type: ignore[no-any-return]
        tokens.authenticate, token, configured=settings.admin_token
    )


def _unauthorized(detail: str) -> Unauthorized:
    exc = Unauthorized(detail)
    exc.headers = {"WWW-Authenticate": 'Bearer realm="modeltrail"'}  # type: ignore[attr-defined]
    return exc


async def authorize(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Refuse the request with 401/403 unless its token carries the role it needs."""
    settings: AuthSettings = request.app.state.auth
    # The path the router matched, below the app's root: where the app is served under a
    # prefix (a proxy's, with ``--root-path``; a mount in another app) the request's own path
    # starts with that prefix, which no guarded prefix matches.
    path = get_route_path(request.scope)
    needed = required_role(request.method, path)
    if not settings.enabled or needed is None:
        return
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise _unauthorized("send an API token as 'Authorization: Bearer <token>'")
    token = credentials.credentials
    principal = settings.trusted.get(token)
    if principal is None:
        # The lookups below query the database: off the event loop, like every endpoint's work.
        found = await run_in_threadpool(_principal, request, token)
        if isinstance(found, Refusal):
            raise _unauthorized(found.detail)
        settings.trusted.put(token, principal := found)
    request.state.principal = principal
    if path in AUTHENTICATED_ONLY:
        return
    role = principal.role_for(await _experiment(request, principal, path))
    if role is None or not role.allows(needed):
        if await _scoped_read(request, principal, needed):
            return
        if await _scoped_file_write(request, principal, needed):
            return
        if _scoped_registry_write(request, principal, needed):
            return
        if _scoped_route(request, principal):
            return
        raise Forbidden(
            f"this needs the {needed} role; token '{principal.name}' has {role or 'no role here'}",
            required=needed.value,
        )


# ---------------------------------------------------------------- token administration

router = APIRouter(prefix="/tokens", tags=["Tokens"])
whoami_router = APIRouter(tags=["Tokens"])


@router.post(
    "",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    operation_id="createToken",
    summary="Create an API token (the secret is shown once)",
)
def create_token(body: TokenCreate, request: Request) -> TokenCreated:
    return request.app.state.metadata.call(tokens.create_token, body)  # type: ignore[no-any-return]


@router.get("", response_model=list[Token], operation_id="listTokens", summary="List API tokens")
def list_tokens(
    request: Request,
    include_revoked: Annotated[bool, Query(alias="includeRevoked")] = False,
) -> list[Token]:
    return request.app.state.metadata.call(  # type: ignore[no-any-return]
        tokens.list_tokens, include_revoked=include_revoked
    )


@router.delete(
    "/configured",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="retireConfiguredToken",
    summary="Retire the admin token of the server's configuration (another admin token must exist)",
)
def retire_configured_token(request: Request) -> Response:
    settings: AuthSettings = request.app.state.auth
    if settings.admin_token is None:
        raise Conflict("this server is configured without an admin token: nothing to retire")
    request.app.state.metadata.call(tokens.retire_configured, settings.admin_token)
    settings.trusted.forget()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{token_id}/rotate",
    response_model=TokenCreated,
    operation_id="rotateToken",
    summary="Give a token a new secret (shown once); the old one is refused after the grace",
)
def rotate_token(token_id: uuid.UUID, request: Request, body: TokenRotate) -> TokenCreated:
    rotated: TokenCreated = request.app.state.metadata.call(tokens.rotate_token, token_id, body)
    request.app.state.auth.trusted.forget()
    return rotated


@router.delete(
    "/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="revokeToken",
    summary="Revoke an API token",
)
def revoke_token(token_id: uuid.UUID, request: Request) -> Response:
    request.app.state.metadata.call(tokens.revoke_token, token_id)
    request.app.state.auth.trusted.forget()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@whoami_router.get(
    "/whoami",
    response_model=Principal,
    operation_id="whoami",
    summary="Who the request's token stands for (the UI signs in with it)",
)
def whoami(request: Request) -> Any:
    settings: AuthSettings = request.app.state.auth
    if not settings.enabled:
        return Principal(name="anonymous (access control is off)", role=Role.ADMIN)
    return request.state.principal
