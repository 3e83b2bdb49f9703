"""The PR comment a reviewer judges, rendered as GitHub would (CommonMark + the GFM table extension, with
markdown-it-py): what each create makes, old -> new per update, why a replace, who may approve each gate,
literal values (a tag with `|` or `*` stays as typed), and a big plan that fits in one GitHub comment."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.model import Plan
from mgc_iac.render import render_plan
from mgc_iac.render._render import COMMENT_LIMIT
from mgc_iac.state import ResourceRecord, SQLiteStore

DEMO = Path(__file__).resolve().parents[1] / "stacks" / "demo"
TRICKY_TAGS = {"owner": "a|b*c", "note": "x_y`z <b>&amp;"}


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MGC_IAC_STATE", str(tmp_path / "state.db"))
    return Path(shutil.copytree(DEMO, tmp_path / "demo"))


def _edit_workflow(stack: Path, change) -> None:  # noqa: ANN001 - a callable on the workflow dict
    path = stack / "workflows.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["workflows"][0])
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _gfm() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def _cells(line: str) -> list[str]:
    """A GFM table row's cells as GitHub splits them: on every pipe not escaped by a backslash."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return re.split(r"(?<!\\)\|", body)


def _tables(markdown: str) -> list[list[list[str]]]:
    """Every table the parser found, as rendered cell texts, after checking its source rows are well-formed
    (each row has as many cells as the header, so GFM neither drops nor pads any)."""
    lines = markdown.splitlines()
    tokens = _gfm().parse(markdown)
    tables, rows, row = [], [], []
    for n, tok in enumerate(tokens):
        if tok.type == "table_open":
            start, end = tok.map
            source = lines[start:end]
            width = len(_cells(source[0]))
            assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", source[1].strip()), source[1]
            for src in source[2:]:
                assert len(_cells(src)) == width, f"row has {len(_cells(src))} cells, header {width}: {src}"
            rows = []
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and tokens[n - 1].type in ("th_open", "td_open"):
            row.append(_text(tok))
        elif tok.type == "tr_close":
            rows.append(row)
        elif tok.type == "table_close":
            tables.append(rows)
    return tables


def _text(inline) -> str:  # noqa: ANN001 - a markdown-it inline token
    """What a reader sees of an inline token: text and code as shown, emphasis marks gone."""
    out = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return "".join(out)


def _fact_rows(markdown: str, title: str) -> dict[str, str]:
    """The rows of the 'Will be created' table that follows the detail line naming `title`."""
    section = markdown[markdown.index(title):]
    table = _tables(section)[0]
    assert table[0][0].startswith("Will be created")
    return {label: value for label, value in table[1:]}


def test_creates_show_what_will_be_created_in_markdown_and_text(stack: Path) -> None:
    # TMS refuses these characters in a stack (spec rules); the renderer must still show any value literally
    plan = plan_stack(stack).plan
    plan = replace(plan, resource_changes=tuple(
        replace(c, after={**c.after, "tags": TRICKY_TAGS}) if c.kind == "target_server" else c
        for c in plan.resource_changes))
    md = render_plan(plan, "markdown")
    target = _fact_rows(md, "`shop-wave-1/db-01/target_server`: db-01-hw")
    assert target["Target name"] == "db-01-hw"
    assert target["Flavor"] == "s6.xlarge.2"
    assert target["Disks"] == "/dev/vda 40 GB SSD (system disk); /dev/vdb 200 GB SSD"
    assert target["Encryption"] == "KMS key alias shop-disk-key (its id is looked up from the alias at apply)"
    assert target["Public IP"] == "a new EIP"
    assert target["Security group"] == "sg-shop"
    assert target["Subnet"] == "subnet-shop in VPC vpc-shop"
    # the tag values as typed: not a cell split at `|`, not emphasis at `*`, not HTML, backticks kept
    assert target["Tags"] == "note=x_y`z <b>&amp;, owner=a|b*c"
    html = _gfm().render(md)
    assert "<code>owner=a|b*c</code>" in html and "<code>note=x_y`z &lt;b&gt;&amp;amp;</code>" in html
    task = _fact_rows(md, "**create** `shop-wave-1/db-01/migration_task`")
    assert task["Verification"] == "sha256 of /srv, /data, excluding /data/tmp"
    assert task["Bandwidth limit"] == "200 Mbit/s"
    resources = _tables(md)[1]
    assert resources[0] == ["", "Action", "Resource", "Kind", "Details"]
    assert ["➕", "create", "shop-wave-1/web-01/target_server", "target_server",
            "web-01-hw, s6.large.2, 1 disk (40 GB, encrypted)"] in resources
    text = [ln.strip() for ln in render_plan(plan).splitlines()]
    at = text.index("+ shop-wave-1/db-01/target_server (target_server)")
    assert text[at + 1:at + 4] == ["Target name: db-01-hw", "Flavor: s6.xlarge.2",
                                   "Disks: /dev/vda 40 GB SSD (system disk); /dev/vdb 200 GB SSD"]
    assert "Tags: note=x_y`z <b>&amp;, owner=a|b*c" in text
    assert "Encryption: KMS key alias shop-disk-key (its id is looked up from the alias at apply)" in text


