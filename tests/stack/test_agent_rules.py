"""Who starts the SMS-Agent, checked before anything runs (mgc_iac/stack/rules_agent.py): Windows is installed by
the user (Huawei's Windows agent is a GUI installer), a huaweicloud source mgc-iac starts needs `ssh:`, and
temporary credentials (a security token) cannot start an agent (startup.sh asks only for an AK and SK)."""

from __future__ import annotations

from typing import Any

from mgc_iac.operations._planning import check
from mgc_iac.stack.rules import RuleContext
from mgc_iac.stack.rules_agent import rule_agent_installer

SSH = {"host": "10.0.0.5", "user": "root", "key_file": "~/.ssh/id_ed25519"}


def _errors(make_stack: Any, data: dict[str, Any], env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    stack = check(make_stack(data)).loaded.stack
    ctx = RuleContext(stack)
    rule_agent_installer(ctx, env or {})
    return [(d.path, d.message) for d in ctx.diags.errors]


def test_a_windows_source_is_preinstalled_by_default_and_refused_as_mgc_iac_s(make_stack: Any, base: Any) -> None:
    base["sources"][0]["os"] = "windows"
    stack = check(make_stack(base)).loaded.stack
    assert stack.sources[0].agent_installer == "preinstalled" and stack.sources[1].agent_installer == "mgc-iac"
    assert _errors(make_stack, base) == []
    base["sources"][0]["agent"] = "mgc-iac"
    [(path, message)] = _errors(make_stack, base)
    assert path == "sources[0].agent" and "SMS-Agent-Py3.exe" in message


def test_a_huaweicloud_source_mgc_iac_starts_needs_ssh(make_stack: Any, base: Any) -> None:
    base["cloud"] = {"provider": "huaweicloud", "region": "cn-north-4"}
    base["sources"][0]["ssh"] = SSH
    [(path, message)] = _errors(make_stack, base)
    assert path == "sources[1]" and "has no `ssh:`" in message
    base["sources"][1]["agent"] = "preinstalled"
    assert _errors(make_stack, base) == []


def test_temporary_credentials_cannot_start_an_agent(make_stack: Any, base: Any) -> None:
    base["cloud"] = {"provider": "huaweicloud", "region": "cn-north-4"}
    base["sources"][0]["ssh"] = SSH
    base["sources"][1]["agent"] = "preinstalled"
    token = {"HUAWEICLOUD_SDK_SECURITY_TOKEN": "tok-value"}
    [(path, message)] = _errors(make_stack, base, token)  # only the agent mgc-iac would start
    assert path == "sources[0].agent" and "temporary credentials" in message and "tok-value" not in message
    base["cloud"] = {"provider": "lab"}
    assert _errors(make_stack, base, token) == []  # the lab's agents start with the lab's own keys
