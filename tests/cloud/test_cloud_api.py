"""The public surface of mgc_iac.cloud and mgc_iac.lab, and what importing them costs."""

from __future__ import annotations

import subprocess
import sys

import mgc_iac.cloud

EXPORTED = {
    "Cloud", "CloudSettings", "RetryPolicy", "LabControl", "Fault",
    "EcsClient", "EvsClient", "KmsClient", "SmnClient", "SmsClient", "VpcClient",
    "BssClient", "PriceQuery", "PriceQuote",
    "ServerRequest", "VolumeRequest", "Server", "Job", "Volume", "KeyInfo", "Topic", "Vpc", "Subnet",
    "SecurityGroup", "SecurityGroupRule", "SourceFacts", "SourceServer", "SourceDisk", "Command", "TaskRequest", "Task",
    "SubTask", "Progress", "SpeedLimit", "ConsistencyResult", "AttachedVolume", "TargetDiskPlan", "partitioned_disk",
    # issue 20: the apply's one reader of task states, the call scope of a step, the endpoints' pushback
    "FleetReader", "FleetTask", "CallScope", "call_scope", "current_scope", "Pressure", "limiters", "observe",
    "reset_limiters",
    # issue 20 point 2: applies on one PostgreSQL state share what their limiters learn
    "LimiterPeer", "Share", "sharing_limits",
    # issue 21: other folders reach the cloud through this package only: a stack's cloud settings, the lab's
    # endpoint (endpoint.py), the SDK contract (contract.py), the key specs EVS encrypts with (encryption.py),
    # lookups kept for an apply, the bounded waits
    "LAB_CREDENTIALS", "LAB_RUNNING", "cloud_account", "cloud_config", "cloud_for", "default_lab_dir", "lab_dir_of",
    "lab_seed", "kms_key", "lab_finishes_copies", "target_network",
    "provider_of", "running_lab", "settings_for", "sms_agent_domain", "sms_region", "coverage", "declared", "problems",
    "evs_key_specs", "lookup", "lookup_scope", "WaitPolicy", "wait_until",
    # the actions and waits on an SMS task the engine's steps and the migration_task provider's delete share
    "SMS_POLL_SECONDS", "cancel_scope", "delete_sms_task", "fleet_reader_for", "latest_task", "poll_every",
    "send_task_action", "settled_task", "stop_task_copy",
}


def test_exported_names_are_pinned() -> None:
    assert set(mgc_iac.cloud.__all__) == EXPORTED
    assert all(hasattr(mgc_iac.cloud, name) for name in EXPORTED)
    from mgc_iac import lab as lab_package

    assert set(lab_package.__all__) == {"ensure_lab", "LabEndpoint", "LabServer", "start_background",
                                        "stop_background", "running", "default_state_dir",
                                        # issue 21: what the operations use, through the package
                                        "PriceError", "SeedLabHosts", "endpoint_for", "ensure_lab_hosts", "load_seed",
                                        "rate_product", "require_lab_tools", "reset_stopped", "stop_lab_all"}


def test_importing_the_client_layer_and_the_help_do_not_load_the_sdk() -> None:
    code = ("import sys, mgc_iac.cloud, mgc_iac.lab\n"
            "from click.testing import CliRunner\n"
            "from mgc_iac.cli import cli\n"
            "assert CliRunner().invoke(cli, ['--help']).exit_code == 0\n"
            "assert CliRunner().invoke(cli, ['lab', '--help']).exit_code == 0\n"
            "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('huaweicloud', 'aiohttp'))}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_a_cloud_is_not_picklable_but_its_settings_are(cloud: mgc_iac.cloud.Cloud) -> None:
    import pickle

    import pytest

    with pytest.raises(TypeError, match="pass CloudSettings"):
        pickle.dumps(cloud)
    assert pickle.loads(pickle.dumps(cloud.settings)) == cloud.settings
