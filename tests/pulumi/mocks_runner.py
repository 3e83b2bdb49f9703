"""Run the Pulumi program of Pulumi.yaml under Pulumi's unit-test mocks, in a process of its own (set_mocks
is process-global), and write what it registered as JSON: `python mocks_runner.py OUT.json`.

The program is run as Pulumi's Python host runs it (runpy of the `main` directory, config from the
PULUMI_CONFIG environment variable, which the test sets). Providers are never called under mocks.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc

REPO = Path(__file__).resolve().parents[2]


class Recorder(mocks.Mocks):
    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"id-of-{args.name}", {**args.inputs, "status": "ACTIVE"}

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(mocks.MockMonitor):
    """The mock monitor, also keeping what the engine would record: parents and dependencies."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(recorder)
        self.registrations: list[dict[str, Any]] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        reply = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append({
                "urn": reply.urn, "id": reply.id, "type": request.type, "name": request.name,
                "custom": request.custom, "parent": request.parent,
                "inputs": rpc.deserialize_properties(request.object),
                "dependencies": sorted(request.dependencies),
                "propertyDependencies": {k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
            })
        return reply


def main(out: Path) -> None:
    monitor = RecordingMonitor(Recorder())
    mocks.set_mocks(monitor.mocks, project="mgc-iac", stack="dev", preview=False, monitor=monitor)
    exported: list[dict[str, Any]] = []

    @pulumi.runtime.test
    def program() -> Any:
        runpy.run_path(str(REPO / "pulumi_program"), run_name="__main__")
        # The stack's exports resolve only once every resource they name was registered and answered. Under
        # mocks the Stack does not register its outputs, so read them here; the list proves the callback ran.
        stack = pulumi.runtime.settings.get_root_resource()
        return pulumi.Output.from_input(dict(stack.outputs)).apply(exported.append)

    program()
    out.write_text(json.dumps({"exports": exported, "resources": monitor.registrations}, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
