"""The user's stack: its models, loading with file:line, the MgC rules, what the rules need to know live.

The surface the operations use, by name (resolved lazily: importing one module of the stack loads no other):
load_stack / LoadedStack (loader.py), check_stack (rules.py), LiveFacts (facts.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mgc_iac._lazy import lazy_exports

if TYPE_CHECKING:
    from mgc_iac.stack.facts import LiveFacts
    from mgc_iac.stack.loader import LoadedStack, load_stack
    from mgc_iac.stack.rules import check_stack

_EXPORTS = {
    "LiveFacts": "mgc_iac.stack.facts", "LoadedStack": "mgc_iac.stack.loader",
    "load_stack": "mgc_iac.stack.loader", "check_stack": "mgc_iac.stack.rules",
}

__all__ = ["LiveFacts", "LoadedStack", "check_stack", "load_stack"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
