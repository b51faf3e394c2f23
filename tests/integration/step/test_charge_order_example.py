"""examples/charge-order.yaml (form body, Basic auth with the key as user name, raw XML
body): `callout validate` accepts it, and `callout run` sends what it promises.

The commands run in this process (support/in_process_commands.py): the example is
the point here; tests/integration/cli runs `validate` and `run` as processes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from callout.signing import verify
from support.https_servers import HttpsServer, reply
from support.in_process_commands import invoke_callout

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / "examples" / "charge-order.yaml"
TRIGGER = ROOT / "examples" / "order-paid.json"
RECEIVER = "https://127.0.0.1:8443"
KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
SIGNING = "s3cr3t"


async def test_the_charge_order_example_validates() -> None:
    code, out, err = await invoke_callout("validate", str(EXAMPLE), env={})
    assert code == 0, err
    assert "valid" in out


async def test_the_charge_order_example_sends_a_signed_form_with_basic_auth_then_raw_xml(
    https_server: HttpsServer, loopback_env: dict[str, str], tmp_path: Path
) -> None:
    https_server.script("/v1/charges", reply(200, '{"id": "ch_1"}'))
    workflow = tmp_path / "charge-order.yaml"
    workflow.write_text(EXAMPLE.read_text().replace(RECEIVER, https_server.url("")))
    env = {**loopback_env, "CALLOUT_DATABASE_URL": str(tmp_path / "callout.db")}
    code, out, err = await invoke_callout(
        "run",
        str(workflow),
        "--trigger",
        str(TRIGGER),
        "--json",
        "--secret",
        f"stripe_key={KEY}",
        "--secret",
        f"crm_signing={SIGNING}",
        env=env,
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "completed"
    charge, payment = https_server.hits
    assert charge.raw_path == ("/v1/charges?expand[]=customer&receipt_email=ada%40example.com")
    assert (
        charge.headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    )
    assert charge.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert charge.body == (
        b"amount=1999&currency=eur&metadata%5Border%5D=ord_1042&description=Order+ord_1042"
    )
    assert verify(charge.headers["Persona-Signature"], charge.body, SIGNING) > 0
    assert (payment.method, payment.path) == ("PUT", "/orders/ord_1042/payment")
    assert payment.headers["Content-Type"] == "application/xml"
    assert payment.body == b'<payment order="ord_1042" charge="ch_1"/>'
    assert verify(payment.headers["Persona-Signature"], payment.body, SIGNING) > 0
    assert KEY not in out
    assert KEY not in err
    assert base64.b64encode(f"{KEY}:".encode()).decode() not in out
