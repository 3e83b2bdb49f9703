"""The account-wide cap and its FIFO across processes: four applies of four stacks at once (real `mgc-iac apply`
processes) against one lab and one PostgreSQL state, cap 2; one is killed with SIGKILL mid-run and applied again
as the next pipeline run would. Never more than 2 servers hold a slot between them (sampled from the database
while they run), the queued stacks start in the order their workflows were created, the killed apply's lock
comes back at once and its slots when its servers finish, and nothing is created twice."""

from __future__ import annotations

import os
from pathlib import Path

from mgc_iac.lab.fleet import run_fleet

REPO = Path(__file__).resolve().parent.parent.parent


def test_four_applies_hold_at_most_the_cap_in_fifo_order_and_survive_a_kill(tmp_path, pg_server, pg_url):
    env = {**os.environ, "MGC_IAC_STATE": pg_url, "PGPASSWORD": pg_server.password, "PYTHONPATH": str(REPO),
           "MGC_IAC_LAB_DIR": str(tmp_path / "lab"), "MGC_IAC_AUTHOR": "ops@example.com", "NO_COLOR": "1"}
    run = run_fleet(tmp_path, pg_url, env, stacks=4, servers=2, cap=2, kill=True)
    logs = {p.name: p.read_text()[-1500:] for p in tmp_path.glob("team-*.log")}
    assert run.killed and run.exits == {f"{run.killed} (killed)": -9, "team-0": 0, "team-1": 0, "team-2": 0,
                                        "team-3": 0}, logs
    assert run.peak_in_flight == 2 and run.peak_slots == 2  # the cap was reached and never passed
    starts = sorted(run.first_start, key=run.first_start.__getitem__)
    assert len(starts) == 8
    # FIFO: team-0 first, then the queued stacks in the order their workflows were created (the killed one's
    # servers had started: its next apply finished them in their slots)
    assert [s.split("-srv")[0] for s in starts] == ["t0", "t0", "t1", "t1", "t2", "t2", "t3", "t3"]
    assert run.leftover_slots == 0 and run.leftover_locks == 0  # every slot and lock came back

    from mgc_iac.cloud import Cloud, CloudSettings
    from mgc_iac.lab import ensure_lab

    # the lab (and any hosts) under tmp_path: stopped after the test by tests/conftest.py's isolated_lab
    cloud = Cloud(CloudSettings.for_lab(ensure_lab(tmp_path / "lab", seed=tmp_path / "seed.yaml")))
    for server in starts:  # the killed apply's servers were picked up, not created again
        assert len(cloud.ecs.find_servers(name=server)) == 1, server
    assert cloud.sms.list_tasks() == []  # every task cleared at the end
