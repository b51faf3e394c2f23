"""The real transport: one guarded, time-boxed, byte-capped HTTPS exchange through aiohttp."""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from callout import __version__
from callout.http._guarded_resolver import GuardedResolver
from callout.http.client_certificates import ClientCertificateContexts, LoadedCertificate
from callout.http.config import TransportConfig
from callout.http.guard import AddressGuard
from callout.http.handshake_notes import (
    HandshakeNotes,
    client_certificate_refusal,
    noting_handshakes,
    ssl_reason,
    watch_handshakes,
)
from callout.http.literal import parse_ip_literal
from callout.http.redirects import Hop, is_redirect, next_hop
from callout.http.resolver import Resolver, SystemResolver
from callout.http.transport import InboundResponse, OutboundRequest
from callout.model.errors import (
    AttemptTimeout,
    ClientCertificateError,
    ConnectError,
    RequestRejected,
    ResponseTooLarge,
    TLSError,
)

USER_AGENT = f"callout/{__version__}"

CHECKED_URLS = 256
"""URLs a transport remembers as checked (most attempts of a step send to one URL);
past this many, it starts again (a URL per run, say, would otherwise only grow)."""

# aiohttp adds Accept, Accept-Encoding and Host on its own; those we keep (the
# encodings it offers are the ones it decodes, and the cap counts decoded
# bytes). Content-Type would default to application/octet-stream on any body
# and User-Agent to aiohttp's: the request says what it sends, and we say who.
_SKIP_AUTO_HEADERS = frozenset({"Content-Type", "User-Agent"})

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_IN_HEADERS = re.compile(r"[\r\n\x00]")
_CONTROL_IN_HEADERS = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")

# How much decoded body to ask the stream for at a time: small enough that one
# read never lands far past the cap, large enough to keep the loop cheap.
_READ_CHUNK = 64 * 1024

# The most of a followed redirect's body read (and thrown away) to keep its
# connection for the next hop; a longer body costs the connection instead.
_REDIRECT_BODY_KEPT = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Answer:
    """One hop's answer: a response, or (`location` set) a redirect to follow."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    location: str | None = None


@dataclass(frozen=True, slots=True)
class _Presenting:
    """What TLS presents for one request: its context, and the client certificate's facts."""

    context: ssl.SSLContext | None = None
    certificate: LoadedCertificate | None = None


