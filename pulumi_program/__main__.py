"""The Pulumi program of Pulumi.yaml (`main: pulumi_program/`): declare the stack named by `mgc-iac:stack`.

A directory with only this entry point: Pulumi's Python host runs `<main>/__main__.py` as a script, so the
logic lives in the installed package (mgc_iac.pulumi.program), importable by tests and by the provider host.
"""

from pathlib import Path

from mgc_iac.pulumi.program import run

run(Path(__file__).resolve().parent.parent)
