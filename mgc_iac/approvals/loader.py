"""Read `approvals.yaml` (reviewed in Git like code): errors name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from mgc_iac.approvals.model import ApprovalsFile
from mgc_iac.errors import ApprovalError

APPROVALS_FILE = "approvals.yaml"


def approvals_path(stack_dir: Path) -> Path | None:
    """The stack's approvals file (approvals.yaml or approvals.yml), or None."""
    for name in (APPROVALS_FILE, "approvals.yml"):
        path = Path(stack_dir) / name
        if path.is_file():
            return path
    return None


def load_approvals_file(path: Path) -> ApprovalsFile:
    """Parse and validate an approvals file. Raises ApprovalError naming the file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ApprovalError(f"{path}: cannot read the approvals file ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ApprovalError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return ApprovalsFile()
    try:
        return ApprovalsFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(text, loc)
            where = f"{path}:{line}" if line else str(path)
            problems.append(f"{where}: {field}: {err['msg']}")
        raise ApprovalError("invalid approvals file:\n  " + "\n  ".join(problems)
                            + "\n  expected: approvals: [{gates: [workflow/server/Step], by: PRINCIPAL, "
                              "plan_digest: sha256:..., signature: (from `mgc-iac approve --key ... --to-file`)}]"
                            ) from None


def _line_of(text: str, loc: tuple[object, ...]) -> int | None:
    """1-based line of the deepest node on `loc` that exists."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                key = next((k for k, _ in node.value if getattr(k, "value", None) == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line
