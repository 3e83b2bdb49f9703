"""The user's stack: its models, loading with file:line, the MgC rules, what the rules need to know live.

The surface the operations use, by name (resolved lazily: importing one module of the stack loads no other):
load_stack / LoadedStack (loader.py), check_stack (rules.py), LiveFacts (facts.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mgc_iac.stack.facts import LiveFacts
    from mgc_iac.stack.loader import LoadedStack, load_stack
    from mgc_iac.stack.rules import check_stack

_EXPORTS = {
    "LiveFacts": "mgc_iac.stack.facts", "LoadedStack": "mgc_iac.stack.loader",
    "load_stack": "mgc_iac.stack.loader", "check_stack": "mgc_iac.stack.rules",
}

__all__ = ["LiveFacts", "LoadedStack", "check_stack", "load_stack"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mgc_iac.stack' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
