"""Cloud: one lazily built client per service over one CloudSettings."""

from __future__ import annotations

import threading
from functools import cached_property

from mgc_iac.cloud._bss import BssClient
from mgc_iac.cloud._ecs import EcsClient
from mgc_iac.cloud._evs import EvsClient
from mgc_iac.cloud._iam import IamClient
from mgc_iac.cloud._kms import KmsClient
from mgc_iac.cloud._settings import CloudSettings
from mgc_iac.cloud._smn import SmnClient
from mgc_iac.cloud._sms import SmsClient
from mgc_iac.cloud._vpc import VpcClient

_lock = threading.Lock()


class Cloud:
    """`cloud.ecs`, `cloud.evs`, `cloud.kms`, `cloud.smn`, `cloud.vpc`, `cloud.sms`, `cloud.iam`, `cloud.bss`: built on
    first use, thread-safe, safe to share between the engine's worker threads. Keep it out of anything pickled."""

    def __init__(self, settings: CloudSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"Cloud(region={self.settings.region!r}, project_id={self.settings.project_id!r})"

    def __reduce__(self) -> object:
        raise TypeError("Cloud holds live HTTP clients: pass CloudSettings and build a Cloud where it is used")

    def _build(self, name: str, cls: type) -> object:
        with _lock:
            if name not in self.__dict__:
                self.__dict__[name] = cls(self.settings)
        return self.__dict__[name]

    @cached_property
    def ecs(self) -> EcsClient:
        return self._build("_ecs", EcsClient)  # type: ignore[return-value]

    @cached_property
    def evs(self) -> EvsClient:
        return self._build("_evs", EvsClient)  # type: ignore[return-value]

    @cached_property
    def kms(self) -> KmsClient:
        return self._build("_kms", KmsClient)  # type: ignore[return-value]

    @cached_property
    def smn(self) -> SmnClient:
        return self._build("_smn", SmnClient)  # type: ignore[return-value]

    @cached_property
    def vpc(self) -> VpcClient:
        return self._build("_vpc", VpcClient)  # type: ignore[return-value]

    @cached_property
    def sms(self) -> SmsClient:
        return self._build("_sms", SmsClient)  # type: ignore[return-value]

    @cached_property
    def iam(self) -> IamClient:
        return self._build("_iam", IamClient)  # type: ignore[return-value]

    @cached_property
    def bss(self) -> BssClient:
        return self._build("_bss", BssClient)  # type: ignore[return-value]
