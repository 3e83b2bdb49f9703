"""The committed JSON Schemas match the models, and real documents validate against them."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mgc_iac.operations._planning import plan_stack
from mgc_iac.operations._schema import SCHEMA_DIR, SCHEMAS, file_name, schema_json, write_schemas
from mgc_iac.plan.planfile import write_plan
from mgc_iac.stack.loader import stack_files

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "stacks" / "demo"
LIST_KEYS = ("sources", "migration_plans", "workflows")


def _validator(name: str) -> jsonschema.Draft202012Validator:
    body = json.loads((SCHEMA_DIR / file_name(name)).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(body)
    return jsonschema.Draft202012Validator(body)


def _merged_demo() -> dict[str, Any]:
    """The demo stack's spec files merged the way the loader merges them (list keys concatenate)."""
    merged: dict[str, Any] = {}
    for path in stack_files(DEMO)[1]:
        for key, value in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if key in LIST_KEYS:
                merged.setdefault(key, []).extend(value)
            else:
                merged[key] = value
    return merged


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_matches_the_model(name: str) -> None:
    committed = SCHEMA_DIR / file_name(name)
    assert committed.exists(), f"{committed} is missing: run `python -m mgc_iac.operations._schema`"
    assert committed.read_text(encoding="utf-8") == schema_json(name), (
        f"{committed} is out of date with its model: run `python -m mgc_iac.operations._schema` and commit the result")


def test_write_schemas_writes_every_schema(tmp_path: Path) -> None:
    written = write_schemas(tmp_path)
    assert sorted(p.name for p in written) == ["approvals.schema.json", "plan.schema.json", "stack-part.schema.json",
                                                  "stack.schema.json"]
    assert all(p.read_text(encoding="utf-8") == schema_json(p.name.removesuffix(".schema.json")) for p in written)


def test_demo_stack_validates_and_mistakes_are_rejected() -> None:
    validator = _validator("stack")
    demo = _merged_demo()
    assert demo["apiVersion"] == "mgc-iac/v1"
    validator.validate(demo)
    wrong = copy.deepcopy(demo)
    wrong["workflows"][0]["advanced"]["bandwith_limit_mbps"] = 100  # a typo: unknown fields are refused
    del wrong["metadata"]
    messages = sorted(e.message for e in validator.iter_errors(wrong))
    assert any("'metadata' is a required property" in m for m in messages)
    assert any("bandwith_limit_mbps" in m for m in messages)


def test_plan_file_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MGC_IAC_STATE", str(tmp_path / "state.db"))
    stack = shutil.copytree(DEMO, tmp_path / "demo")
    out = tmp_path / "plan.json"
    write_plan(plan_stack(stack).plan, out)
    body = json.loads(out.read_text(encoding="utf-8"))
    validator = _validator("plan")
    validator.validate(body)
    body["resource_changes"][0]["action"] = "destroy"
    body.pop("digest")
    messages = [e.message for e in validator.iter_errors(body)]
    assert any("'destroy' is not one of" in m for m in messages)
    assert any("'digest' is a required property" in m for m in messages)


def test_approvals_example_validates() -> None:
    validator = _validator("approvals")
    example = {"approvals": [{"gates": ["shop-wave-1/web-01/BusinessValidation", "shop-wave-1/web-01/Cutover"],
                              "by": "alice@example.com", "plan_digest": "sha256:" + "0" * 64,
                              "comment": "checked the shop pages on web-01-hw"}]}
    validator.validate(example)
    example["approvals"][0]["plan_digest"] = "6ad668"  # a digest must be the full sha256:...
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        validator.validate(example)


def test_each_demo_file_validates_against_the_schema_its_modeline_names() -> None:
    import re

    import yaml

    for path in sorted((SCHEMA_DIR.parent / "stacks" / "demo").glob("*.yaml")):
        if path.name == "lab-seed.yaml":
            continue
        first = path.read_text(encoding="utf-8").splitlines()[0]
        match = re.search(r"\$schema=\.\./\.\./schemas/(\S+)\.schema\.json", first)
        assert match, f"{path.name} lacks the yaml-language-server $schema line"
        _validator(match.group(1)).validate(yaml.safe_load(path.read_text(encoding="utf-8")))
