"""The helper process that checks a value against a schema when the check could be dear.

`python -m callout.steps.schema_helper` reads one line of JSON (`{"schema": ...,
"limit": N, "checks_per_path": C}`, of a schema `compile_schema` accepted), then the value as
JSON, and prints the problems as a JSON list. Its caller kills it after
`HELPER_TIMEOUT` seconds, so the service's own process never runs such work.
"""

from __future__ import annotations

import json
import sys

from callout.steps.schema import list_problems


def main() -> None:
    """Read the request from standard input and print the problems found."""
    request_line, _, text = sys.stdin.buffer.read().partition(b"\n")
    request = json.loads(request_line)
    found = list_problems(
        request["schema"],
        text.decode("utf-8", "surrogatepass"),
        limit=int(request["limit"]),
        checks_per_path=int(request["checks_per_path"]),
    )
    sys.stdout.write(json.dumps(found))


if __name__ == "__main__":
    main()
