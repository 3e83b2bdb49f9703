"""One function per user operation over a workspace: what the CLI (and the Python API) calls.

    with open_for_apply(Path("stacks/prod")) as ws:
        applied = apply(ws, ApplyRequest(auto_approve=True), view)

Each operation's module is private; this package is its surface (resolved on first use, so `mgc-iac --help`
loads none of it). `mgc-iac lab`'s operations are the namespace mgc_iac.operations.lab (up, down, ls, reset, ...).
"""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.operations._workspace": "STATE_READ STATE_WRITE Workspace",
    "mgc_iac.operations._validate": "Validated init_stack validate",
    "mgc_iac.operations._planning": "Planned plan_stack",
    "mgc_iac.operations._plan": "PlanMade PlanRequest Shown open_for_plan plan pr_comment show_plan",
    "mgc_iac.operations._planfile": "is_plan_file",
    "mgc_iac.operations._apply": "ApplyRequest ApplyView Applied apply open_for_apply",
    "mgc_iac.operations._approve": "ApproveRequest Approved OfflineApproval approve approve_offline check_file "
                                   "open_for_approve",
    "mgc_iac.operations._status": "StackStatus journal status watch",
    "mgc_iac.operations._report": "Reported open_for_report report",
    "mgc_iac.operations._repair": "Rewound Unlocked open_for_repair resync retry unlock",
    "mgc_iac.operations._state": "Exported Migrated export_state migrate_state",
    "mgc_iac.operations._discover": "Discovered discover",
    "mgc_iac.operations._schema": "schema_json",
    "mgc_iac.operations._program": "init_project run_program",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
