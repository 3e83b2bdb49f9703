"""The Pulumi program of Pulumi.yaml (`main: pulumi_program/`): declare the stack named by `mgc-iac:stack`.

A directory with only this entry point: Pulumi's Python host runs `<main>/__main__.py` as a script, so the
logic lives in the installed package (the operation mgc_iac.operations._program over mgc_iac.pulumi.program),
importable by tests and by the provider host.
"""

from pathlib import Path

from mgc_iac.operations import run_program

run_program(Path(__file__).resolve().parent.parent)
