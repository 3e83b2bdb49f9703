"""Parity of the lab with the SDK: every operation the client layer calls, checked against the SDK 3.1.219.

The list of operations is read from the client's own code (every `self.call("op", XRequest(...))` in
mgc_iac/cloud), never written by hand. For each: the SDK method's HTTP method and path (its `_<op>_http_info`),
whether the lab routes that path to that operation, whether the lab accepted the body exactly as the SDK
serialized it, and whether the answer fits the SDK response model (mgc_iac.cloud.contract; the documented
SDK gap in mgc_iac.cloud._sdk_gaps). Answers come from one scenario that drives the real client against a
running lab, captured where the SDK reads them. Remaining differences are named in parity_allowlist.py.

    python -m mgc_iac.lab.parity            # print the table
    python -m mgc_iac.lab.parity --write    # regenerate the table in mgc_iac/lab/README.md
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOUD_DIR = Path(__file__).resolve().parents[1] / "cloud"
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- parity-table:begin -->", "<!-- parity-table:end -->"
CLIENTS = {"ecs": "EcsClient", "evs": "EvsClient", "kms": "KmsClient", "smn": "SmnClient", "sms": "SmsClient",
           "vpc": "VpcClient", "bss": "BssClient", "iam": "IamClient"}


@dataclass(frozen=True)
class ClientCall:
    """One `self.call("op", Request(...))` of the client layer."""

    module: str          # mgc_iac/cloud/_sms.py
    function: str        # the client method it is in
    operation: str       # the SDK method
    request: str         # the SDK request class
    package: str         # the SDK package the request class is imported from (huaweicloudsdksms.v3)

    @property
    def service(self) -> str:
        return self.package.removeprefix("huaweicloudsdk").split(".")[0]


def client_calls(cloud_dir: Path = CLOUD_DIR) -> list[ClientCall]:
    """Every SDK operation the client modules call, read from their source (ast)."""
    found: dict[tuple[str, str], ClientCall] = {}
    for path in sorted(cloud_dir.glob("_*.py")):
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            imports = {a.asname or a.name: node.module for node in ast.walk(func)
                       if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("huaweicloudsdk")
                       for a in node.names}
            # `request = XRequest(...)` then `self.call("op", request)`: the variable's class
            built = {t.id: node.value.func.id for node in ast.walk(func) if isinstance(node, ast.Assign)
                     and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                     for t in node.targets if isinstance(t, ast.Name)}
            for node in ast.walk(func):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "call" and len(node.args) >= 2
                        and isinstance(node.args[0], ast.Constant)):
                    continue
                arg = node.args[1]
                if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name):
                    request = arg.func.id
                elif isinstance(arg, ast.Name) and arg.id in built:
                    request = built[arg.id]
                else:
                    continue
                package = imports.get(request, "")
                op = str(node.args[0].value)
                call = ClientCall(f"mgc_iac/cloud/{path.name}", func.name, op, request, package)
                found.setdefault((package, op), call)
    return sorted(found.values(), key=lambda c: (c.service, c.operation, c.package))


def http_info(call: ClientCall) -> dict[str, Any]:
    """method, resource_path and response_type of the SDK method, from the SDK client itself."""
    package = importlib.import_module(call.package)
    client = getattr(package, CLIENTS[call.service])
    request = getattr(package, call.request)()
    return getattr(client, f"_{call.operation}_http_info")(request)


# ---- capture what the SDK sent and read ---------------------------------------------------------------------

@dataclass
class Exchange:
    response_type: str
    method: str
    path: str
    request_body: Any
    status: int
    answer: Any


@contextmanager
def capture() -> Iterator[list[Exchange]]:
    """Record every exchange the SDK clients make, where the SDK deserializes the answer."""
    from urllib.parse import urlparse

    from huaweicloudsdkcore.client import Client

    seen: list[Exchange] = []
    original = Client.sync_response_handler

    def handler(self: Any, response: Any, response_type: Any, *args: Any) -> Any:
        sent = response.request.body
        try:
            body = json.loads(sent) if sent else None
        except ValueError:
            body = sent
        try:
            answer = json.loads(response.content) if response.content else None
        except ValueError:
            answer = response.content
        seen.append(Exchange(str(response_type), response.request.method, urlparse(response.request.url).path,
                             body, response.status_code, answer))
        return original(self, response, response_type, *args)

    Client.sync_response_handler = handler  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Client.sync_response_handler = original  # type: ignore[method-assign]


def scenario(cloud: Any, lab: Any) -> None:
    """Drive every client method once against a lab seeded with stacks/demo/lab-seed.yaml."""
    from mgc_iac.cloud import (
        ConsistencyResult,
        PriceQuery,
        Progress,
        ServerRequest,
        SourceFacts,
        SpeedLimit,
        TaskRequest,
        VolumeRequest,
        partitioned_disk,
    )

    vpc = cloud.vpc.find_vpc("vpc-shop")
    cloud.vpc.find_vpc(vpc.id)
    subnet = cloud.vpc.find_subnet("subnet-shop", vpc.id)
    cloud.vpc.find_subnet(subnet.id)
    group = cloud.vpc.find_security_group("sg-shop")
    cloud.vpc.security_group_rules(group.id)
    key = cloud.kms.describe_key("shop-disk-key")
    topic = cloud.smn.list_topics()[0]
    cloud.smn.show_topic(topic.urn)
    cloud.smn.publish(topic.urn, "parity", "a message")
    server_id = cloud.ecs.create_server(ServerRequest(
        name="parity-01", image_id="lab-image-linux", flavor="s6.large.2", vpc_id=vpc.id, subnet_id=subnet.id,
        root_volume=VolumeRequest(40, kms_key_id=key.key_id), data_volumes=(VolumeRequest(20),),
        security_group_ids=(group.id,), eip_bandwidth_mbps=10, tags={"owner": "parity"}), client_token="parity-01")
    server = cloud.ecs.show_server(server_id)
    cloud.ecs.find_servers(name="parity-01")
    cloud.ecs.add_tags(server_id, {"wave": "1"})
    cloud.ecs.delete_tags(server_id, {"wave": "1"})
    cloud.ecs.stop(server_id)
    cloud.ecs.start(server_id)
    cloud.ecs.resize(server_id, "s6.xlarge.2")
    for volume in server.volume_ids:
        cloud.evs.show_volume(volume)
    cloud.evs.list_volumes()
    assert cloud.iam.agency("EVSAccessKMS", cloud.settings.project_id) is not None
    from dataclasses import replace

    from mgc_iac.cloud import Cloud

    # without a configured account id the client asks IAM for it (KeystoneListAuthDomains)
    assert Cloud(replace(cloud.settings, domain_id="")).iam.domain_id() == cloud.settings.domain_id
    gib = 1024 ** 3
    facts = SourceFacts(name="parity-src", ip="192.168.1.50", os_type="LINUX", macs=("fa:16:3e:00:00:50",),
                        cpu_quantity=2, memory_bytes=4 * gib,
                        disks=(partitioned_disk("/dev/vda", 40 * gib, 8 * gib, boot=True),
                               partitioned_disk("/dev/vdb", 20 * gib, 1 * gib)))
    source_id = cloud.sms.register_source(facts)
    cloud.sms.list_sources(name="parity-src")
    source = cloud.sms.show_source(source_id)
    cloud.sms.update_source(source_id, name="parity-src")
    by_boot = sorted(server.volumes, key=lambda v: not v.boot)       # bootIndex "0" first, then the others
    disks = tuple({"name": d.name, "size": d.size_bytes, "used_size": d.used_bytes, "device_use": d.device_use,
                   "disk_id": v.id, "physical_volumes": [dict(p) for p in d.physical_volumes]}
                  for d, v in zip(source.target_plan, by_boot, strict=False))
    task_id = cloud.sms.create_task(TaskRequest(
        name="parity-task", source_id=source_id, target_server_id=server_id, target_name="parity-01",
        os_type="LINUX", region=cloud.settings.region, project_id=cloud.settings.project_id,
        migration_ip=(server.public_ips or server.private_ips)[0], target_disks=disks,
        volume_groups=source.volume_groups))
    cloud.sms.update_task(task_id, speed_limit_mbps=100)
    cloud.sms.set_speed_limit(task_id, [SpeedLimit("00:00", "23:59", 100)])
    cloud.sms.speed_limits(task_id)
    cloud.sms.set_configuration(task_id, {"DYNAMIC_PORT": "22"})
    cloud.sms.configuration(task_id)
    cloud.sms.list_tasks(name="parity-task")
    cloud.sms.task_action(task_id, "start")
    command = cloud.sms.show_command(source_id)
    cloud.sms.report_progress(task_id, Progress("MIGRATE_LINUX_FILE", 50, 4 * gib, 9 * gib, 100.0))
    cloud.sms.show_task(task_id)
    cloud.sms.report_consistency_result(task_id, [ConsistencyResult("/", 10, 1, 1, 1)])
    cloud.sms.report_progress(task_id, Progress("MIGRATE_LINUX_FILE", 100, 9 * gib, 9 * gib, 100.0))
    cloud.sms.report_command_result(source_id, command.name or "START", True)
    cloud.sms.consistency_result(task_id)
    cloud.sms.delete_task(task_id)
    cloud.sms.delete_source(source_id)
    cloud.ecs.delete_server(server_id)
    region = cloud.settings.region
    cloud.bss.on_demand_prices([PriceQuery("vm", region, "s6.large.2.linux"), PriceQuery("volume", region, "SSD", 40),
                                PriceQuery("bandwidth", region, "19_bgp", 100)], 730)


# ---- the check ------------------------------------------------------------------------------------------------

@dataclass
class Row:
    operation: str
    service: str
    method: str
    path: str
    routed: bool = False
    served: bool = False
    returned: int = 0
    declared: int = 0
    problems: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    documented: str = ""

    @property
    def ok(self) -> bool:
        return self.routed and self.served and not self.problems


def _route_names(calls: list[tuple[ClientCall, dict[str, Any]]]) -> dict[tuple[str, str], str]:
    """(method, SDK path) -> the name of the lab route serving it."""
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from mgc_iac.lab import control
    from mgc_iac.lab.services import bss, ecs, evs, iam, kms, smn, sms, vpc

    app = web.Application()
    for module in (control, ecs, evs, iam, kms, smn, sms, vpc, bss):
        app.router.add_routes(module.routes)

    async def resolve() -> dict[tuple[str, str], str]:
        names: dict[tuple[str, str], str] = {}
        for _, info in calls:
            path = info["resource_path"]
            concrete = path.replace("{project_id}", "p").replace("{", "x").replace("}", "")
            match = await app.router.resolve(make_mocked_request(info["method"], concrete))
            names[(info["method"], path)] = match.route.name or "" if match.http_exception is None else ""
        return names

    return asyncio.run(resolve())


def check(documented: dict[str, str] | None = None) -> list[Row]:
    """Run the scenario against a fresh lab and compare every client operation with the SDK."""
    from mgc_iac.cloud import Cloud, coverage, declared, problems
    from mgc_iac.lab.contract import SHARED_ROUTES
    from mgc_iac.lab.parity_allowlist import ALLOWED
    from mgc_iac.lab.testing import running_lab

    calls = [(c, http_info(c)) for c in client_calls()]
    routes = _route_names(calls)
    with tempfile.TemporaryDirectory() as tmp, running_lab(Path(tmp) / "lab", transition_seconds=0) as lab, \
            capture() as seen:
        scenario(Cloud(lab.settings), lab)
    rows = []
    for call, info in calls:
        row = Row(call.operation, call.service, info["method"], info["resource_path"])
        route = routes.get((info["method"], info["resource_path"]), "")
        row.routed = route == f"{call.service}.{call.operation}" or call.operation in SHARED_ROUTES.get(route, ())
        package = importlib.import_module(call.package + ".model")
        mine = [x for x in seen if x.response_type == info["response_type"] and x.method == info["method"]
                and _same_path(x.path, info["resource_path"])]
        row.served = bool(mine) and all(200 <= x.status < 300 for x in mine)
        if not mine:
            row.problems.append("not exercised by the scenario")
        met: dict[str, set[str]] = {}
        for x in mine:
            if 200 <= x.status < 300:
                coverage(x.answer, info["response_type"], package, met)
                found = problems(x.answer if x.answer is not None else {}, info["response_type"], package)
            else:
                found = [f"HTTP {x.status}: {x.answer}"]
            for problem in found:
                reason = ALLOWED.get((call.operation, problem.split(":")[0]))
                (row.allowed if reason else row.problems).append(problem)
        body_type = getattr(package, call.request).openapi_types.get("body")
        for x in mine:
            if body_type and isinstance(x.request_body, dict):
                row.problems += [f"request {p}" for p in problems(x.request_body, body_type, package)]
        # over every model met in the answers, nested ones too: declared fields returned / declared fields
        row.returned = sum(len(keys) for keys in met.values())
        row.declared = sum(len(declared(package, model)) for model in met) or len(
            declared(package, info["response_type"]))
        row.problems = sorted(set(row.problems))
        row.allowed = sorted(set(row.allowed))
        row.documented = (documented or {}).get(f"{call.service}.{call.operation}", "")
        rows.append(row)
    return rows


def _same_path(actual: str, template: str) -> bool:
    a, t = actual.rstrip("/").split("/"), template.rstrip("/").split("/")
    return len(a) == len(t) and all(p == q or q.startswith("{") for p, q in zip(a, t, strict=True))


def totals(rows: list[Row]) -> dict[str, int]:
    return {"operations": len(rows), "routed": sum(r.routed for r in rows), "served": sum(r.served for r in rows),
            "answers_in_model": sum(r.served and not r.problems for r in rows),
            "differences": sum(len(r.problems) for r in rows), "allowlisted": sum(len(r.allowed) for r in rows),
            "documented": sum(bool(r.documented) for r in rows)}


def table(rows: list[Row]) -> str:
    lines = ["| operation | HTTP | routed | served | fields returned/declared (all models in the answer) | differences "
             "| documented example |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        diff = "; ".join(r.problems) or ("allowlisted: " + "; ".join(r.allowed) if r.allowed else "none")
        lines.append(f"| {r.service}.{r.operation} | {r.method} {r.path} | {'yes' if r.routed else 'NO'} | "
                     f"{'yes' if r.served else 'NO'} | {r.returned}/{r.declared} | {diff.replace('|', '/')} | "
                     f"{r.documented or 'no'} |")
    t = totals(rows)
    lines.append("")
    lines.append(f"Totals: {t['operations']} operations called by the client; {t['routed']} routed, {t['served']} "
                 f"served, {t['answers_in_model']} with every answer inside the SDK model; {t['differences']} "
                 f"differences left, {t['allowlisted']} allowlisted; {t['documented']} checked against a documented "
                 "example.")
    return "\n".join(lines)


def documented_examples() -> dict[str, str]:
    """Operations whose parser is proven on a documented answer (tests/parity/test_documented_answers.py)."""
    from mgc_iac.lab.parity_allowlist import DOCUMENTED

    return dict(DOCUMENTED)


def render_readme(text: str, generated: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{generated}\n{END}{tail}"


def main(argv: list[str] | None = None, out: Callable[[str], Any] = print) -> int:
    args = sys.argv[1:] if argv is None else argv
    generated = table(check(documented_examples()))
    if "--write" in args:
        README.write_text(render_readme(README.read_text(), generated))
    else:
        out(generated)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
