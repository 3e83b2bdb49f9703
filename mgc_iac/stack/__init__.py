"""The user's stack: its models, loading with file:line, the MgC rules, what the rules need to know live.

The surface the operations use, by name (resolved lazily: importing one module of the stack loads no other):
load_stack / LoadedStack (loader.py), check_stack (rules.py), LiveFacts (facts.py).
"""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.stack.facts": "KeyFacts LiveFacts NetworkFacts SecurityGroupFacts SourceLiveFacts",
    "mgc_iac.stack.known_keys": "load_known_keys remember_keys",
    "mgc_iac.stack.loader": "LoadedStack load_stack",
    "mgc_iac.stack.models": "ApprovalPolicy CutoverWindow Limits Source Stack Workflow agent_installer",
    "mgc_iac.stack.rules": "check_stack required_ingress",
    "mgc_iac.stack.scaffold": "scaffold_stack",
    "mgc_iac.stack.selection": "workflow_servers",
    "mgc_iac.stack.waves": "dependencies wave_levels",
    "mgc_iac.stack.windows": "describe next_opening open_window summary utc_now",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
