"""requirements.lock holds every dependency pyproject.toml pins, at the same version (`./dev.sh lock` makes it;
setup installs only the lock, so a dependency added without re-locking would be missing)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>!~; ]", requirement, maxsplit=1)[0]).lower()


def test_the_lock_pins_what_pyproject_pins():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    locked = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^ ;\\]+)", line)
        if match:
            locked[_name(match.group(1))] = match.group(2)
    assert "cryptography" in locked  # transitive, pinned by the lock (and by pyproject)
    for requirement in wanted:
        version = requirement.split("==", 1)[1].split(";")[0].strip()
        assert locked.get(_name(requirement)) == version, f"{requirement}: run ./dev.sh lock"
    hashes = (REPO / "requirements.lock").read_text().count("--hash=sha256:")
    assert hashes >= len(locked)  # every package with its hashes (pip --require-hashes)
