"""A local HTTPS endpoint for trying workflows: it prints each request and checks its signature.

`callout receiver` runs it; tests and the demo start it in-process:

```python
async with await start_receiver(secret="s3cr3t", cert_dir=tmp_path) as receiver:
    ...  # send to receiver.url, trusting receiver.ca_path; then read receiver.requests
```

See docs/receiver.md for the routes.
"""

from callout.receiver.app import ReceiverSettings, build_receiver_app
from callout.receiver.behaviour import Answer, DefaultAnswer, decide
from callout.receiver.certificates import (
    ReceiverCertificates,
    certificate_subject,
    ensure_local_certificates,
    issue_client_certificate,
)
from callout.receiver.display import format_request, format_startup
from callout.receiver.recording import ReceivedRequest, SignatureCheck, SignatureVerdict
from callout.receiver.running import (
    DEFAULT_CERT_DIR,
    RunningReceiver,
    allowed_networks_for,
    start_receiver,
)

__all__ = [
    "DEFAULT_CERT_DIR",
    "Answer",
    "DefaultAnswer",
    "ReceivedRequest",
    "ReceiverCertificates",
    "ReceiverSettings",
    "RunningReceiver",
    "SignatureCheck",
    "SignatureVerdict",
    "allowed_networks_for",
    "build_receiver_app",
    "certificate_subject",
    "decide",
    "ensure_local_certificates",
    "format_request",
    "format_startup",
    "issue_client_certificate",
    "start_receiver",
]
