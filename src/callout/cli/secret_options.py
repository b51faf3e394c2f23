"""Where secrets come from until the service stores them: `--secret` and `CALLOUT_SECRET_<NAME>`.

`--secret name=value`, `--secret name=@file` (the file's text, one trailing
newline dropped) and `--secret name=env:VAR` keep values out of `ps` where
needed. A worker-like process reads `CALLOUT_SECRET_<NAME>` (name upper-cased).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import click

SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_PREFIX = "CALLOUT_SECRET_"


def env_name(secret: str) -> str:
    """Return the environment variable that holds secret `secret`."""
    return ENV_PREFIX + secret.upper()


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


def secret_values(
    _ctx: click.Context, _param: click.Parameter, specs: tuple[str, ...]
) -> tuple[str, ...]:
    """Read each `--secret VALUE|env:VAR|@file` of a command that takes bare secret values."""
    return tuple(read_secret_value(spec) for spec in specs)


def parse_secret_options(
    options: Iterable[str], *, values_required: bool = True
) -> dict[str, str | None]:
    """Parse `--secret` options into name -> value (None when only a name was given)."""
    secrets: dict[str, str | None] = {}
    for option in options:
        name, sep, spec = option.partition("=")
        if not SECRET_NAME.fullmatch(name):
            raise click.BadParameter(
                f"{name!r} is not a secret name (letters, digits, _): use --secret name=value"
            )
        if not sep:
            if values_required:
                raise click.BadParameter(
                    f"secret {name}: give a value: {name}=value, {name}=@file or {name}=env:VAR"
                )
            secrets[name] = None
            continue
        try:
            secrets[name] = read_secret_value(spec)
        except click.BadParameter as exc:
            raise click.BadParameter(f"secret {name}: {exc.message}") from None
    return secrets


def secrets_for(
    names: Iterable[str], given: Mapping[str, str | None], environ: Mapping[str, str] = os.environ
) -> tuple[dict[str, str], list[str]]:
    """Return the values of `names` (options first, then the environment) and the names missing."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        value = given.get(name)
        if value is None:
            value = environ.get(env_name(name))
        if value is None:
            missing.append(name)
        else:
            found[name] = value
    return found, missing


def known_secret_names(
    given: Mapping[str, str | None], environ: Mapping[str, str] = os.environ
) -> set[str]:
    """Return the secret names given as options (lower-case env names count as known too)."""
    names = set(given)
    names |= {key[len(ENV_PREFIX) :].lower() for key in environ if key.startswith(ENV_PREFIX)}
    return names


class EnvironmentSecrets(Mapping[str, str]):
    """Secrets a worker reads from `CALLOUT_SECRET_<NAME>`, looked up when an attempt needs one."""

    def __init__(
        self, environ: Mapping[str, str] = os.environ, given: Mapping[str, str] | None = None
    ) -> None:
        self._environ = environ
        self._given = dict(given or {})

    def __repr__(self) -> str:
        return f"EnvironmentSecrets({sorted(self)})"

    def __getitem__(self, name: str) -> str:
        if name in self._given:
            return self._given[name]
        return self._environ[env_name(name)]

    def __iter__(self) -> Iterator[str]:
        names = set(self._given)
        names |= {
            key[len(ENV_PREFIX) :].lower() for key in self._environ if key.startswith(ENV_PREFIX)
        }
        return iter(sorted(names))

    def __len__(self) -> int:
        return sum(1 for _ in self)
