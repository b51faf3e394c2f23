"""Loopback servers that require a client certificate, in the two ways servers refuse one.

- `aiohttp_mtls_server`: an asyncio server (as `callout receiver --client-ca` is).
  asyncio drops the connection when the handshake fails, without a TLS alert.
- `AlertingServer`: a blocking OpenSSL server in a thread. It answers a missing or
  refused certificate with a TLS alert (`certificate_required`, `unknown_ca`...),
  as nginx-less OpenSSL, Go and Java servers do.

Both record the subject of each client certificate they accepted.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import trustme
from aiohttp import web
from cryptography import x509

from integration.http.loopback import SERVER_NAMES


def client_auth_context(
    server_ca: trustme.CA,
    client_ca: trustme.CA,
    *,
    maximum: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A server context with a `server_ca` certificate that requires a `client_ca` one."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ca.issue_cert(*SERVER_NAMES).configure_cert(context)
    context.verify_mode = ssl.CERT_REQUIRED
    client_ca.configure_trust(context)
    if maximum is not None:
        context.maximum_version = maximum
    return context


def client_pem(ca: trustme.CA, name: str = "partner-client", **options: object) -> str:
    """PEM text as a user would paste it: a client certificate from `ca`, its key first."""
    leaf = ca.issue_cert(f"{name}@example.com", common_name=name, **options)  # type: ignore[arg-type]
    return leaf.private_key_and_cert_chain_pem.bytes().decode()


def subject_of(der: bytes | None) -> str | None:
    """The RFC 4514 subject of a DER certificate (None for none)."""
    if not der:
        return None
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


@dataclass
class MtlsServer:
    """A loopback HTTPS server; `subjects` lists the client certificate of each request."""

    port: int = 0
    subjects: list[str | None] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.port}{path}"


@contextlib.asynccontextmanager
async def aiohttp_mtls_server(context: ssl.SSLContext) -> AsyncIterator[MtlsServer]:
    """Serve 200 "ok" on every path over `context`, recording each client certificate."""
    server = MtlsServer()

    async def handle(request: web.Request) -> web.StreamResponse:
        tls = request.transport.get_extra_info("ssl_object") if request.transport else None
        server.subjects.append(subject_of(tls.getpeercert(binary_form=True) if tls else None))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        server.port = runner.addresses[0][1]
        yield server
    finally:
        await runner.cleanup()


class AlertingServer:
    """A blocking TLS server in a thread: OpenSSL sends its alerts before it hangs up.

    `outcomes` holds, per connection, `ok <subject>` or the server's handshake error.
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.outcomes: list[str] = []
        self.subjects: list[str | None] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # close() alone does not wake a thread blocked in accept(); shutdown() does.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: the test is over
            conn.settimeout(10)
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        # The handshake runs by hand: on failure, wrap_socket would close the socket
        # at once, with the client's request unread, and so send a reset.
        tls = self._context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        with tls:
            try:
                tls.do_handshake()
                subject = subject_of(tls.getpeercert(binary_form=True))
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = tls.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                self.subjects.append(subject)
                self.outcomes.append(f"ok {subject}")
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except (ssl.SSLError, OSError) as exc:
                self.outcomes.append(getattr(exc, "reason", None) or type(exc).__name__)
                _linger(tls)


def _linger(conn: socket.socket) -> None:
    """Close after the alert as a patient server does: stop sending, read until the client goes.

    Closing a socket with unread data (the request a TLS 1.3 client sends right
    after its Finished) sends a reset, which can overtake the alert.
    """
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            pass
