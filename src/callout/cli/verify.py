"""`callout verify`: check a signature header against a raw body, as a receiver would."""

from __future__ import annotations

import math
import os
import re
import sys
import time
from pathlib import Path
from typing import BinaryIO

import click

from callout.model.errors import SignatureError
from callout.signing import DEFAULT_SIGNATURE_HEADER, DEFAULT_TOLERANCE, verify

EXIT_INVALID = 1

_HEADER_LINE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+:")


def read_secret_value(spec: str) -> str:
    """Return a secret given as `VALUE`, `env:VAR` or `@file` (one trailing newline dropped).

    The two indirect forms keep the value out of `ps` and shell history. Errors name
    the variable or file, never a value.
    """
    if spec.startswith("env:"):
        variable = spec[4:]
        value = os.environ.get(variable)
        if value is None:
            raise click.BadParameter(f"environment variable {variable} is not set")
        if not value:
            raise click.BadParameter(f"environment variable {variable} is empty")
        return value
    if spec.startswith("@"):
        path = Path(spec[1:])
        try:
            value = path.read_text(encoding="utf-8").removesuffix("\n")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise click.BadParameter(f"cannot read {path}: {why}") from None
        if not value:
            raise click.BadParameter(f"{path} is empty")
        return value
    if not spec:
        raise click.BadParameter("a secret must not be empty")
    return spec


def _secret_values(
    _ctx: click.Context, _param: click.Parameter, specs: tuple[str, ...]
) -> tuple[str, ...]:
    return tuple(read_secret_value(spec) for spec in specs)


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
    callback=_secret_values,
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
