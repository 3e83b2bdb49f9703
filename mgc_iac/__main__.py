"""`python -m mgc_iac` is the `mgc-iac` command."""

from mgc_iac.cli import main

main()
