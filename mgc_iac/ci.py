"""What the CI environment says about this run."""

from __future__ import annotations

import os


def in_ci() -> bool:
    """Whether this runs in a CI job (every major CI sets CI; `false`/`0` say it is not one)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
