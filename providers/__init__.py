"""Pulumi dynamic providers for mgc-iac's resource kinds (one module per kind); see README.md.

They are stateless and picklable: every method builds its cloud client from the `cloud` input at call time
(mgc_iac.cloud.endpoint.cloud_for). mgc-iac's engine calls them in-process; under Pulumi they run in `python -m
pulumi.dynamic`.

The folder is the repository's top-level providers/ (the project's layout); it is imported and installed only as
mgc_iac.providers (mgc_iac/providers is a symlink to it, and the wheel holds it there), so site-packages gets no
generic top-level `providers` and Pulumi pickles one module path in the source tree and from the wheel alike.
"""

from typing import TYPE_CHECKING

from mgc_iac._lazy import lazy_exports

if __name__ != "mgc_iac.providers":  # two import names would make two copies of every provider class
    raise ImportError(f"import the providers as mgc_iac.providers, not {__name__}")

from mgc_iac.providers.migration_task import MigrationTaskProvider  # noqa: E402
from mgc_iac.providers.notification import NotificationProvider  # noqa: E402
from mgc_iac.providers.target_server import TargetServerProvider  # noqa: E402

PROVIDERS = {"target_server": TargetServerProvider, "migration_task": MigrationTaskProvider,
             "notification": NotificationProvider}

__all__ = ["PROVIDERS", "MigrationTaskProvider", "NotificationProvider", "TargetServerProvider"]


# the rest of the folder's public surface, resolved on first use (importing the package loads none of it)
if TYPE_CHECKING:
    from mgc_iac.providers.migration_task import (
        act,
        cancel_scope,
        create_task_for,
        delete_task,
        every,
        fleet_of,
        known,
        poll_interval,
        settled,
        stop_copy,
    )
    from mgc_iac.providers.notification import publish
    from mgc_iac.providers.source_agent import (
        PROBE_SECONDS,
        agent_state,
        facts_summary,
        installer,
        sms_region,
        start_agent,
        workflow_enterprise_project,
    )

_LAZY = {
    'PROBE_SECONDS': 'mgc_iac.providers.source_agent',
    'act': 'mgc_iac.providers.migration_task',
    'agent_state': 'mgc_iac.providers.source_agent',
    'cancel_scope': 'mgc_iac.providers.migration_task',
    'create_task_for': 'mgc_iac.providers.migration_task',
    'delete_task': 'mgc_iac.providers.migration_task',
    'every': 'mgc_iac.providers.migration_task',
    'facts_summary': 'mgc_iac.providers.source_agent',
    'fleet_of': 'mgc_iac.providers.migration_task',
    'installer': 'mgc_iac.providers.source_agent',
    'known': 'mgc_iac.providers.migration_task',
    'poll_interval': 'mgc_iac.providers.migration_task',
    'publish': 'mgc_iac.providers.notification',
    'settled': 'mgc_iac.providers.migration_task',
    'sms_region': 'mgc_iac.providers.source_agent',
    'start_agent': 'mgc_iac.providers.source_agent',
    'stop_copy': 'mgc_iac.providers.migration_task',
    'workflow_enterprise_project': 'mgc_iac.providers.source_agent',
}
__all__ = [*__all__, 'PROBE_SECONDS', 'act', 'agent_state', 'cancel_scope', 'create_task_for', 'delete_task',
           'every', 'facts_summary', 'fleet_of', 'installer', 'known', 'poll_interval', 'publish', 'settled',
           'sms_region', 'start_agent', 'stop_copy', 'workflow_enterprise_project']
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
