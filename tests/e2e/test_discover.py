"""`mgc-iac discover` and `plan --refresh` read the real lab hosts over SSH with the production facts script."""

from __future__ import annotations

import yaml

from .helpers import Demo


def test_discover_reports_differences_and_writes_the_inventory(demo: Demo):
    demo.edit("sources.yaml", lambda doc: doc["sources"][1].update(memory_mb=32768, mac="fa:16:3e:00:00:09"))
    out = demo.cli("discover", str(demo.stack), "--write", str(demo.stack.parent / "found.yaml"))
    assert out.returncode == 1, out.stderr
    assert "db-01: memory_mb declared 32768, discovered 8192" in out.stdout
    assert "db-01: mac declared fa:16:3e:00:00:09" in out.stdout
    found = yaml.safe_load((demo.stack.parent / "found.yaml").read_text())["sources"]
    db = next(s for s in found if s["name"] == "db-01")
    assert db["memory_mb"] == 8192 and db["mac"] == "fa:16:3e:00:00:02"
    assert db["facts"]["rsync"] is True and db["facts"]["available_memory_mb"] == 6144


def test_plan_refresh_checks_the_sources_live_facts(demo: Demo):
    out = demo.cli("plan", str(demo.stack), "--refresh")
    assert out.returncode == 0, out.stderr
    # the spec says nothing about rsync: only the host can tell that it is missing
    seed = demo.stack / "lab-seed.yaml"
    doc = yaml.safe_load(seed.read_text())
    next(h for h in doc["hosts"] if h["name"] == "web-01")["rsync"] = False
    seed.write_text(yaml.safe_dump(doc, sort_keys=False))
    demo.cli("lab", "down", timeout=60)
    out = demo.cli("plan", str(demo.stack), "--refresh")
    assert out.returncode == 1
    assert "rsync is not installed on `web-01`" in out.stderr


def test_discover_as_json(demo: Demo):
    """`discover --format json`: one `discovery` document the committed schema accepts, the same exit codes."""
    import json
    from pathlib import Path

    from jsonschema import Draft202012Validator

    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas/output/discovery.schema.json").read_text())
    demo.edit("sources.yaml", lambda d: d["sources"][1].update(memory_mb=32768))
    out = demo.cli("discover", str(demo.stack), "--format", "json")
    doc = json.loads(out.stdout)  # all of stdout: the text lines are not there
    assert not list(Draft202012Validator(schema).iter_errors(doc)) and doc["kind"] == "discovery"
    assert out.returncode == 1 and "declared" not in out.stderr
    assert all(s["error"] is None and s["facts"]["macs"] for s in doc["sources"])
    db = next(s for s in doc["sources"] if s["name"] == "db-01")
    assert {"field": "memory_mb", "declared": 32768, "discovered": 8192} in db["differences"]
    assert db["facts"]["memory_mb"] == 8192 and db["facts"]["rsync"] is True
