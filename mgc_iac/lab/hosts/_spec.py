"""The `hosts:` section of a lab seed: each lab host's declared facts and the files it carries."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mgc_iac.errors import ConfigError


class FilesSpec(BaseModel):
    """A deterministic generator: `count` files of `sizes` spread over `paths`, from `seed`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    count: int = Field(default=300, ge=0, le=200_000)
    sizes: Literal["mixed", "small", "large"] = "mixed"
    seed: int = 1
    paths: tuple[str, ...] = ("/srv/app", "/data")

    @field_validator("paths")
    @classmethod
    def _absolute(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            if not p.startswith("/") or ".." in p.split("/"):
                raise ValueError(f"files path {p!r} must be absolute and without '..'")
        return v


class LabHostSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    role: Literal["source", "target"]
    mac: str = Field(pattern=r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
    ip: str | None = None  # declared inventory only: the lab serves every host on 127.0.0.1
    os: Literal["linux"] = "linux"
    distro: str = "ubuntu"
    os_version: str = "22.04"
    cpus: int = Field(default=2, ge=1, le=256)
    memory_mb: int = Field(default=4096, ge=64)
    available_memory_mb: int | None = None
    load: float = Field(default=0.1, ge=0)
    rsync: bool = True
    disk_size_mb: int | None = Field(default=None, ge=1)
    interface: str = "ens3"
    files: FilesSpec | None = None
    # false: no route out but through a proxy (a firewall): the lab agent reaches SMS only through the proxy of its
    # agent/config/auth.cfg [proxy-config], and refuses a direct connection (a lab model, read from the network file)
    internet: bool = True


class _Seed(BaseModel):
    model_config = ConfigDict(extra="ignore")  # other sections (cloud:) belong to other parts of the lab
    hosts: list[LabHostSpec] = Field(default_factory=list)


def load_hosts_spec(path: str | Path) -> list[LabHostSpec]:
    """Read the `hosts:` list of a lab seed YAML; names must be unique."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text()) or {}
        hosts = _Seed.model_validate(doc).hosts
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: cannot read the lab seed: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(f"{p}: invalid hosts section: {exc}") from exc
    names = [h.name for h in hosts]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{p}: lab host names must be unique: {', '.join(dupes)}")
    return hosts
