"""The engine: runs a Plan (steps per server, gates, journal, concurrency) through a StepRunner."""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.engine.engine": "Engine EngineOptions",
    "mgc_iac.engine.hooks": "Hooks RecordingHooks",
    "mgc_iac.engine.result": "ApplyResult EXIT_FAILED EXIT_OK EXIT_WAITING Waiting",
    "mgc_iac.engine.rewind": "full_retry full_retry_target resync retry",
    "mgc_iac.engine.runners.cloud": "CloudSteps",
    "mgc_iac.engine.schedule": "checks_summary",
    "mgc_iac.engine.status": "stack_status with_verdict",
    "mgc_iac.engine.steps": "StepContext StepOutcome StepRunner",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
