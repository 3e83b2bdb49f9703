"""Waves and cutover windows through the CLI on a real lab (background process, instant transfers): the plan
shows the order (text, markdown with a mermaid chart) and the next window; apply goes on with the workflows
that may start and exits 3; status says what a blocked workflow waits for; a Cutover outside its window makes
`apply --max-wait` exit 4 with the window named."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from mgc_iac.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def edit(stack_dir: Path, name: str, change: Any) -> None:
    path = stack_dir / name
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def waves(stack_dir: Path) -> None:
    edit(stack_dir, "sources.yaml", lambda d: d.update(migration_plans=[{"name": "db", "servers": ["db-01"]},
                                                                         {"name": "web", "servers": ["web-01"]}]))

    def split(doc: dict[str, Any]) -> None:
        wf = doc["workflows"][0]
        wf.pop("servers", None)
        doc["workflows"] = [dict(wf, name="shop-web", source={"migration_plan": "web"}, depends_on=["shop-db"]),
                            dict(wf, name="shop-db", source={"migration_plan": "db"})]

    edit(stack_dir, "workflows.yaml", split)


def test_waves_in_plan_apply_and_status(stack_dir: Path, lab_dir: Path) -> None:
    waves(stack_dir)
    code, text = run("plan", str(stack_dir))
    assert code == 0, text
    assert "wave 1: shop-db\n  wave 2: shop-web (after Cutover of shop-db)" in text
    code, markdown = run("plan", str(stack_dir), "--format", "markdown")
    assert "### Order" in markdown and "| 2 | `shop-web` | shop-db |" in markdown
    assert "n_shop_db -->|Cutover done| n_shop_web" in markdown

    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    assert "BLOCKED shop-web/web-01: shop-web waits for Cutover of shop-db (0 of 1 server(s) cut over)" in out
    assert "shop-db/db-01/BusinessValidation: needs" in out
    code, out = run("status", str(stack_dir), "--format", "json")
    web = next(s for wf in json.loads(out)["workflows"] for s in wf["servers"] if s["server"] == "web-01")
    assert web["state"] == "blocked" and "waits for Cutover of shop-db" in web["blocked_by"]
    code, out = run("status", str(stack_dir))
    assert "shop-web waits for Cutover of shop-db" in out


def test_cutover_outside_its_window_returns_with_exit_4(stack_dir: Path, lab_dir: Path) -> None:
    # a window that is certainly closed now: it opens in 3 hours (UTC) and lasts one
    from datetime import UTC, datetime, timedelta

    opens = datetime.now(UTC) + timedelta(hours=3)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[opens.weekday()]
    window = {"days": [day], "start": f"{opens:%H:%M}", "duration": "1h", "timezone": "UTC"}
    edit(stack_dir, "workflows.yaml", lambda d: d["workflows"][0].update(cutover_window=window))
    code, text = run("plan", str(stack_dir))
    assert re.search(rf"Cutover window: {day} {opens:%H:%M} for 1h \(UTC\); next: \w{{3}} {opens:%Y-%m-%d %H:%M} UTC",
                     text), text
    for _ in range(2):
        code, out = run("apply", str(stack_dir), "--auto-approve")
        assert code == 3, out
        assert run("approve", str(stack_dir), "--all-waiting", "--by", "alice")[0] == 0
    code, out = run("apply", str(stack_dir), "--auto-approve", "--max-wait", "3s")
    assert code == 4, out
    assert (f"SCHEDULED Cutover of shop-wave-1/web-01 waits for its window (next: {opens:%a %Y-%m-%d %H:%M} UTC)"
            in out)
    code, out = run("status", str(stack_dir), "--format", "json")
    web = next(s for wf in json.loads(out)["workflows"] for s in wf["servers"] if s["server"] == "web-01")
    assert web["current_step"] == "Cutover" and web["window"].startswith("next: ")
