"""`callout receiver`: run the local HTTPS receiver until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import ssl
import sys
from pathlib import Path

import click

from callout.cli.secret_options import secret_values
from callout.receiver import (
    DEFAULT_CERT_DIR,
    ReceivedRequest,
    format_request,
    format_startup,
    issue_client_certificate,
    start_receiver,
)
from callout.receiver.certificates import CA_FILE
from callout.signing import DEFAULT_SIGNATURE_HEADER, DEFAULT_TOLERANCE

EXIT_CANNOT_START = 1
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@click.command("receiver")
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    metavar="SECRET",
    callback=secret_values,
    help="Check signatures with this secret: VALUE, env:VAR or @file. Repeat it to accept "
    "any of several. Without it, signatures are shown but not checked.",
)
@click.option(
    "--signature-header",
    default=DEFAULT_SIGNATURE_HEADER,
    show_default=True,
    help="The header that carries the signature.",
)
@click.option(
    "--tolerance",
    type=click.IntRange(min=0),
    default=DEFAULT_TOLERANCE,
    show_default=True,
    metavar="SECONDS",
    help="How far a signature's time may be from now.",
)
@click.option(
    "--status",
    type=click.IntRange(200, 599),
    default=200,
    show_default=True,
    help="The status of the default answer.",
)
@click.option(
    "--delay",
    type=click.FloatRange(0, 300),
    default=0.0,
    metavar="SECONDS",
    help="Wait this long before every answer (except /delay/<s>, which sets its own).",
)
@click.option(
    "--body",
    metavar="JSON-OR-TEXT",
    help='The body of the default answer [default: {"ok": true, "received_at": ...}].',
)
@click.option(
    "--cert-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Where the generated CA and certificate live [default: ./{DEFAULT_CERT_DIR}/].",
)
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your own server certificate (PEM, with its chain) instead of a generated one.",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The private key of --cert (PEM).",
)
@click.option(
    "--client-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Require a client certificate issued by a CA in FILE (PEM) on every connection "
    "(mutual TLS); each request shows its subject.",
)
@click.option(
    "--make-client-cert",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write DIR/client.pem (a client certificate and its key, from the receiver's own "
    "CA in --cert-dir) to try --client-ca with, then exit.",
)
def receiver_command(
    port: int,
    host: str,
    secrets: tuple[str, ...],
    signature_header: str,
    tolerance: int,
    status: int,
    delay: float,
    body: str | None,
    cert_dir: Path | None,
    cert: Path | None,
    key: Path | None,
    client_ca: Path | None,
    make_client_cert: Path | None,
) -> None:
    """Run a local HTTPS endpoint that prints each request and checks its signature.

    Without --cert/--key it creates a local CA and a certificate for localhost,
    127.0.0.1 and ::1 in --cert-dir (reused on later starts), and prints the two
    settings callout needs to reach it. Besides the default answer, paths show
    retries and errors without a restart:

    \b
    /status/<code>     answers <code>
    /delay/<seconds>   waits, then answers
    /flaky/<n>/...     503 (Retry-After: 1) the first n times per Idempotency-Key
    /echo              the received JSON body, plus a generated id
    """  # noqa: D301  # click reads \b as "keep these lines as written"
    if not HEADER_NAME.fullmatch(signature_header):
        raise click.BadParameter("not a header name", param_hint="--signature-header")
    if (cert is None) != (key is None):
        raise click.UsageError("give --cert and --key together")
    if cert is not None and cert_dir is not None:
        raise click.UsageError("--cert-dir is for generated certificates; drop it with --cert")
    if make_client_cert is not None:
        if cert is not None:
            raise click.UsageError(
                "--make-client-cert uses the receiver's generated CA; drop --cert and --key"
            )
        _make_client_cert(cert_dir or DEFAULT_CERT_DIR, make_client_cert)
        return
    try:
        asyncio.run(
            _serve(
                secrets=secrets,
                host=host,
                port=port,
                cert_dir=cert_dir or DEFAULT_CERT_DIR,
                cert=cert,
                key=key,
                status=status,
                body=body,
                delay=delay,
                signature_header=signature_header,
                tolerance=tolerance,
                client_ca=client_ca,
            )
        )
    except KeyboardInterrupt:
        # Where signal handlers cannot be installed (Windows), Ctrl-C arrives this way.
        pass
    except OSError as exc:
        click.echo(f"cannot start the receiver: {_start_failure(exc, host, port)}", err=True)
        sys.exit(EXIT_CANNOT_START)
    except ValueError as exc:
        click.echo(f"cannot start the receiver: {exc}", err=True)
        sys.exit(EXIT_CANNOT_START)
    click.echo("receiver stopped")


def _make_client_cert(cert_dir: Path, out_dir: Path) -> None:
    try:
        path = issue_client_certificate(cert_dir, out_dir)
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        click.echo(
            f"cannot write the client certificate: {exc.filename or out_dir}: {why}", err=True
        )
        sys.exit(EXIT_CANNOT_START)
    ca = (cert_dir / CA_FILE).resolve()
    click.echo(f"client certificate and key written to {path.resolve()} (0600)")
    click.echo(f"  start the receiver with: callout receiver --client-ca {shlex.quote(str(ca))}")
    click.echo(
        "  then store the file as a certificate secret and name it in the step's client_certificate"
    )


def _start_failure(exc: OSError, host: str, port: int) -> str:
    if isinstance(exc, ssl.SSLError):
        return (
            f"--cert/--key cannot be used (not PEM, or the key does not match): {exc.reason or exc}"
        )
    why = os.strerror(exc.errno) if exc.errno else str(exc)
    if exc.filename:
        return f"{exc.filename}: {why}"
    return f"cannot listen on {host}:{port}: {why}"


async def _serve(
    *,
    secrets: tuple[str, ...],
    host: str,
    port: int,
    cert_dir: Path,
    cert: Path | None,
    key: Path | None,
    status: int,
    body: str | None,
    delay: float,
    signature_header: str,
    tolerance: int,
    client_ca: Path | None,
) -> None:
    def show(received: ReceivedRequest) -> None:
        click.echo(format_request(received, signature_header=signature_header, hide=secrets))

    running = await start_receiver(
        secret=secrets,
        host=host,
        port=port,
        cert_dir=cert_dir,
        cert=cert,
        key=key,
        status=status,
        body=body,
        delay=delay,
        signature_header=signature_header,
        tolerance=tolerance,
        on_request=show,
        client_ca=client_ca,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal_number, stop.set)
    try:
        click.echo(format_startup(running))
        await stop.wait()
    finally:
        await running.close()


if __name__ == "__main__":
    receiver_command()
