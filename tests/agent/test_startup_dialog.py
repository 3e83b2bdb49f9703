"""The answers to startup.sh, chosen from each prompt's text (mgc_iac.ssh.agent._dialog): Huawei's sequence on a first
start and a restart, a refused answer, an unknown prompt, a token prompt, the enterprise project by name, the
deadline; and what is refused before startup.sh runs (temporary credentials, an SMS endpoint that is not a bare
host). Huawei does not publish the wording: the transcripts below use other words than the lab's startup.sh, so
the matching is on key words, not on one script's sentences (the lab's own is run in test_startup.py)."""

from __future__ import annotations

import asyncio

import pytest

from mgc_iac.cloud import CloudSettings
from mgc_iac.cloud.endpoint import sms_agent_domain
from mgc_iac.errors import ConfigError
from mgc_iac.ssh.agent._dialog import StartupAnswers, StartupDialog, StartupDialogError, classify, drive
from mgc_iac.ssh.agent._startup import official_package_url, startup_answers

AK, SK = "AKDIALOG000000000001", "sk-dialog-secret-0123456789"
ANSWERS = StartupAnswers(ak=AK, sk=SK, domain="sms.ap-southeast-3.myhuaweicloud.com", enterprise_project="shop")


def _run(dialog: StartupDialog, *outputs: str) -> list[str | None]:
    """Feed each output chunk (what startup.sh printed up to a prompt) and collect the answer typed."""
    typed = []
    for out in outputs:
        dialog.feed(out)
        typed.append(dialog.answer())
    return typed


def test_a_first_start_is_answered_in_huawei_s_order_by_what_each_prompt_says() -> None:
    dialog = StartupDialog(ANSWERS)
    typed = _run(dialog,
                 "Checking...\r\nWARNING: some devices in /etc/fstab are mounted by name.\r\nContinue? [y/n]: ",
                 "\r\nPrivacy statement: the agent collects host information.\r\nDo you agree? (yes/no): ",
                 "\r\nInput the Access Key (AK): ",
                 "\r\nInput the Secret Key (SK): ",
                 "\r\nInput the SMS domain: ",
                 "\r\n[0] default\r\n[1] finance\r\n[2] Shop\r\nSelect an enterprise project number: ")
    assert typed == ["y", "y", AK, SK, "sms.ap-southeast-3.myhuaweicloud.com", "2"]
    assert dialog.asked == ["precheck", "statement", "ak", "sk", "domain", "enterprise_project"]
    assert dialog.answer() is None  # nothing asked since


def test_a_restart_reuses_the_saved_configuration() -> None:
    dialog = StartupDialog(ANSWERS)
    typed = _run(dialog, "fstab pre-check: /dev/vdb1 by name\nGo on? (y/n): ",
                 "\nAn existing configuration was found (domain sms.x).\nUse it? (y/n): ")
    assert typed == ["y", "y"] and dialog.asked == ["precheck", "reuse"]


def test_output_still_being_written_is_not_taken_for_a_prompt() -> None:
    dialog = StartupDialog(ANSWERS)
    dialog.feed("Starting the agent")  # no newline yet, but not a prompt either
    assert dialog.answer() is None
    dialog.feed(" ... done\n")
    assert dialog.answer() is None


def test_a_refused_answer_stops_the_dialog_instead_of_answering_forever() -> None:
    dialog = StartupDialog(StartupAnswers(ak=AK, sk=SK, domain="https://sms.cn-north-4.myhuaweicloud.com"))
    _run(dialog, "fstab?(y/n):", "\ncollect data? agree (y/n):", "\nAK:", "\nSK:", "\nSMS domain:")
    dialog.feed("\nInvalid domain name, please try again.\nSMS domain:")
    with pytest.raises(StartupDialogError) as refused:
        dialog.answer()
    message = str(refused.value)
    assert "asked again for the SMS domain" in message and "Invalid domain name" in message
    assert "'SMS domain:'" in message and AK not in message and SK not in message


def test_a_prompt_that_matches_nothing_stops_with_its_text() -> None:
    dialog = StartupDialog(ANSWERS)
    dialog.feed("Please choose the migration mode (1 block, 2 file):")
    with pytest.raises(StartupDialogError, match=r"'Please choose the migration mode \(1 block, 2 file\):'"):
        dialog.answer()
    # a y/n question on another subject is not answered `y` blindly
    other = StartupDialog(ANSWERS)
    other.feed("Uninstall the old agent first? (y/n):")
    with pytest.raises(StartupDialogError, match="does not recognise"):
        other.answer()


def test_a_security_token_is_never_offered() -> None:
    dialog = StartupDialog(ANSWERS)
    dialog.feed("Please input the security token:")
    with pytest.raises(StartupDialogError, match="security token"):
        dialog.answer()
    assert classify("Security Token:") == "token"


def test_the_enterprise_project_is_chosen_by_name_and_a_missing_one_is_named() -> None:
    listed = "Enterprise projects:\n  0. default\n  1. finance\nEnter the number:"
    default = StartupDialog(StartupAnswers(ak=AK, sk=SK, domain="d.example.com"))
    default.feed(listed)
    assert default.answer() == "0"
    missing = StartupDialog(ANSWERS)
    missing.feed(listed)
    with pytest.raises(StartupDialogError) as err:
        missing.answer()
    assert "'shop' is not in the list" in str(err.value) and "1 finance" in str(err.value)


def test_the_dialog_has_a_deadline() -> None:
    dialog = StartupDialog(ANSWERS)

    async def read() -> str:
        await asyncio.sleep(0.05)
        return "."  # output that never becomes a prompt

    async def write(_: str) -> None:
        raise AssertionError("nothing to answer")

    with pytest.raises(StartupDialogError, match="did not finish within 1 s"):
        asyncio.run(drive(read, write, dialog, deadline_seconds=1.0, quiet_seconds=0.2))


def test_temporary_credentials_and_a_url_domain_are_refused_before_startup_sh_runs() -> None:
    real = CloudSettings(region="cn-north-4", project_id="p" * 32, ak=AK, sk=SK)
    domain = sms_agent_domain(real, {"provider": "huaweicloud"})
    assert domain == "sms.cn-north-4.myhuaweicloud.com"
    assert startup_answers(AK, SK, domain).domain == domain
    with pytest.raises(ConfigError, match="security token") as temporary:
        startup_answers(AK, SK, domain, security_token="tok-123")
    assert "tok-123" not in str(temporary.value) and "agent: preinstalled" in str(temporary.value)
    proxied = CloudSettings(region="cn-north-4", project_id="p" * 32, ak=AK, sk=SK,
                            endpoints={"sms": "https://gw.example.com:8443/sms"})
    with pytest.raises(ConfigError, match="bare https host"):
        sms_agent_domain(proxied, {"provider": "huaweicloud"})
    lab = CloudSettings(region="cn-north-4", project_id="p" * 32, ak=AK, sk=SK, endpoints={"sms": "http://127.0.0.1:9"})
    assert sms_agent_domain(lab, {"provider": "lab"}) == "sms.cn-north-4.myhuaweicloud.com"  # the lab maps it


def test_the_package_is_sms_agent_tar_gz_from_the_region_s_bucket() -> None:
    assert official_package_url("ap-southeast-1") == \
        "https://sms-agent-2-0.obs.ap-southeast-1.myhuaweicloud.com/SMS-Agent.tar.gz"
    assert official_package_url("cn-north-1") == \
        "https://sms-agent-2-0-cn-north-1.obs.cn-north-1.myhuaweicloud.com/SMS-Agent.tar.gz"
