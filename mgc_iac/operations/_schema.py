"""JSON Schemas generated from the models (stack spec, plan file, approvals), committed under schemas/.

Regenerate with `python -m mgc_iac.operations._schema [DIRECTORY]`; tests/test_schemas.py fails when they drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mgc_iac.approvals import ApprovalsFile
from mgc_iac.data import schemas_dir
from mgc_iac.plan import PlanFile
from mgc_iac.stack import Stack

SCHEMAS: dict[str, type[BaseModel]] = {"stack": Stack, "stack-part": Stack, "plan": PlanFile,
                                       "approvals": ApprovalsFile}
TITLES = {"stack": "mgc-iac stack spec", "stack-part": "mgc-iac stack spec file (one part of a stack)",
          "plan": "mgc-iac plan file", "approvals": "mgc-iac approvals file"}
DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = schemas_dir()  # the repository's schemas/ (through mgc_iac/data), or the installed copy


def file_name(name: str) -> str:
    return f"{name}.schema.json"


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one model, by alias (`apiVersion`), as it validates input."""
    body = SCHEMAS[name].model_json_schema(by_alias=True, mode="validation")
    if name == "stack-part":  # a stack's files merge into one spec: a single file need not hold `metadata`
        body.pop("required", None)
    return {"$schema": DRAFT, "$id": file_name(name), **body, "title": TITLES[name]}


def schema_json(name: str) -> str:
    """Deterministic text: sorted keys, indent 2, trailing newline (what the committed file holds). A name that is
    not a model is a `--format json` document: its schema is written by hand, under output/."""
    if name not in SCHEMAS:
        return (SCHEMA_DIR / "output" / file_name(name)).read_text(encoding="utf-8")
    return json.dumps(schema(name), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: Path | str = SCHEMA_DIR) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = directory / file_name(name)
        path.write_text(schema_json(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # the regeneration script; the one place here that prints
    for written_path in write_schemas(sys.argv[1] if len(sys.argv) > 1 else SCHEMA_DIR):
        print(f"wrote {written_path}")
