"""The engine: runs a Plan (steps per server, gates, journal, concurrency) through a StepRunner."""

from mgc_iac.engine.engine import Engine, EngineOptions
from mgc_iac.engine.hooks import Hooks, RecordingHooks
from mgc_iac.engine.result import EXIT_FAILED, EXIT_OK, EXIT_WAITING, ApplyResult, Waiting
from mgc_iac.engine.runners.cloud import CloudSteps
from mgc_iac.engine.steps import StepContext, StepOutcome, StepRunner

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_WAITING", "ApplyResult", "CloudSteps", "Engine", "EngineOptions", "Hooks",
           "RecordingHooks", "StepContext", "StepOutcome", "StepRunner", "Waiting"]
