"""`callout verify`: check a signature header against a raw body, as a receiver would."""

from __future__ import annotations

import math
import re
import sys
import time
from typing import BinaryIO

import click

from callout.cli.secret_options import secret_values
from callout.model.errors import SignatureError
from callout.signing import DEFAULT_SIGNATURE_HEADER, DEFAULT_TOLERANCE, verify

EXIT_INVALID = 1

_HEADER_LINE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+:")


def header_value(given: str) -> str:
    """Return the header's value, dropping a leading `Name:` pasted along with it."""
    text = given.strip()
    if match := _HEADER_LINE.match(text):
        return text[match.end() :].strip()
    return text


def describe_age(timestamp: int, now: float) -> str:
    """Say how far `timestamp` is from `now`: `age 12 s`, or `3 s in the future`."""
    age = math.floor(now - timestamp)
    return f"age {age} s" if age >= 0 else f"{-age} s in the future"


@click.command("verify")
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    required=True,
    metavar="SECRET",
    callback=secret_values,
    help="The signing secret: VALUE, env:VAR or @file (keeps it out of `ps`). Repeat it "
    "to accept any of several secrets, e.g. during a rotation.",
)
@click.option(
    "--header",
    required=True,
    metavar="VALUE",
    help=f"The {DEFAULT_SIGNATURE_HEADER} header value received (`t=..,v1=..`); a leading "
    "`Name:` is ignored.",
)
@click.option(
    "--body-file",
    type=click.File("rb", lazy=False),
    required=True,
    metavar="FILE",
    help="The raw body exactly as received (`-` reads standard input). Re-serialised JSON "
    "or an added trailing newline changes the bytes and fails the check.",
)
@click.option(
    "--tolerance",
    type=click.IntRange(min=0),
    default=DEFAULT_TOLERANCE,
    show_default=True,
    metavar="SECONDS",
    help="How far the signed time may be from now, either way.",
)
@click.option(
    "--now",
    type=float,
    metavar="UNIX",
    help="Check as if the time were this (unix seconds), e.g. for a request logged earlier.",
)
def verify_command(
    secrets: tuple[str, ...], header: str, body_file: BinaryIO, tolerance: int, now: float | None
) -> None:
    r"""Check a signature header against the raw body it came with.

    Exit 0 and print `valid (t=..., age N s)` when some signature in the header
    matches one of the secrets and its time is within the tolerance; exit 1 with
    the reason on standard error when not; exit 2 for a usage error. The secret is
    never printed.

    \b
    callout verify --secret env:CRM_SECRET --header "$SIG" --body-file body.json
    """
    body = body_file.read()
    value = header_value(header)
    current = time.time() if now is None else now
    try:
        timestamp = verify(value, body, secrets, tolerance=tolerance, now=current)
    except SignatureError as exc:
        click.echo(f"invalid: {exc}", err=True)
        if _verifies_without_final_newline(value, body, secrets, tolerance, current):
            click.echo(
                "hint: it verifies without the body's final newline; an editor or `echo` "
                "may have added it: pass the bytes exactly as received",
                err=True,
            )
        sys.exit(EXIT_INVALID)
    click.echo(f"valid (t={timestamp}, {describe_age(timestamp, current)})")


def _verifies_without_final_newline(
    header: str, body: bytes, secrets: tuple[str, ...], tolerance: int, now: float
) -> bool:
    stripped = body.removesuffix(b"\n").removesuffix(b"\r")
    if stripped == body:
        return False
    try:
        verify(header, stripped, secrets, tolerance=tolerance, now=now)
    except SignatureError:
        return False
    return True


if __name__ == "__main__":
    verify_command()
