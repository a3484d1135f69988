"""The codec server: Temporal's remote codec protocol, so the Temporal UI and CLI can show workflow payloads in clear.

`POST /decode` and `POST /encode` (also under any prefix, such as `/{namespace}/decode`, for the CLI's templated
`--codec-endpoint`) take and answer `{"payloads": [...]}` in the protobuf JSON form, and run them through the same
EncryptionCodec the worker uses. The browser calls it from the UI's page, so it answers CORS for the UI's origins
(preflight included) with credentials.

Decoding is a disclosure: payloads hold names, dates of birth and medical results, and the UI shows every office's,
clinic's and reception team's workflows at once, so no role scoped to one organisation may decode (a coordinator
would read diagnoses, a clinic another clinic's patients). Only a person of the `operator` role, which holds
`payloads:decode` and nothing else, may; partner systems may not, even with that role. Every decode is written to
the audit trail before the plaintext leaves: who, which namespace, how many payloads, never their content.

The caller authenticates with this project's own access token: `Authorization: Bearer` (the CLI's `--codec-auth`),
or the cookie the codec server's sign-in page sets (predeparture.codec_signin), which the UI sends once its codec
setting "Include cross-origin credentials" is on. A cookie only counts from an allowed origin (CSRF)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.audit.service import event
from api.auth.service import Authority
from api.auth.tokens import InvalidToken
from api.principal import Principal, Scope
from api.problems import ProblemError, install_problem_handlers
from predeparture.codec import EncryptionCodec, PayloadDecryptionError
from predeparture.keys import load_or_create_key
from predeparture.settings import Settings
from store.repository import Store

log = logging.getLogger(__name__)

NAMESPACE_HEADER = "X-Namespace"
COOKIE = "predeparture_codec"
REALM = "predeparture-codec"
DECODED = "payloads.decoded"
# Temporal refuses payloads over 2 MiB; the UI sends a few at a time.
MAX_BODY_BYTES = 8 * 1024 * 1024
ALLOWED_HEADERS = ["Authorization", "Content-Type", NAMESPACE_HEADER]


class CodecService:
    """What the routes share: the settings, the store (accounts, audit trail), the codec and the token checks."""

    def __init__(self, settings: Settings, store: Store, codec: EncryptionCodec, origins: Sequence[str]) -> None:
        self.settings = settings
        self.store = store
        self.codec = codec
        self.origins = frozenset(origins)
        self.authority = Authority.from_settings(settings, store)

    async def caller(self, request: Request) -> Principal:
        """The operator named by the request's token; 401 without a valid one, 403 for anyone else."""
        token, from_cookie = bearer_token(request), False
        if token is None and (token := request.cookies.get(COOKIE)):
            from_cookie = True
            if request.headers.get("origin") not in self.origins:
                raise ProblemError(403, "the sign-in cookie only counts on requests from the Temporal UI's origin")
        if not token:
            raise _unauthenticated("send a bearer token from POST /auth/token, or sign in at this server's page")
        try:
            principal = await self.authority.authenticate(token)
        except InvalidToken as invalid:
            raise _unauthenticated(str(invalid), error="invalid_token" if not from_cookie else None) from None
        if Scope.PAYLOADS_DECODE not in principal.scopes:
            raise ProblemError(403, f"payloads are shown in clear to operators only (scope {Scope.PAYLOADS_DECODE})")
        if principal.is_client:
            raise ProblemError(403, "payloads are decoded for a person signed in, never for a partner system")
        return principal

    def namespace(self, request: Request) -> str:
        served = self.settings.temporal.namespace
        asked = request.headers.get(NAMESPACE_HEADER) or served
        if asked != served:
            raise ProblemError(404, f"this codec server serves the namespace {served!r} only")
        return asked


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _unauthenticated(detail: str, error: str | None = None) -> ProblemError:
    challenge = f'Bearer realm="{REALM}"' + (f', error="{error}"' if error else "")
    return ProblemError(401, detail, headers={"WWW-Authenticate": challenge})


async def _payloads(request: Request) -> list[Payload]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise ProblemError(415, "send the payloads as application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ProblemError(413, f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ProblemError(413, f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    try:
        return list(json_format.Parse(body, Payloads()).payloads)
    except (json_format.ParseError, UnicodeDecodeError):
        raise ProblemError(400, 'body: not {"payloads": [...]} in the protobuf JSON form') from None


def _answer(payloads: Sequence[Payload]) -> Response:
    body = json_format.MessageToJson(Payloads(payloads=payloads))
    # Plaintext of personal data: no cache along the way may keep it.
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


def codec_of(request: Request) -> CodecService:
    service: CodecService = request.app.state.codec
    return service


async def decode(request: Request) -> Response:
    service = codec_of(request)
    principal = await service.caller(request)
    namespace = service.namespace(request)
    payloads = await _payloads(request)
    opened: list[Payload] = []
    for index, payload in enumerate(payloads):
        try:
            opened += await service.codec.decode([payload])
        except PayloadDecryptionError as refused:
            raise ProblemError(422, f"payloads.{index}: {refused}") from None
    # Recorded before anything is shown: a disclosure the trail cannot name does not happen.
    try:
        await service.store.append_audit([event(principal, DECODED, "namespace", namespace,
                                                payloads=str(len(opened)))])
    except Exception as error:
        log.error("a decode was refused: the audit trail could not record it (%s)", type(error).__name__)
        raise ProblemError(503, "the audit trail is unavailable, so nothing is decoded; retry shortly",
                           headers={"Retry-After": "5"}) from None
    return _answer(opened)


async def encode(request: Request) -> Response:
    """Seals what an operator types into the UI (a signal's input, say) under the worker's current key."""
    service = codec_of(request)
    await service.caller(request)
    service.namespace(request)
    return _answer(await service.codec.encode(await _payloads(request)))


def create_codec_app(settings: Settings, store: Store, codec: EncryptionCodec,
                     extra_origins: Sequence[str] = ()) -> FastAPI:
    """`extra_origins`: the embedded dev server's UI, whichever port it was given."""
    from predeparture.codec_signin import router as signin

    origins = list(dict.fromkeys([*settings.codec_server.allowed_origins, *extra_origins]))
    app = FastAPI(title="predeparture codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.codec = CodecService(settings, store, codec, origins)
    install_problem_handlers(app)
    for path in ("/decode", "/{prefix:path}/decode"):
        app.add_api_route(path, decode, methods=["POST"], include_in_schema=False)
    for path in ("/encode", "/{prefix:path}/encode"):
        app.add_api_route(path, encode, methods=["POST"], include_in_schema=False)
    app.include_router(signin)
    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["POST"], allow_headers=ALLOWED_HEADERS,
                       allow_credentials=True, max_age=600)
    return app


def public_url(settings: Settings) -> str:
    codec = settings.codec_server
    return (codec.public_url or f"http://{codec.host}:{codec.port}").rstrip("/")


@contextlib.asynccontextmanager
async def serving(settings: Settings, store: Store, extra_origins: Sequence[str] = ()) -> AsyncIterator[str | None]:
    """The codec server on codec_server.host:port while inside, if it is enabled; yields its public URL, or None."""
    if not settings.codec_server.enabled:
        yield None
        return
    from api.server import ApiServer

    codec = EncryptionCodec(*load_or_create_key(settings))
    app = create_codec_app(settings, store, codec, extra_origins)
    server = ApiServer(app, settings.codec_server.host, settings.codec_server.port)
    await server.start()
    try:
        yield public_url(settings)
    finally:
        await server.stop()
