"""What an apply changes in the state besides its steps: the plan's moves re-keyed, and the step records of
servers that left the stack forgotten."""

from __future__ import annotations

from mgc_iac.plan import Plan
from mgc_iac.state import ResourceRecord, Snapshot, StateStore, StepRecord


def apply_moves(store: StateStore, plan: Plan) -> None:
    """The plan's moves, in one transaction: each moved resource's record and its server's step records are
    re-keyed to the new address (like Terraform's `moved`: nothing is destroyed or created)."""
    moves = [c for c in plan.resource_changes if c.moved_from]
    if not moves:
        return
    before = store.snapshot(plan.stack)
    servers: dict[tuple[str, str], tuple[str, str]] = {}
    with store.transaction(plan.stack) as txn:
        pairs = [(c, before.resources[c.moved_from]) for c in moves
                 if c.moved_from in before.resources and c.server is not None]
        for _, old in pairs:  # deletes first: in a swap, an old address is another's new one
            txn.delete_resource(old.address)
        for c, old in pairs:
            txn.put_resource(ResourceRecord(c.address, c.kind, c.workflow, c.server, c.before or old.attrs,
                                            old.outputs))
            txn.journal(c.address, "moved", {"from": old.address})
            servers[(old.workflow, str(old.server))] = (c.workflow, str(c.server))
        moved_steps = [StepRecord(*servers[(r.workflow, r.server)], r.step, r.status, r.attempt, r.detail,
                                  r.updated_at) for r in before.steps.values() if (r.workflow, r.server) in servers]
        for workflow, server in servers:
            txn.delete_steps(workflow, server)
        for record in moved_steps:
            txn.put_step(record)


def forget_removed_steps(store: StateStore, plan: Plan, before: Snapshot) -> None:
    """Step records of servers that left the spec and have no recorded resource left: forgotten, so they never
    linger as waiting or hold a slot of the account-wide cap. `before`: the apply's snapshot (read again only
    when some server left)."""
    desired = {(s.workflow, s.server) for s in plan.server_changes}
    if not {(r.workflow, r.server) for r in before.steps.values()} - desired:
        return
    snapshot = store.snapshot(plan.stack)
    stale = {(r.workflow, r.server) for r in snapshot.steps.values()} - desired
    recorded = {tuple(a.split("/")[:2]) for a in snapshot.resources if a.count("/") == 2}
    gone = sorted(s for s in stale if s not in recorded)
    if gone:
        with store.transaction(plan.stack) as txn:
            for workflow, server in gone:
                txn.delete_steps(workflow, server)
                txn.journal(f"{workflow}/{server}", "forgotten", {"reason": "left the spec"})