def test_a_key_id_and_a_retained_ip_are_shown(stack: Path) -> None:
    key = "0d0466b0-3b6c-4a4b-9c2e-2a3b4c5d6e7f"

    def edit(wf: dict) -> None:
        wf["encryption"] = {"enabled": True, "key_id": key}
        wf["advanced"]["retain_ip"] = True

    _edit_workflow(stack, edit)
    rows = _fact_rows(render_plan(plan_stack(stack).plan, "markdown"), "**create** `shop-wave-1/web-01/target_server`")
    assert rows["Encryption"] == f"KMS key id {key}"
    assert rows["Private IP"] == "retained from the source: 192.168.1.10"


def _record_as_applied(stack: Path, edits: dict[str, dict]) -> None:
    graph = plan_stack(stack).graph
    store = SQLiteStore(stack.parent / "state.db")
    try:
        with store.transaction("demo") as txn:
            for address, res in graph.resources.items():
                txn.put_resource(ResourceRecord(address, res.kind, res.workflow, res.server,
                                                {**res.attrs, **edits.get(address, {})}))
    finally:
        store.close()


def test_updates_show_old_and_new_and_replaces_name_the_attribute(stack: Path) -> None:
    _record_as_applied(stack, {"shop-wave-1/web-01/target_server": {"tags": {"app": "shop", "owner": "old|team"}},
                               "shop-wave-1/db-01/target_server": {"vpc": "vpc-old"}})
    plan = plan_stack(stack).plan
    md = render_plan(plan, "markdown")
    section = md[md.index("✏️ **update** `shop-wave-1/web-01/target_server`"):]
    assert _tables(section)[0] == [["Attribute", "Before", "After"], ["tags.owner", '"old|team"', '"platform"']]
    replaced = md[md.index("♻️ **replace** `shop-wave-1/db-01/target_server`"):]
    assert replaced.splitlines()[0].endswith("because vpc: a server cannot move to another VPC")
    assert _tables(replaced)[0][1] == ["vpc", '"vpc-old"', '"vpc-shop"']
    text = [ln.strip() for ln in render_plan(plan).splitlines()]
    assert '~ tags.owner: "old|team" -> "platform"' in text
    assert "because: vpc: a server cannot move to another VPC" in text


def test_gates_are_listed_with_who_may_approve_them(stack: Path) -> None:
    plan = plan_stack(stack).plan
    md = render_plan(plan, "markdown")
    assert "Each gate needs 1 distinct approver (the plan's author may be one)" in md  # unsigned: no author
    gates = next(t for t in _tables(md) if t[0] == ["Gate", "Waits for"])
    assert gates[1:] == [["shop-wave-1/web-01/BusinessValidation", "check the services on the target"],
                         ["shop-wave-1/web-01/Cutover", "switch services to the target and start it"],
                         ["shop-wave-1/db-01/BusinessValidation", "check the services on the target"],
                         ["shop-wave-1/db-01/Cutover", "switch services to the target and start it"]]
    policy = stack / "stack.yaml"
    policy.write_text(policy.read_text().replace("required_approvers: 1", "required_approvers: 2")
                      .replace("allow_plan_author: true", "allow_plan_author: false"))
    strict = plan_stack(stack).plan
    rule = "2 distinct approvers other than the plan's author (an unsigned plan has no known author"
    assert f"Each gate needs {rule}" in render_plan(strict, "markdown")
    assert f"Gates: each needs {rule}" in render_plan(strict)


def _big(plan: Plan, servers: int) -> Plan:
    """`plan` with its one workflow's servers and resources repeated `servers` times under new names."""
    server, changes = plan.server_changes[0], [c for c in plan.resource_changes if c.server == "web-01"]
    copies, res = [], []
    for i in range(servers):
        name = f"srv-{i:05d}"
        copies.append(replace(server, server=name, target_name=f"{name}-hw"))
        res += [replace(c, address=c.address.replace("web-01", name), server=name,
                        after={**c.after, "name": f"{name}-hw"} if c.kind == "target_server" else c.after)
                for c in changes]
    return replace(plan, server_changes=tuple(copies), resource_changes=tuple(res))


def test_a_big_plan_folds_per_server_detail_and_fits_in_one_comment(stack: Path) -> None:
    plan = plan_stack(stack).plan
    small = render_plan(_big(plan, 3), "markdown")
    assert small.count("<details open>") == 3 and "left out" not in small
    md = render_plan(_big(plan, 60), "markdown")
    assert len(md) <= COMMENT_LIMIT
    assert "<details open>" not in md and "<details><summary>srv-" not in md  # per-server detail left out
    assert "Per-server details of 1 of 1 workflow(s) are left out to stay under GitHub's 65,536-character " \
           "comment limit; `mgc-iac show PLAN_FILE` shows the whole plan." in md
    servers = next(t for t in _tables(md) if t[0][0] == "Server")
    assert len(servers) == 61  # every server keeps its row
    assert "The 120 gates are listed per server (⏸) in the server tables above." in md
    huge = render_plan(_big(plan, 1500), "markdown")
    assert len(huge) <= COMMENT_LIMIT
    # one workflow of 1,500 servers: summarised (named with its counts), the footer kept
    assert "**3000 to create · 1500 server(s)" in huge and "Plan digest `sha256:" in huge
    assert huge.rstrip().endswith("(in `approvals.yaml` or with `mgc-iac approve`).")
    assert "All 1 workflow(s) are summarised" in huge and "Truncated" not in huge
    _tables(huge)  # what is left still parses into well-formed tables
    assert huge.count("<details") == huge.count("</details>") and huge.count("```") % 2 == 0