class AiohttpTransport:
    """Sends requests over HTTPS through the address guard, under one timeout and a byte cap.

    - only `https` URLs (plain `http` when `config.allow_http`), with no user
      name or password in them;
    - the host is resolved once per new connection by `resolver`, every
      address is checked by the guard, and aiohttp connects to exactly those
      addresses; literal IP hosts in any spelling are checked before aiohttp
      sees them; the original host name stays the SNI and `Host`;
    - certificates are checked against the system's roots plus
      `config.ca_bundle`; `request.client_certificate` (PEM) is presented when
      the server asks for one (`client_certificates.py`), and a handshake that
      fails for want of one, or over the one sent, is a `ClientCertificateError`
      (`handshake_notes.py`);
    - redirects are returned as they are, unless `request.follow_redirects`
      allows more: then each hop is checked and guarded like the first
      (`redirects.py` has the rules); no cookies are kept, no proxy is used;
    - `request.timeout` covers the look-up, connect, TLS, sending and reading
      the whole body, of every hop;
    - the decoded body is read as a stream and reading stops past
      `config.max_response_bytes`.
    """

    def __init__(self, config: TransportConfig, *, resolver: Resolver | None = None) -> None:
        self._config = config
        self._guard = AddressGuard(config.allowed_networks)
        self._resolver: Resolver = resolver if resolver is not None else SystemResolver()
        self._ssl = self._new_ssl_context()
        self._client_certificates = ClientCertificateContexts(self._new_ssl_context)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._checked: dict[str, URL] = {}

    async def send(self, request: OutboundRequest) -> InboundResponse:
        """Send `request`; raise an `AttemptError` branch when no response can be returned."""
        first = Hop(request.method, self._checked_url(request.url), request.headers, request.body)
        _check_method_and_headers(request)
        hop = first
        started = time.monotonic()
        deadline = asyncio.timeout(request.timeout)
        try:
            async with deadline:
                presenting = await self._presenting(request)
                redirects = 0
                while True:
                    follow = redirects < request.follow_redirects
                    answer = await self._exchange(hop, presenting, follow=follow)
                    if answer.location is None:
                        break
                    hop = next_hop(
                        hop,
                        answer.status,
                        answer.location,
                        origin_bound=request.origin_bound_headers,
                        allow_http=self._config.allow_http,
                    )
                    hop = Hop(hop.method, self._checked_target(hop.url), hop.headers, hop.body)
                    redirects += 1
        except TimeoutError:
            if deadline.expired():
                raise AttemptTimeout(f"no complete response within {request.timeout:g} s") from None
            # A timeout of the operating system's own (a connect that timed out
            # below us) is a connection failure, not our deadline.
            raise ConnectError(f"could not connect to {_authority(hop.url)}: timed out") from None
        return InboundResponse(
            status=answer.status,
            headers=answer.headers,
            body=answer.body,
            elapsed=time.monotonic() - started,
            # The request's own spelling when nothing redirected it.
            url=request.url if hop is first else str(hop.url),
        )

    async def aclose(self) -> None:
        """Close pooled connections; a later `send` opens a new session."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _new_ssl_context(self) -> ssl.SSLContext:
        context = _ssl_context(self._config)
        watch_handshakes(context)
        return context

    async def _presenting(self, request: OutboundRequest) -> _Presenting:
        pem = request.client_certificate
        if pem is None:
            return _Presenting()
        loaded = self._client_certificates.cached(pem)
        if loaded is None:
            # Building a context reads the system's CAs: tens of milliseconds
            # the event loop must not stand still for.
            loaded = await asyncio.to_thread(self._client_certificates.load, pem)
        return _Presenting(loaded.context, loaded)

    def _checked_url(self, raw: str) -> URL:
        """`raw` parsed and checked (`_checked_target`), remembered for the next attempts.

        The check depends on the URL and this transport's settings only; a host name's
        addresses are checked when it is resolved, on every connection. A refused URL
        is not remembered: it raises each time.
        """
        checked = self._checked.get(raw)
        if checked is None:
            checked = self._parsed_and_checked(raw)
            if len(self._checked) >= CHECKED_URLS:
                self._checked.clear()
            self._checked[raw] = checked
        return checked

    def _parsed_and_checked(self, raw: str) -> URL:
        # Messages name the scheme or the host, never the whole URL: its query
        # string may carry a token.
        try:
            url = URL(raw)
            # Send the path and query exactly as the step layer encoded them:
            # yarl's re-quoting would turn %7E into ~ and %ZZ into %25ZZ.
            # Only a URL with raw non-ASCII characters needs quoting here.
            as_built = URL(raw, encoded=True) if raw.isascii() else url
        except (ValueError, TypeError, UnicodeError):
            raise RequestRejected("the URL is not valid") from None
        return self._checked_target(url, as_built)

    def _checked_target(self, url: URL, as_built: URL | None = None) -> URL:
        scheme = url.scheme.lower()
        if scheme == "http" and not self._config.allow_http:
            raise RequestRejected(
                "plain http is not allowed, use https "
                "(an operator can allow http with CALLOUT_ALLOW_HTTP=1)"
            )
        if scheme not in ("http", "https"):
            raise RequestRejected(f"the URL scheme must be https, not {scheme or 'missing'!r}")
        if url.user is not None or url.password is not None:
            raise RequestRejected("the URL must not carry a user name or password")
        host = url.host
        if not host:
            raise RequestRejected("the URL has no host")
        try:
            literal = parse_ip_literal(host)
        except ValueError as exc:
            raise RequestRejected(f"the URL host is not valid: {exc}") from None
        if literal is not None:
            # A literal never reaches the resolver (aiohttp connects to it
            # directly), so it is checked here, in its canonical spelling,
            # which is also the spelling aiohttp connects to.
            self._guard.check_address(literal)
            host = str(literal)
        # The host as yarl normalised it (lower case, IDNA), so the name the
        # resolver, SNI and Host see is the one checked here.
        return (as_built or url).with_host(host)

    async def _exchange(self, hop: Hop, presenting: _Presenting, *, follow: bool) -> _Answer:
        session = self._session_for_this_loop()
        headers = CIMultiDict(hop.headers)
        if "User-Agent" not in headers:
            headers["User-Agent"] = USER_AGENT
        tls = hop.url.scheme == "https"
        answered = False
        with noting_handshakes() as notes:
            try:
                async with session.request(
                    hop.method,
                    hop.url,
                    headers=headers,
                    data=hop.body or None,
                    skip_auto_headers=_SKIP_AUTO_HEADERS,
                    allow_redirects=False,
                    ssl=presenting.context if tls and presenting.context is not None else True,
                ) as response:
                    answered = True
                    location = response.headers.get("Location", "").strip()
                    if follow and location and is_redirect(response.status):
                        await _discard(response)
                        return _Answer(response.status, location=location)
                    try:
                        body = await self._read_capped(response)
                    except BaseException:
                        # Over the cap, past the deadline or broken: drop the
                        # connection at once (see _abort).
                        _abort(response)
                        raise
                    return _Answer(response.status, tuple(response.headers.items()), body)
            except aiohttp.ClientError as exc:
                if tls and not answered:
                    refusal = _certificate_refusal(exc, hop.url, notes, presenting)
                    if refusal is not None:
                        raise ClientCertificateError(refusal) from None
                _raise_transport_error(exc, hop.url)

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        cap = self._config.max_response_bytes
        encoded = response.headers.get("Content-Encoding", "identity").strip().lower()
        # Content-Length counts bytes on the wire; only without a content
        # coding is that the decoded size the cap is about.
        if encoded == "identity" and (response.content_length or 0) > cap:
            raise ResponseTooLarge(
                f"the response announces {response.content_length} bytes, "
                f"over the cap of {cap} bytes"
            )
        body = bytearray()
        while chunk := await response.content.read(_READ_CHUNK):
            body += chunk
            if len(body) > cap:
                raise ResponseTooLarge(
                    f"the response body passed the cap of {cap} bytes (decoded); "
                    "reading stopped there"
                )
        return bytes(body)

    def _session_for_this_loop(self) -> aiohttp.ClientSession:
        # Created lazily: a ClientSession belongs to the running event loop,
        # and the transport may be built before any loop runs.
        loop = asyncio.get_running_loop()
        if self._session is not None and not self._session.closed and self._loop is not loop:
            raise RuntimeError(
                "this AiohttpTransport is in use on another event loop; "
                "close it with aclose() there, or build one transport per loop"
            )
        if self._session is None or self._session.closed:
            self._loop = loop
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self._resolver, self._guard),
                # Every new connection asks our resolver (and the guard) again;
                # aiohttp's cache would hand out answers the guard never saw
                # for this connection.
                use_dns_cache=False,
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # Our deadline covers everything; aiohttp's default total
                # timeout of five minutes would only blur which one fired.
                timeout=aiohttp.ClientTimeout(total=None),
                # Cookies set by one workflow's server must never reach
                # another's request; a proxy from the environment would bypass
                # the guard.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=True,
            )
        return self._session


async def _discard(response: aiohttp.ClientResponse) -> None:
    """Read a followed redirect's body away, so its connection can carry the next hop.

    A body longer than `_REDIRECT_BODY_KEPT` (or broken) costs the connection
    instead: the Location is all that counts.
    """
    if (response.content_length or 0) > _REDIRECT_BODY_KEPT:
        _abort(response)
        return
    read = 0
    try:
        while chunk := await response.content.read(_READ_CHUNK):
            read += len(chunk)
            if read > _REDIRECT_BODY_KEPT:
                _abort(response)
                return
    except aiohttp.ClientError:
        _abort(response)
    except BaseException:
        _abort(response)
        raise


def _certificate_refusal(
    exc: aiohttp.ClientError, url: URL, notes: HandshakeNotes, presenting: _Presenting
) -> str | None:
    certificate = presenting.certificate
    expired_on = None
    if certificate is not None and certificate.not_after <= datetime.now(UTC):
        expired_on = certificate.not_after
    return client_certificate_refusal(
        ssl_reason(exc),
        where=_authority(url),
        requested=notes.certificate_requested,
        presented=certificate is not None,
        expired_on=expired_on,
    )


def _abort(response: aiohttp.ClientResponse) -> None:
    """Drop the response's connection without reading another byte.

    A graceful TLS close waits for the server's close_notify and keeps reading
    (and discarding) what it sends meanwhile; a hostile server never stops
    sending. aiohttp 3.14 already aborts TLS connections on close; aborting
    here keeps that true whatever a later aiohttp does. The connection could
    not be reused mid-body anyway.
    """
    connection = response.connection
    if connection is not None and connection.transport is not None:
        connection.transport.abort()
    response.close()


def _ssl_context(config: TransportConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=str(config.ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"CALLOUT_CA_BUNDLE: {config.ca_bundle} is not a readable PEM file of "
                f"certificates ({exc})"
            ) from None
    return context


def _check_method_and_headers(request: OutboundRequest) -> None:
    # The step layer checks these when the workflow is saved and again before
    # sending; the transport refuses them too so no caller can smuggle a
    # second request line or header through it.
    if not _TOKEN.fullmatch(request.method):
        raise RequestRejected("the HTTP method is not a valid token")
    for index, (name, value) in enumerate(request.headers):
        if not _TOKEN.fullmatch(name):
            raise RequestRejected(f"request header #{index + 1} has an invalid name")
        if _FORBIDDEN_IN_HEADERS.search(value):
            # The value may be a secret: only the header's name is shown.
            raise RequestRejected(f"the value of header {name} contains CR, LF or NUL")
        if _CONTROL_IN_HEADERS.search(value):
            # aiohttp would raise its own ValueError for these: refuse them as ours.
            raise RequestRejected(
                f"the value of header {name} contains a control character (only tab is allowed)"
            )


def _authority(url: URL) -> str:
    host = url.host or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{url.port}" if url.port is not None else host


def _raise_transport_error(exc: aiohttp.ClientError, url: URL) -> NoReturn:
    """Translate an aiohttp error into our tree, naming the host but nothing sent.

    The aiohttp error is not chained (`from None`): some carry the request's
    URL and headers, and a chained cause ends up in logs and tracebacks.
    """
    where = _authority(url)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = getattr(exc.certificate_error, "verify_message", None) or exc.certificate_error
        raise TLSError(f"the certificate of {where} did not verify: {reason}") from None
    if isinstance(exc, aiohttp.ClientSSLError):
        raise TLSError(f"the TLS handshake with {where} failed: {_os_reason(exc)}") from None
    if isinstance(exc, aiohttp.ClientConnectorError):
        raise ConnectError(f"could not connect to {where}: {_os_reason(exc)}") from None
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        raise ConnectError(
            f"{where} closed the connection before the response was complete"
        ) from None
    if isinstance(exc, aiohttp.ClientPayloadError):
        raise ConnectError(f"the response body from {where} was cut short or malformed") from None
    if isinstance(exc, aiohttp.ClientResponseError):
        # Raised by aiohttp for a response it cannot parse (bad status line,
        # oversized header); its message may quote the response, never the request.
        raise ConnectError(f"{where} sent a malformed response: {exc.message}") from None
    if isinstance(exc, aiohttp.InvalidURL):
        raise RequestRejected("the URL is not valid") from None
    if isinstance(exc, aiohttp.ClientOSError):
        raise ConnectError(f"the connection to {where} failed: {_os_reason(exc)}") from None
    raise ConnectError(f"the exchange with {where} failed ({type(exc).__name__})") from None


def _os_reason(exc: OSError) -> str:
    if exc.strerror:
        return exc.strerror
    if isinstance(exc, aiohttp.ClientConnectorError):
        return str(exc.os_error) or type(exc.os_error).__name__
    return type(exc).__name__
