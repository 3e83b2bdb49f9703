"""The lab as a background process: up, status, down, restart with its state, credentials file, ensure_lab."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from mgc_iac.cloud import Cloud, CloudSettings, LabControl, SourceFacts
from mgc_iac.errors import ConfigError
from mgc_iac.lab import ensure_lab, running, stop_background
from mgc_iac.lab.seed import load_seed, stable_id
from mgc_iac.lab.testing import DEMO_SEED, running_lab


def test_state_survives_a_restart_of_the_background_lab(tmp_path: Path) -> None:
    state = tmp_path / "lab"
    try:
        first = ensure_lab(state, DEMO_SEED)
        assert stat.S_IMODE((state / "credentials.json").stat().st_mode) == 0o600
        assert ensure_lab(state) == first                       # found, not started twice
        cloud = Cloud(CloudSettings.for_lab(first))
        source_id = cloud.sms.register_source(SourceFacts(name="web-01", ip="192.168.1.10", os_type="LINUX",
                                                          macs=("fa:16:3e:00:00:01",)))
        LabControl(cloud.settings).update_settings(job_seconds=0.5)
        assert stop_background(state) and running(state) is None
        second = ensure_lab(state)                              # no seed given: the stored one is used
        assert (second.ak, second.sk, second.project_id) == (first.ak, first.sk, first.project_id)
        cloud = Cloud(CloudSettings.for_lab(second))
        assert cloud.sms.show_source(source_id).name == "web-01"
        assert LabControl(cloud.settings).settings()["job_seconds"] == 0.5
        assert cloud.vpc.find_vpc("vpc-shop").id == stable_id("cn-north-4", "vpc", "vpc-shop")
    finally:
        stop_background(state)
    assert not stop_background(state)


def test_lab_cli_up_status_messages_down(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mgc_iac.cli import cli

    state = tmp_path / "lab"
    runner = CliRunner()
    env = {"MGC_IAC_LAB_DIR": str(state)}
    # the lab and hosts `lab up` started (`lab down` left, on a failed assertion): stopped by isolated_lab
    up = runner.invoke(cli, ["lab", "up", "--seed", str(DEMO_SEED)], env=env, catch_exceptions=False)
    assert up.exit_code == 0
    exports = dict(line.removeprefix("export ").split("=", 1) for line in up.stdout.splitlines()
                   if line.startswith("export "))
    assert exports["HUAWEICLOUD_SDK_REGION_SMS_CN_NORTH_4"].startswith("http://127.0.0.1:")
    cloud = Cloud(CloudSettings.from_env(exports))
    assert cloud.kms.describe_key("evs/default").enabled
    cloud.smn.publish(cloud.smn.list_topics()[0].urn, "Cutover waits", "approve web-01/Cutover")
    status = runner.invoke(cli, ["lab", "status"], env=env, catch_exceptions=False)
    assert "running: http://127.0.0.1:" in status.stdout
    messages = runner.invoke(cli, ["lab", "messages"], env=env, catch_exceptions=False)
    assert "migration-events  Cutover waits" in messages.stdout
    for result in (status, messages):
        assert exports["HUAWEICLOUD_SDK_SK"] not in result.output
    assert "stopped" in runner.invoke(cli, ["lab", "down"], env=env).stdout
    after = runner.invoke(cli, ["lab", "status"], env=env)
    assert after.exit_code == 1 and "lab up" in after.output


def test_in_process_lab_keeps_state_across_restarts(tmp_path: Path) -> None:
    with running_lab(tmp_path / "lab") as lab:
        topic = Cloud(lab.settings).smn.list_topics()[0]
        Cloud(lab.settings).smn.publish(topic.urn, "migration done", "web-01 is on Huawei Cloud")
    with running_lab(tmp_path / "lab", seed=None) as lab:
        messages = LabControl(lab.settings).messages()
        assert [m["subject"] for m in messages] == ["migration done"]
        LabControl(lab.settings).reset()
        assert LabControl(lab.settings).messages() == []
        assert Cloud(lab.settings).smn.list_topics()[0].urn == topic.urn     # the seed is back


def test_seed_reads_only_the_cloud_section_and_gives_stable_ids(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.yaml"
    data = yaml.safe_load(DEMO_SEED.read_text())
    data["hosts"] = [{"name": "web-01", "anything": True}]
    seed_file.write_text(yaml.safe_dump(data))
    seed = load_seed(seed_file)
    assert seed.region == "cn-north-4" and {g["name"] for g in seed.security_groups} >= {"sg-shop", "sg-closed"}
    assert load_seed(seed_file).project_id == seed.project_id
    seed_file.write_text(yaml.safe_dump({"cloud": {"region": "cn-north-4", "vpc": []}}))
    with pytest.raises(ConfigError, match="unknown keys under cloud: vpc"):
        load_seed(seed_file)
    seed_file.write_text(yaml.safe_dump({"hosts": []}))
    with pytest.raises(ConfigError, match="no `cloud:`"):
        load_seed(seed_file)
