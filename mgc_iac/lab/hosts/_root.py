"""Build a lab host's filesystem root and the per-host files that stand in for /proc and /sys facts."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

from mgc_iac.lab.hosts._spec import FilesSpec, LabHostSpec

_SIZES = {
    "small": ((1.0, 1024, 32 * 1024),),
    "mixed": ((0.70, 512, 32 * 1024), (0.25, 64 * 1024, 1024 * 1024), (0.05, 1024 * 1024, 2 * 1024 * 1024)),
    "large": ((0.5, 1024 * 1024, 4 * 1024 * 1024), (0.5, 4 * 1024 * 1024, 16 * 1024 * 1024)),
}


def scaffold_root(root: Path, spec: LabHostSpec) -> None:
    """The minimum bwrap and the tools need: mount points, /bin links, passwd, os-release."""
    for d in ("usr", "proc", "dev", "sys", "tmp", "etc/alternatives", "root/.ssh", "run", "var/tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    for link, dest in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        if not (root / link).is_symlink():
            (root / link).symlink_to(dest)  # bwrap 0.8 fails on a second run if it has to create these
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\n")
    (root / "etc/hostname").write_text(spec.name + "\n")
    (root / "etc/os-release").write_text(
        f'NAME="{spec.distro.capitalize()}"\nID={spec.distro}\nVERSION_ID="{spec.os_version}"\n'
        f'PRETTY_NAME="{spec.distro.capitalize()} {spec.os_version} (mgc lab host)"\n')
    auth = root / "root/.ssh/authorized_keys"
    if not auth.exists():
        auth.write_text("")


def write_facts(facts_dir: Path, spec: LabHostSpec) -> None:
    """Files bound over /proc/meminfo, /proc/cpuinfo, /proc/loadavg and /sys/class/net inside the sandbox."""
    facts_dir.mkdir(parents=True, exist_ok=True)
    total = spec.memory_mb * 1024
    avail = (spec.available_memory_mb if spec.available_memory_mb is not None else spec.memory_mb * 3 // 4) * 1024
    (facts_dir / "meminfo").write_text(
        f"MemTotal:       {total} kB\nMemFree:        {avail // 2} kB\nMemAvailable:   {avail} kB\n"
        f"Buffers:        0 kB\nCached:         {avail // 2} kB\nSwapTotal:      0 kB\nSwapFree:       0 kB\n")
    (facts_dir / "cpuinfo").write_text("".join(
        f"processor\t: {i}\nmodel name\t: mgc lab vCPU\n\n" for i in range(spec.cpus)))
    (facts_dir / "loadavg").write_text(f"{spec.load:.2f} {spec.load:.2f} {spec.load:.2f} 1/100 1\n")
    net = facts_dir / "net"
    for name, mac in (("lo", "00:00:00:00:00:00"), (spec.interface, spec.mac)):
        (net / name).mkdir(parents=True, exist_ok=True)
        (net / name / "address").write_text(mac + "\n")
        (net / name / "operstate").write_text("up\n" if name != "lo" else "unknown\n")
    farm = facts_dir / "usr-bin"
    if not spec.rsync and not farm.exists():
        # /usr/bin without rsync: links into the real /usr/bin, mounted at /run/mgc-usr-bin inside the sandbox
        farm.mkdir()
        for entry in os.listdir("/usr/bin"):
            if entry != "rsync":
                (farm / entry).symlink_to(f"/run/mgc-usr-bin/{entry}")


def generate_files(root: Path, files: FilesSpec) -> int:
    """Write the deterministic file set (skipped when already there); returns the bytes written."""
    marker = root / ".mgc-lab-files"
    stamp = files.model_dump_json()
    if marker.exists() and marker.read_text() == stamp:
        return 0
    rng = random.Random(files.seed)
    written = 0
    for i in range(files.count):
        base = files.paths[i % len(files.paths)].lstrip("/")
        folder = root / base / f"d{(i // len(files.paths)) // 25:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        pick = rng.random()
        acc = 0.0
        size = 0
        for share, low, high in _SIZES[files.sizes]:
            acc += share
            if pick <= acc:
                size = rng.randint(low, high)
                break
        else:
            size = _SIZES[files.sizes][-1][1]
        path = folder / f"f{i:05d}.bin"
        path.write_bytes(rng.randbytes(size))
        if i % 10 == 3:
            os.chmod(path, 0o750)
        written += size
    first = root / files.paths[0].lstrip("/")
    link = first / "current"
    if files.count and not link.is_symlink():
        link.symlink_to("d000")  # a relative symlink: must be copied as a link
    marker.write_text(stamp)
    return written


def mount_quota(root: Path, size_mb: int) -> bool:
    """A size-limited tmpfs as the root so df shows the declared disk and a full disk really fills.

    Returns False (nothing mounted) when this process may not mount; the size is then only declared.
    """
    root.mkdir(parents=True, exist_ok=True)
    if os.path.ismount(root):
        return True
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "mgc-lab", str(root)],
                          capture_output=True, check=False)
    return done.returncode == 0


def unmount_quota(root: Path) -> None:
    if os.path.ismount(root):
        subprocess.run(["umount", "-l", str(root)], capture_output=True, check=False)
