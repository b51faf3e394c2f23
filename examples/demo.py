"""`make demo`: run examples/create-user.yaml against a local receiver, as a newcomer would.

Starts `callout receiver` on 127.0.0.1:8443, then `callout run` with the
settings the receiver prints: a signed POST that is retried once (the
receiver's /flaky route), a failing step that continues, and a last step
that uses both earlier outputs. Both processes print what they see.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = 8443
SECRET = "s3cr3t"
CERT_DIR = ROOT / ".callout" / "receiver"


def callout(*args: str) -> list[str]:
    """Return the command line that runs `callout` with this interpreter."""
    return [sys.executable, "-m", "callout", *args]


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    """Run the demo; return the run's exit code."""
    if port_open(PORT):
        print(f"port {PORT} is taken; stop what listens there and run `make demo` again")
        return 2
    receiver = subprocess.Popen(  # noqa: S603  # our own command, fixed arguments
        callout("receiver", "--port", str(PORT), "--secret", SECRET, "--cert-dir", str(CERT_DIR)),
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_open(PORT):
            if receiver.poll() is not None or time.monotonic() > deadline:
                print("the receiver did not start")
                return 2
            time.sleep(0.1)
        env = {
            **os.environ,
            "CALLOUT_CA_BUNDLE": str(CERT_DIR / "ca.pem"),
            "CALLOUT_ALLOWED_NETWORKS": "127.0.0.1/32",
        }
        print(
            "\n$ callout run examples/create-user.yaml --trigger examples/inquiry-completed.json"
            " --secret crm_signing=...\n"
        )
        run = subprocess.run(  # noqa: S603  # our own command, fixed arguments
            callout(
                "run",
                "examples/create-user.yaml",
                "--trigger",
                "examples/inquiry-completed.json",
                "--secret",
                f"crm_signing={SECRET}",
                "--no-live",
            ),
            cwd=ROOT,
            env=env,
            check=False,
        )
        return run.returncode
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
