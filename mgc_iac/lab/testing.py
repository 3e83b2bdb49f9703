"""A lab for tests of any part of mgc-iac: `with running_lab(tmp_path) as lab: Cloud(lab.settings)...`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgc_iac.lab.process import LabEndpoint, LabServer

DEMO_SEED = Path(__file__).resolve().parents[2] / "stacks" / "demo" / "lab-seed.yaml"


@dataclass
class RunningLab:
    server: LabServer
    endpoint: LabEndpoint
    settings: Any                      # mgc_iac.cloud.CloudSettings pointed at this lab

    @property
    def store(self) -> Any:
        assert self.server.lab is not None
        return self.server.lab.store


@contextmanager
def running_lab(state_dir: Path, seed: Path | None = DEMO_SEED, *, job_seconds: float = 0.0,
                instant_transfers: bool = False, transition_seconds: float | None = None,
                **settings: Any) -> Iterator[RunningLab]:
    """Serve a lab from a thread of this process on a free loopback port, stop it on exit."""
    from mgc_iac.cloud import CloudSettings, LabControl

    server = LabServer(Path(state_dir), seed)
    endpoint = server.start()
    try:
        cloud_settings = CloudSettings.for_lab(endpoint, **settings)
        LabControl(cloud_settings).update_settings(job_seconds=job_seconds, instant_transfers=instant_transfers,
                                                   transition_seconds=transition_seconds)
        yield RunningLab(server, endpoint, cloud_settings)
    finally:
        server.stop()
