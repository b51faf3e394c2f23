"""What a dispatch decides, the same on SQL and in memory: who is told of an event, by which run.

An event goes to every enabled endpoint of its organization that wants its
type; each pairing becomes one run of the organization's system workflow, as
`build` describes it, stamped here with the system workflow whatever `build`
said (the loop guard depends on it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from callout.store.protocol import NewRun
from callout.store.run_events import SYSTEM_WORKFLOW_NAME, Endpoint, RunEvent

ENDPOINT_ID_PREFIX = "ntf"
"""Notification endpoints' ids: `ntf_...`."""


def subscribed(
    events: Iterable[RunEvent], endpoints: Iterable[Endpoint]
) -> list[tuple[RunEvent, Endpoint]]:
    """Pair each event with every enabled endpoint of its organization that wants its type.

    Events in the order given, endpoints by name: the order the runs start in.
    """
    ordered = sorted(endpoints, key=lambda endpoint: (endpoint.org_id, endpoint.name))
    return [
        (event, endpoint)
        for event in events
        for endpoint in ordered
        if endpoint.enabled and endpoint.org_id == event.org_id and event.type in endpoint.events
    ]


def of_system_workflow(run: NewRun, event: RunEvent, workflow_id: str) -> NewRun:
    """Return `run` as a run of the organization's system workflow, of no version."""
    return dataclasses.replace(
        run,
        org_id=event.org_id,
        workflow_id=workflow_id,
        workflow_name=SYSTEM_WORKFLOW_NAME,
        version_id=None,
    )
