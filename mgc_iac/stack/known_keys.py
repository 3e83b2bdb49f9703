"""KMS keys known without a cloud call: the lab seed's (a lab stack) and what the last `plan --refresh` saw.

So that offline `validate` / `plan` already refuse a key alias known to be disabled or not AES_256. The cache
holds only a key's alias or id, spec and state (nothing secret), in `refresh-cache.json` beside the state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import yaml

from mgc_iac.stack.facts import KeyFacts

CACHE_NAME = "refresh-cache.json"
# KMS key_state codes (KMS API reference, ListKeys / DescribeKey: key_state)
KEY_STATE_NAMES = {"1": "pending activation", "2": "enabled", "3": "disabled", "4": "scheduled for deletion",
                   "5": "pending import"}
_SEED_STATES = {"pending_activation": "1", "enabled": "2", "disabled": "3", "pending_deletion": "4",
                "pending_import": "5"}


def state_name(state: str) -> str:
    return KEY_STATE_NAMES.get(str(state), f"state {state}")


def cache_path(state_path: Path | str) -> Path:
    """Beside a state file; for a state database (a URL), in this machine's ~/.mgc-iac (hints only)."""
    if isinstance(state_path, str) and "://" in state_path:
        return Path.home() / ".mgc-iac" / CACHE_NAME
    return Path(state_path).parent / CACHE_NAME


def load_known_keys(stack_dir: Path, provider: str, state_path: Path | str, stack: str) -> dict[str, KeyFacts]:
    """Key reference (alias or id) -> what is known of it; a damaged file is ignored (offline hints only)."""
    known: dict[str, KeyFacts] = {}
    seed = stack_dir / "lab-seed.yaml"
    if provider == "lab" and seed.is_file():
        try:
            doc = yaml.safe_load(seed.read_text(encoding="utf-8")) or {}
            for key in (doc.get("cloud") or {}).get("kms_keys") or []:
                state = _SEED_STATES.get(str(key.get("state", "enabled")), str(key.get("state")))
                known[str(key["alias"])] = KeyFacts("", str(key["alias"]), str(key.get("spec", "AES_256")), state)
        except (OSError, yaml.YAMLError, TypeError, KeyError, AttributeError):
            pass
    cache = cache_path(state_path)
    if cache.is_file():
        try:
            for ref, k in (json.loads(cache.read_text(encoding="utf-8")).get(stack) or {}).items():
                known[ref] = KeyFacts(k["key_id"], k["alias"], k["spec"], k["state"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            pass
    return known


def remember_keys(state_path: Path | str, stack: str, keys: Mapping[str, KeyFacts | None]) -> None:
    """Keep what `plan --refresh` learned about the stack's keys for later offline checks."""
    found = {ref: {"key_id": k.key_id, "alias": k.alias, "spec": k.spec, "state": k.state}
             for ref, k in keys.items() if k is not None}
    if not found:
        return
    cache = cache_path(state_path)
    try:
        doc = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    except (OSError, ValueError):
        doc = {}
    doc[stack] = {**(doc.get(stack) or {}), **found}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(cache)
