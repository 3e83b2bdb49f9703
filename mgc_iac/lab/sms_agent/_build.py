"""Build the lab's SMS-Agent package: SMS-Agent.tar.gz, self-contained for a lab source's /usr/bin/python3.

The package runs inside a lab host's sandbox, where only /usr (Python 3.11's interpreter and stdlib) is shared:
the controller's venv is not there. So the package vendors what its entry module imports, found by importing
it in a fresh interpreter of this venv (not a hand list): mgc_iac's agent and cloud layers, the official SDK
(huaweicloudsdkcore, huaweicloudsdksms) and their pure-Python dependencies. The agent signs its SMS calls with
the SDK's own SDK-HMAC-SHA256 signer, the one the lab's gateway verifies, rather than a second signer of ours.

    SMS-Agent/version                lab-<digest of the contents>: a changed package is a different (newer) agent
    SMS-Agent/startup.sh             Huawei's prompt sequence (see startup.sh), then starts agent/linuxmain detached
    SMS-Agent/shutdown.sh            stops linuxmain
    SMS-Agent/agent/linuxmain        the process (bash exec -a linuxmain /usr/bin/python3 -I linuxmain.py)
    SMS-Agent/agent/linuxmain.py     puts lib/ first on sys.path and runs mgc_iac.lab.agent.linuxmain
    SMS-Agent/agent/config/auth.cfg  the agent's settings: [proxy-config] enable, proxy_addr, proxy_port,
                                     proxy_user, use_password (Huawei's names; StartUpAgent writes them)
    SMS-Agent/agent/config/excludes  the lab's own paths the copy leaves out (one a line)
    SMS-Agent/agent/lib/...          the vendored modules
Huawei's package has the same top level (startup.sh, shutdown.sh, agent/config/auth.cfg, the process
agent/linuxmain); what is inside agent/ besides is Huawei's own binary, not reproduced.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

PACKAGE = "SMS-Agent.tar.gz"
# auth.cfg as shipped: the proxy off (Huawei's key names, huawei-behaviour.md); StartUpAgent rewrites the section
AUTH_CFG = "[proxy-config]\nenable = false\nproxy_addr =\nproxy_port =\nproxy_user =\nuse_password = false\n"
ENTRY = "mgc_iac.lab.agent.linuxmain"
HERE = Path(__file__).resolve().parent
# what every lab host binds read-only from this machine, and the lab's own files: never copied to a target
LAB_EXCLUDES = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc/alternatives", "/.mgc-lab-files",
                "/.mgc-lab-network.json")
_LAUNCHER = """import os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
if sys.argv[1:2] == ["--list-enterprise-projects"]:  # between two prompts of startup.sh: no SDK import
    from mgc_iac.lab.agent._registration import enterprise_projects
    print("".join(f"{i} {n}\\n" for i, n in enterprise_projects()), end="")
    raise SystemExit(0)
from mgc_iac.lab.agent.linuxmain import main
raise SystemExit(main(HERE, sys.argv[1:]))
"""
_FIND = """
import importlib, json, os, sys, sysconfig
entry = importlib.import_module(sys.argv[1])
if hasattr(entry, "warm_imports"):
    entry.warm_imports()
stdlib = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
out = set()
for name, mod in list(sys.modules.items()):
    f = getattr(mod, "__file__", None)
    top_name = name.split(".")[0]
    if not f or top_name in sys.builtin_module_names or top_name.startswith(("__editable__", "_distutils_hack")):
        continue
    real = os.path.realpath(f)
    if any(real.startswith(s + os.sep) for s in stdlib) and "site-packages" not in real:
        continue
    top = sys.modules.get(name.split(".")[0])
    tf = getattr(top, "__file__", None)
    if tf:
        out.add((name.split(".")[0], os.path.dirname(os.path.realpath(tf)) if tf.endswith("__init__.py")
                 else os.path.realpath(tf)))
print(json.dumps(sorted(out)))
"""
_lock = threading.Lock()
_built: dict[Path, tuple[Path, str]] = {}


def _imported_tops() -> list[tuple[str, Path]]:
    """(top-level name, its package dir or module file) of every non-stdlib module the entry imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    root = str(Path(__file__).resolve().parents[3])
    out = subprocess.run([sys.executable, "-c", _FIND, ENTRY], capture_output=True, text=True, check=True,
                         env={**env, "PYTHONPATH": root}, timeout=120)
    return [(name, Path(path)) for name, path in json.loads(out.stdout)]


def _files(tops: list[tuple[str, Path]]) -> list[tuple[Path, str]]:
    """(file on this machine, name in the archive under agent/lib/); no bytecode, no C extension (pure fallbacks
    exist for each: bson, simplejson, charset_normalizer), no dist-info."""
    out: list[tuple[Path, str]] = []
    for _name, path in tops:
        if path.is_file():
            if path.suffix == ".py":
                out.append((path, f"agent/lib/{path.name}"))
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.endswith(".dist-info"))
            for fn in sorted(filenames):
                if fn.endswith((".pyc", ".so")):
                    continue
                full = Path(dirpath) / fn
                out.append((full, f"agent/lib/{path.name}/{full.relative_to(path)}"))
    return out


def _digest(files: list[tuple[Path, str]]) -> str:
    h = hashlib.sha256()
    for full, arc in files:
        h.update(arc.encode())
        h.update(full.read_bytes())
    for name in ("startup.sh", "shutdown.sh", "linuxmain.sh"):
        h.update((HERE / name).read_bytes())
    h.update(_LAUNCHER.encode() + AUTH_CFG.encode() + "\n".join(LAB_EXCLUDES).encode())
    return h.hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(f"SMS-Agent/{name}")
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def build_package(cache_dir: Path) -> tuple[Path, str]:
    """The package (built once per content: cached under `cache_dir` by its digest) and its sha256."""
    with _lock:
        if cache_dir in _built:  # once per lab process: the package is what this process's code is
            return _built[cache_dir]
        files = _files(_imported_tops())
        version = f"lab-{_digest(files)[:16]}"
        path = cache_dir / version / PACKAGE
        sha_path = path.with_name(PACKAGE + ".sha256")
        if path.exists() and sha_path.exists():
            _built[cache_dir] = (path, sha_path.read_text().split()[0])
            return _built[cache_dir]
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
            _add(tar, "version", f"{version}\n".encode())
            _add(tar, "startup.sh", (HERE / "startup.sh").read_bytes(), 0o755)
            _add(tar, "shutdown.sh", (HERE / "shutdown.sh").read_bytes(), 0o755)
            _add(tar, "agent/linuxmain", (HERE / "linuxmain.sh").read_bytes(), 0o755)
            _add(tar, "agent/linuxmain.py", _LAUNCHER.encode())
            _add(tar, "agent/config/auth.cfg", AUTH_CFG.encode(), 0o600)
            _add(tar, "agent/config/excludes", ("\n".join(LAB_EXCLUDES) + "\n").encode())
            for full, arc in files:
                _add(tar, arc, full.read_bytes())
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        sha_path.write_text(f"{digest}  {PACKAGE}\n")  # the format of Huawei's published .sha256 beside it
        _built[cache_dir] = (path, digest)
        return path, digest
