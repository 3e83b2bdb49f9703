"""Pulumi dynamic providers for mgc-iac's resource kinds (one module per kind); see README.md.

They are stateless and picklable: every method builds its cloud client from the `cloud` input at call time
(mgc_iac.cloud.endpoint.cloud_for). mgc-iac's engine calls them in-process; under Pulumi they run in `python -m
pulumi.dynamic`.
"""

from providers.migration_task import MigrationTaskProvider
from providers.notification import NotificationProvider
from providers.target_server import TargetServerProvider

PROVIDERS = {"target_server": TargetServerProvider, "migration_task": MigrationTaskProvider,
             "notification": NotificationProvider}

__all__ = ["PROVIDERS", "MigrationTaskProvider", "NotificationProvider", "TargetServerProvider"]
