"""What signed approvals cost at apply start: Trust.check over N approvals, each its own SSH signature
(`ssh-keygen -Y find-principals` + `-Y verify` per distinct signature), against unsigned approvals (a name
normalization each) as the baseline in the same run. Also one signature over N gates (one `approve` of every
waiting gate), which is verified once.

    .venv/bin/python bench/approvals_verify.py [--approvals 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mgc_iac.approvals import Approval, Environment, Trust, approval_message  # noqa: E402
from mgc_iac.approvals.sshsig import APPROVAL_NAMESPACE, sign  # noqa: E402

DIGEST = "sha256:" + "b" * 64
ENV = Environment("0" * 32, "lab/cn-north-4/bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--approvals", type=int, default=200)
    n = parser.parse_args().approvals
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "k"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        allowed = Path(tmp) / "allowed_signers"
        allowed.write_text("alice@example.com " + " ".join(key.with_suffix(".pub").read_text().split()[:2]) + "\n")
        trust = Trust("bench", ENV, allowed, True)
        gates = [f"wf/s{i:05d}/Cutover" for i in range(n)]
        started = time.perf_counter()
        each = [Approval(g, "alice@example.com", DIGEST, "cli", "", sign(approval_message("bench", DIGEST, [g], ENV),
                                                                        key, APPROVAL_NAMESPACE), (g,)) for g in gates]
        sign_s = time.perf_counter() - started
        one_sig = sign(approval_message("bench", DIGEST, gates, ENV), key, APPROVAL_NAMESPACE)
        grouped = [Approval(g, "alice@example.com", DIGEST, "cli", "", one_sig, tuple(gates)) for g in gates]
        unsigned = [Approval(g, "Alice@Example.com", DIGEST) for g in gates]
        lax = Trust("bench", ENV, None, False)
        timings = {}
        for name, t, approvals in (("unsigned (baseline)", lax, unsigned), ("one signature per gate", trust, each),
                                   ("one signature, all gates", trust, grouped)):
            started = time.perf_counter()
            counted, rejected = t.check(approvals)
            timings[name] = time.perf_counter() - started
            assert len(counted) == n and not rejected, rejected[:1]
    base = timings["unsigned (baseline)"]
    print(f"{n} approvals; signing {n} separately took {sign_s:.2f} s ({sign_s / n * 1000:.1f} ms each)")
    for name, seconds in timings.items():
        print(f"{name:<26} {seconds * 1000:9.1f} ms  {seconds / n * 1000:7.3f} ms/approval  "
              f"{seconds / base if base else float('inf'):9.0f}x baseline")


if __name__ == "__main__":
    main()
