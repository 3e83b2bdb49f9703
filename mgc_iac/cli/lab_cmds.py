"""`mgc-iac lab ...`: run the embedded Huawei-compatible lab cloud in the background."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from mgc_iac.cloud import CloudSettings, LabControl

_DIR = click.option("--dir", "state_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                    help="Lab state directory (default $MGC_IAC_LAB_DIR or ~/.mgc-iac/lab).")


def _state_dir(state_dir: Path | None) -> Path:
    from mgc_iac.lab.process import default_state_dir

    return state_dir or default_state_dir()


def _settings(state_dir: Path) -> tuple[CloudSettings, dict[str, Any]]:
    """The signed-client settings of the lab running from `state_dir`, and its {pid, port, url}."""
    from mgc_iac.cloud import CloudSettings
    from mgc_iac.lab.process import endpoint_for, running

    info = running(state_dir)
    if info is None:
        raise click.ClickException(f"no lab runs from {state_dir}: start one with `mgc-iac lab up`")
    return CloudSettings.for_lab(endpoint_for(state_dir, str(info["url"]))), info


def _control(state_dir: Path) -> tuple[LabControl, dict[str, Any]]:
    from mgc_iac.cloud import LabControl

    settings, info = _settings(state_dir)
    return LabControl(settings), info


@click.group("lab")
def lab_group() -> None:
    """Run the embedded lab: a loopback Huawei Cloud (ECS, EVS, KMS, SMN, VPC, SMS) for the demo and tests.

    The lab verifies SDK-HMAC-SHA256 signatures with its own AK/SK (generated on first start, kept in the
    state directory with mode 0600), keeps its state in SQLite across restarts, and answers on 127.0.0.1
    only. A stack with `cloud.provider: lab` finds or starts it by itself; `lab up` is for using the lab
    from your own shell or scripts:

        eval "$(mgc-iac lab up --seed stacks/demo/lab-seed.yaml)"
    """


@lab_group.command("up")
@click.option("--port", type=int, default=0, show_default=True, help="Loopback port (0 = any free port).")
@click.option("--seed", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Seed file whose `cloud:` section declares the account (VPCs, keys, topics...).")
@_DIR
def up_cmd(port: int, seed: Path | None, state_dir: Path | None) -> None:
    """Start the lab in the background and print the environment to export (this prints the lab's SK)."""
    from mgc_iac.lab.process import ensure_lab, running

    state_dir = _state_dir(state_dir)
    was_running = running(state_dir) is not None
    endpoint = ensure_lab(state_dir, seed, port)
    if was_running:
        click.echo(f"# the lab already runs at {endpoint.url}", err=True)
    else:
        click.echo(f"# lab started at {endpoint.url}; state in {state_dir}", err=True)
    for key, value in endpoint.env().items():
        click.echo(f"export {key}={shlex.quote(value)}")


@lab_group.command("status")
@_DIR
def status_cmd(state_dir: Path | None) -> None:
    """Say whether the lab runs, where, and with which settings and faults."""
    state_dir = _state_dir(state_dir)
    control, info = _control(state_dir)
    health = control.health()
    click.echo(f"running: {info['url']} (pid {info['pid']}), region {health['region']}, "
               f"project {health['project_id']}")
    click.echo(f"state:   {state_dir}")
    settings = control.settings()
    click.echo(f"settings: job_seconds={settings['job_seconds']} instant_transfers="
               f"{str(settings['instant_transfers']).lower()}")
    rules = control.faults()
    click.echo(f"faults:  {len(rules)} rule(s)" + "".join(f"\n  - {r}" for r in rules))


@lab_group.command("down")
@_DIR
def down_cmd(state_dir: Path | None) -> None:
    """Stop the background lab and its SSH hosts, with the SMS-Agents running in them (their state stays on disk
    for the next `lab up` or apply)."""
    from mgc_iac.ssh.hosts import stop_lab_all

    state_dir = _state_dir(state_dir)
    _, hosts, lab = stop_lab_all(state_dir)
    if hosts:
        click.echo("lab hosts stopped (with the SMS-Agents running in them)")
    click.echo("lab stopped" if lab else f"no lab runs from {state_dir}")


@lab_group.command("messages")
@_DIR
def messages_cmd(state_dir: Path | None) -> None:
    """Show the SMN notifications the lab received (what subscribers of the topics would get)."""
    control, _ = _control(_state_dir(state_dir))
    messages = control.messages()
    if not messages:
        click.echo("no messages")
    from mgc_iac.visible import visible, visible_line

    for m in messages:
        body = "\n".join("    " + line for line in visible(m["message"]).splitlines())
        click.echo(f"{m['time']}  {visible_line(m['topic'])}  {visible_line(m['subject'])}\n{body}")


@lab_group.command("reset")
@_DIR
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset_cmd(state_dir: Path | None, yes: bool) -> None:
    """Forget every server, volume, source, task and message; load the seed again (a lab that is not running is
    reset on disk)."""
    from mgc_iac.lab.process import reset_stopped, running

    state_dir = _state_dir(state_dir)
    if running(state_dir) is None and not (state_dir / "lab.db").is_file():
        raise click.ClickException(f"no lab state in {state_dir}: nothing to reset (a lab starts from its seed)")
    if not yes:
        click.confirm("Forget everything the lab holds and reload its seed?", abort=True)
    if running(state_dir) is None:
        reset_stopped(state_dir)
        click.echo(f"lab reset to its seed (on disk in {state_dir}; it was not running)")
        return
    control, _ = _control(state_dir)
    control.reset()
    click.echo("lab reset to its seed")


lab_group.add_command(__import__("mgc_iac.cli.lab_ls", fromlist=["ls_cmd"]).ls_cmd)
