"""Start the receiver in this process, on a chosen or a free port, and stop it."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from aiohttp import web

from callout.model.clock import Clock
from callout.receiver.app import RECEIVED, ReceiverSettings, RequestHook, build_receiver_app
from callout.receiver.behaviour import DefaultAnswer
from callout.receiver.certificates import ReceiverCertificates, ensure_local_certificates
from callout.receiver.recording import ReceivedRequest, SignatureCheck
from callout.signing import DEFAULT_SIGNATURE_HEADER, DEFAULT_TOLERANCE

DEFAULT_CERT_DIR = Path(".callout/receiver")
SHUTDOWN_SECONDS = 1.0  # Ctrl-C does not wait for a /delay/300 to finish


@dataclass
class RunningReceiver:
    """A receiver listening in this process: where it is, what it got, how to stop it."""

    host: str
    port: int
    certificates: ReceiverCertificates
    settings: ReceiverSettings
    app: web.Application
    _runner: web.AppRunner
    client_ca: Path | None = None
    """The CA file client certificates must come from (`--client-ca`); None: none asked."""

    @property
    def url(self) -> str:
        """The base URL a client on this machine uses, e.g. `https://127.0.0.1:8443`."""
        return f"https://{_url_host(self.host)}:{self.port}"

    @property
    def ca_path(self) -> Path | None:
        """The CA certificate clients must trust (None for an operator's own certificate)."""
        return self.certificates.ca_path

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received so far, oldest first."""
        return self.app[RECEIVED]

    def client_env(self) -> dict[str, str]:
        """Return the settings a `callout` process needs to reach this receiver."""
        env = {"CALLOUT_ALLOWED_NETWORKS": allowed_networks_for(self.host)}
        if self.ca_path is not None:
            env = {"CALLOUT_CA_BUNDLE": str(self.ca_path.resolve()), **env}
        return env

    async def close(self) -> None:
        """Stop listening; requests still waiting on a delay are cut off after a second."""
        await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def _url_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{address}]" if address.version == 6 else str(address)


def allowed_networks_for(host: str) -> str:
    """Return the `CALLOUT_ALLOWED_NETWORKS` value that lets callout reach `host` on loopback."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "127.0.0.1/32,::1/128" if host == "localhost" else "127.0.0.1/32"
    if address.is_unspecified:
        return "127.0.0.1/32" if address.version == 4 else "::1/128"
    return f"{address}/{address.max_prefixlen}"


async def start_receiver(  # noqa: PLR0913  # keyword-only, one per `callout receiver` option
    *,
    secret: str | Sequence[str],
    host: str = "127.0.0.1",
    port: int = 0,
    cert_dir: Path = DEFAULT_CERT_DIR,
    cert: Path | None = None,
    key: Path | None = None,
    status: int = 200,
    body: str | None = None,
    delay: float = 0.0,
    signature_header: str = DEFAULT_SIGNATURE_HEADER,
    tolerance: int = DEFAULT_TOLERANCE,
    on_request: RequestHook | None = None,
    clock: Clock | None = None,
    client_ca: Path | None = None,
) -> RunningReceiver:
    """Start a receiver on `host`:`port` (0: a free port) and return it once it listens.

    `secret` is one secret or several (any of them verifies; none: signatures are not
    checked). Without `cert` and `key`, a local CA and a certificate for localhost,
    127.0.0.1 and ::1 are created in `cert_dir`, or reused from it. With
    `client_ca`, every handshake must present a client certificate issued by a CA
    in that PEM file. Raises OSError when the address cannot be bound, ValueError
    for an invalid option.
    """
    secrets = (secret,) if isinstance(secret, str) else tuple(secret)
    settings = ReceiverSettings(
        signatures=SignatureCheck(tuple(dict.fromkeys(secrets)), signature_header, tolerance),
        default=DefaultAnswer(status=status, body=body, delay=delay),
    )
    if (cert is None) != (key is None):
        raise ValueError("give both a certificate and its key, or neither")
    if cert is not None and key is not None:
        certificates = ReceiverCertificates(cert_path=cert, key_path=key, ca_path=None)
    else:
        certificates = await asyncio.to_thread(ensure_local_certificates, cert_dir)
    ssl_context = certificates.server_ssl_context(client_ca=client_ca)

    app = build_receiver_app(settings, on_request=on_request, clock=clock)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = runner.addresses[0][1]
    return RunningReceiver(host, bound_port, certificates, settings, app, runner, client_ca)
