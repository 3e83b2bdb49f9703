"""The lab SMS-Agent's saved configuration (agent/config/registration.cfg), and its proxy (agent/config/auth.cfg).

Huawei's agent keeps what startup.sh was told so that a restart only asks whether to reuse it; the lab agent
does the same. The file is the lab's own (Huawei does not publish its agent's): `domain`, `enterprise_project`
and `enterprise_project_id` in clear, the AK and SK sealed with a random key kept in another file of the agent
(both mode 0600). Like any agent's local encryption, that only keeps the keys out of plain sight (a grep, a
backup of one file): the protection is the files' mode, as for Huawei's agent.

auth.cfg `[proxy-config]` carries Huawei's key names (enable, proxy_addr, proxy_port, proxy_user, use_password;
huawei-behaviour.md); StartUpAgent writes them, the agent registers with SMS through that proxy.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAB_NETWORK = "/.mgc-lab-network.json"  # lab only: what a lab source knows of the lab (mgc_iac.lab.hosts)
SAVED = "config/registration.cfg"
KEY = "config/.registration.key"
AUTH_CFG = "config/auth.cfg"


@dataclass(frozen=True)
class Registration:
    ak: str = field(repr=False)
    sk: str = field(repr=False)
    domain: str = ""
    enterprise_project_id: str = "0"
    enterprise_project: str = "default"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)


def _stream(key: bytes, nonce: bytes, n: int) -> bytes:
    return hashlib.shake_256(key + nonce).digest(n)


def _seal(key: bytes, plain: str) -> str:
    nonce = secrets.token_bytes(16)
    data = plain.encode()
    body = bytes(a ^ b for a, b in zip(data, _stream(key, nonce, len(data)), strict=True))
    tag = hmac.new(key, nonce + body, "sha256").digest()
    return base64.b64encode(nonce + tag + body).decode()


def _open(key: bytes, sealed: str) -> str:
    raw = base64.b64decode(sealed)
    nonce, tag, body = raw[:16], raw[16:48], raw[48:]
    if not hmac.compare_digest(tag, hmac.new(key, nonce + body, "sha256").digest()):
        raise ValueError("the saved configuration does not match its key")
    return bytes(a ^ b for a, b in zip(body, _stream(key, nonce, len(body)), strict=True)).decode()


def save(home: Path, reg: Registration) -> None:
    key_path = home / KEY
    key = secrets.token_bytes(32)
    _write_private(key_path, base64.b64encode(key).decode())
    sealed = _seal(key, f"{reg.ak}\n{reg.sk}")
    _write_private(home / SAVED, f"[registration]\ndomain = {reg.domain}\nenterprise_project = "
                                 f"{reg.enterprise_project}\nenterprise_project_id = {reg.enterprise_project_id}\n"
                                 f"keys = {sealed}\n")


def load(home: Path) -> Registration:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(home / SAVED)
    section = cfg["registration"]
    key = base64.b64decode((home / KEY).read_text())
    ak, sk = _open(key, section["keys"]).split("\n", 1)
    return Registration(ak=ak, sk=sk, domain=section.get("domain", ""),
                        enterprise_project_id=section.get("enterprise_project_id", "0"),
                        enterprise_project=section.get("enterprise_project", "default"))


def proxy_url(home: Path) -> str | None:
    """The proxy of auth.cfg [proxy-config] as a URL, or None when it is not enabled."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(home / AUTH_CFG)
    if not cfg.has_section("proxy-config"):
        return None
    sec = cfg["proxy-config"]
    if sec.get("enable", "false").strip().lower() not in ("true", "yes", "1", "on"):
        return None
    host, port = sec.get("proxy_addr", "").strip(), sec.get("proxy_port", "").strip()
    if not host or not port.isdigit():
        raise ValueError(f"auth.cfg [proxy-config] is enabled without a proxy_addr and a numeric proxy_port "
                         f"({host or '-'}:{port or '-'})")
    user = sec.get("proxy_user", "").strip()
    return f"http://{user + '@' if user else ''}{host}:{port}"


def lab_network() -> dict[str, Any]:
    """The lab host's network file ({} off the lab): its declared IP, the targets, `cloud`, `internet`."""
    try:
        return dict(json.loads(Path(LAB_NETWORK).read_text() or "{}"))
    except (OSError, ValueError):
        return {}


def enterprise_projects() -> list[tuple[str, str]]:
    """(id, name) of the account's enterprise projects, `0 default` first (in the lab: from the network file).
    Light on purpose (stdlib only): startup.sh runs it between two prompts."""
    listed = [(str(p.get("id") or p["name"]), str(p["name"]))
              for p in (lab_network().get("cloud") or {}).get("enterprise_projects") or [] if p.get("name")]
    return [("0", "default"), *[(i, n) for i, n in listed if n != "default"]]
