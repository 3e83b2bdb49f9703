"""Verification excludes narrow only the verification; copy excludes (advanced.copy_exclude_paths) narrow the copy.

The demo's web-01 alone, with real lab hosts and the real agent: a file under the workflow's verification
exclude path (/data/tmp) is migrated; a subtree in copy_exclude_paths is not, and the verification stays clean.
"""

from __future__ import annotations

from typing import Any

from .helpers import Demo, same_tree
from .test_faults import only_web


def test_a_verification_exclude_is_still_migrated_and_a_copy_exclude_is_not(demo: Demo) -> None:
    only_web(demo, files=30, mbps=None)

    def seed(doc: dict[str, Any]) -> None:
        web = next(h for h in doc["hosts"] if h["name"] == "web-01")
        web["files"]["paths"] = ["/srv/app", "/data", "/data/tmp", "/srv/cache"]

    def workflows(doc: dict[str, Any]) -> None:
        wf = doc["workflows"][0]
        assert wf["verification_policy"]["exclude_paths"] == ["/data/tmp"]
        wf["advanced"]["copy_exclude_paths"] = ["/srv/cache"]

    demo.edit("lab-seed.yaml", seed)
    demo.edit("workflows.yaml", workflows)
    plan = demo.cli("plan", str(demo.stack))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "not copied: /srv/cache" in plan.stdout

    run = demo.cli("apply", str(demo.stack), "--auto-approve")
    assert run.returncode == 3, run.stdout + run.stderr  # waits at BusinessValidation
    src, tgt = demo.root("web-01"), demo.root("web-01-hw")
    kept = sorted(p for p in (src / "data/tmp").rglob("*") if p.is_file())
    assert kept, "the seed put files under /data/tmp"
    assert same_tree(src / "data/tmp", tgt / "data/tmp") == []  # verification-excluded, still migrated
    assert same_tree(src / "data", tgt / "data") == []
    assert any((src / "srv/cache").rglob("*.bin")) and not (tgt / "srv/cache").exists()  # never copied
    assert demo.status()["web-01"]["verification"]["clean"] is True
