"""Lab throughput: signed ShowTask calls per second, raw (aiohttp client) and through the SDK client layer.

    .venv/bin/python bench/lab_throughput.py [--seconds 3]

Starts the lab as a background process (as `mgc-iac lab up` does) in a temporary state dir, creates one SMS
task, then for 1 and 50 concurrent callers measures:
  raw  - aiohttp client, each request signed (SDK-HMAC-SHA256) by mgc_iac.lab.signature
  sdk  - mgc_iac.cloud SmsClient.show_task (official SDK + our retry/error layer), one thread per caller
and prints requests/s, mean latency, and the SDK's own client-side cost per call (sdk - raw latency at 1
caller), and the share of the lab's time spent checking its answers against the SDK models
(mgc_iac.lab.contract, read from GET /_lab/stats). It prints figures; it is not a test. Target: the lab serves
>= 1,000 signed requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

import aiohttp

from mgc_iac.cloud import Cloud, CloudSettings, LabControl
from mgc_iac.lab import LabEndpoint, start_background, stop_background
from mgc_iac.lab.signature import sign_headers
from mgc_iac.lab.testing import lab_task

SEED = Path(__file__).resolve().parent.parent / "stacks" / "demo" / "lab-seed.yaml"


async def raw_rate(endpoint: LabEndpoint, task_id: str, callers: int, seconds: float) -> tuple[int, float]:
    path = f"/v3/tasks/{task_id}"
    host = endpoint.url.removeprefix("http://")
    done = 0
    deadline = time.perf_counter() + seconds

    async def caller(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            headers = sign_headers(access_key=endpoint.ak, secret_key=endpoint.sk, method="GET", raw_path=path,
                                   raw_query="", body=b"", headers={"Host": host, "Content-Type": "application/json",
                                                                     "X-Project-Id": endpoint.project_id})
            async with session.get(endpoint.url + path, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            done += 1

    connector = aiohttp.TCPConnector(limit=callers)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(caller(session) for _ in range(callers)))
        return done, time.perf_counter() - start


def sdk_rate(cloud: Cloud, task_id: str, callers: int, seconds: float) -> tuple[int, float]:
    counts = [0] * callers
    deadline = time.perf_counter() + seconds

    def caller(n: int) -> None:
        while time.perf_counter() < deadline:
            assert cloud.sms.show_task(task_id).id == task_id
            counts[n] += 1

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "lab"
        endpoint = start_background(state, seed=SEED)
        try:
            cloud = Cloud(CloudSettings.for_lab(endpoint))
            LabControl(cloud.settings).update_settings(job_seconds=0)
            _, task, _ = lab_task(cloud, name="bench")
            cloud.sms.show_task(task)                                   # warm: SDK import, connection
            before = LabControl(cloud.settings).stats()
            rows = []
            for callers in (1, 50):
                n, took = asyncio.run(raw_rate(endpoint, task, callers, args.seconds))
                rows.append(("raw aiohttp", callers, n / took, took / n * callers * 1000))
                n, took = sdk_rate(cloud, task, callers, args.seconds)
                rows.append(("sdk client layer", callers, n / took, took / n * callers * 1000))
            after = LabControl(cloud.settings).stats()
        finally:
            stop_background(state)
    print(f"lab throughput: signed GET /v3/tasks/{{id}} (ShowTask), {args.seconds:.0f} s per row")
    print(f"{'client':<18}{'callers':>8}{'req/s':>10}{'mean ms':>10}")
    for name, callers, rate, latency in rows:
        print(f"{name:<18}{callers:>8}{rate:>10.0f}{latency:>10.2f}")
    raw1, sdk1 = rows[0][3], rows[1][3]
    print(f"SDK client-side cost per call (1 caller): {sdk1 - raw1:.2f} ms "
          f"(sdk {sdk1:.2f} ms vs raw {raw1:.2f} ms)")
    best_raw = max(r[2] for r in rows if r[0] == "raw aiohttp")
    best_sdk = max(r[2] for r in rows if r[0] != "raw aiohttp")
    checks = after["checks"] - before["checks"]
    check_s = after["check_seconds"] - before["check_seconds"]
    cpu_s = after["cpu_seconds"] - before["cpu_seconds"]
    handler_s = after["handler_seconds"] - before["handler_seconds"]
    print(f"SDK-model check of the lab's answers: {checks} answers, {check_s * 1e6 / max(checks, 1):.0f} us each, "
          f"{check_s / max(cpu_s, 1e-9):.1%} of the lab process's CPU ({check_s:.2f} of {cpu_s:.2f} s), "
          f"{check_s / max(handler_s, 1e-9):.1%} of its time in handlers")
    print(f"lab serves {best_raw:.0f} signed req/s (target 1,000: {'met' if best_raw >= 1000 else 'NOT met'}); "
          f"one SDK process drives {best_sdk:.0f} req/s")


if __name__ == "__main__":
    main()
