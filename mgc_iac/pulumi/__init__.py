"""The Pulumi side: the program that declares the graph, the state export, and the Python language host."""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.pulumi.export": "ExportOptions to_deployment",
    "mgc_iac.pulumi.program": "Declared TargetServer declare_graph stack_dir_from_config",
    "mgc_iac.pulumi.project": "current_virtualenv write_project",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
