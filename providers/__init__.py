"""Pulumi dynamic providers for mgc-iac's resource kinds (one module per kind); see README.md.

They are stateless and picklable: every method builds its cloud client from the `cloud` input at call time
(mgc_iac.cloud.cloud_for). mgc-iac's engine calls them in-process; under Pulumi they run in `python -m
pulumi.dynamic`.

The folder is the repository's top-level providers/ (the project's layout); it is imported and installed only as
mgc_iac.providers (mgc_iac/providers is a symlink to it, and the wheel holds it there), so site-packages gets no
generic top-level `providers` and Pulumi pickles one module path in the source tree and from the wheel alike.
"""

from mgc_iac._lazy import by_module, lazy_exports

if __name__ != "mgc_iac.providers":  # two import names would make two copies of every provider class
    raise ImportError(f"import the providers as mgc_iac.providers, not {__name__}")

from mgc_iac.providers.migration_task import MigrationTaskProvider  # noqa: E402
from mgc_iac.providers.notification import NotificationProvider  # noqa: E402
from mgc_iac.providers.target_server import TargetServerProvider  # noqa: E402

PROVIDERS = {"target_server": TargetServerProvider, "migration_task": MigrationTaskProvider,
             "notification": NotificationProvider}

__all__ = ["PROVIDERS", "MigrationTaskProvider", "NotificationProvider", "TargetServerProvider"]


# what the engine's step functions share with the providers (creating a task as the provider does, starting the
# agent on a source as the task's create does under Pulumi, a notification's publish), resolved on first use
_LAZY = by_module({
    "mgc_iac.providers.migration_task": "create_task_for poll_interval",
    "mgc_iac.providers.notification": "publish",
    "mgc_iac.providers.source_agent": "PROBE_SECONDS start_agent workflow_enterprise_project",
})
__all__ = [*__all__, *sorted(_LAZY)]
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
