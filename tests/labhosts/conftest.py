"""Lab host tests: the hosts themselves (sandbox, facts, keys, quota, background process)."""

from __future__ import annotations

import shutil

import pytest

if shutil.which("bwrap") is None:  # pragma: no cover - CI installs bubblewrap (.ci/run)
    pytest.skip("bubblewrap (bwrap) is not installed: lab hosts cannot sandbox their commands",
                allow_module_level=True)
