"""The plan's cost: ask Huawei's BSS the on-demand price of what a plan creates and deletes, once per plan run.

Where the prices come from:
- a huaweicloud stack: BSS (ListOnDemandResourceRatings, the SDK's BssClient) with the credentials of the
  environment; without credentials (a fork's pull request) the plan says "price unknown" and goes on;
- a lab stack: the running lab's BSS through the same SDK client; with no lab running (an offline plan), the
  price list of the stack's lab-seed.yaml, rated by the same code the lab serves it with (mgc_iac.lab.prices).

A price is information, never a reason to fail or hold up a plan: the inquiry runs under one deadline
(PRICE_TIMEOUT_SECONDS, short enough for a pull-request job), with short HTTP timeouts and one retry; whatever
goes wrong makes the cost "unknown" with the reason. Each distinct product (flavor, disk type and size, bandwidth)
is asked once, in inquiries of up to 100 products: 10,000 alike servers cost a handful of lookups.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from mgc_iac.plan import HOURS_PER_MONTH, Cost, Plan, PriceKey, price_keys, priced, server_costs, unknown

PRICE_TIMEOUT_SECONDS = 10.0      # the whole inquiry; the plan goes on without prices after it
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 5.0
LAB_SEED = "lab-seed.yaml"


def price_plan(plan: Plan, stack_dir: Path | None, *, cloud: Any = None,
               timeout: float = PRICE_TIMEOUT_SECONDS) -> Plan:
    """The plan with its `cost`. `cloud` (a mgc_iac.cloud.Cloud) overrides where BSS is asked."""
    from mgc_iac._gc import gc_paused

    with gc_paused():  # a big plan is millions of objects: no collection walks them while imports and costs run
        servers = server_costs(plan)
        keys = price_keys(servers)
        if not keys:
            return replace(plan, cost=priced(servers, {}, currency=None, source="nothing to price"))
        return replace(plan, cost=_cost(plan.spec, stack_dir, servers, keys, cloud, timeout))


def _cost(spec: dict[str, Any], stack_dir: Path | None, servers: list, keys: list[PriceKey], cloud: Any,
          timeout: float) -> Cost:
    provider = (spec.get("cloud") or {}).get("provider", "lab")
    if cloud is None and provider == "lab":
        cloud = _running_lab_cloud()
        if cloud is None:
            return _from_seed(stack_dir, servers, keys)
    if cloud is None:
        from mgc_iac.errors import ConfigError

        try:
            cloud = _huaweicloud(spec)
        except ConfigError as exc:
            return unknown(servers, "BSS price inquiry", f"no price inquiry: {exc}")
    source = f"BSS price inquiry at {cloud.settings.endpoint('bss')}"
    outcome: dict[str, Any] = {}

    def ask() -> None:
        try:
            from mgc_iac.cloud import PriceQuery

            queries = {k: PriceQuery(k.resource, k.region, k.spec, k.size) for k in keys}
            quote = cloud.bss.on_demand_prices(list(queries.values()), HOURS_PER_MONTH,
                                               deadline=time.monotonic() + timeout)
            outcome["quote"] = (quote, queries)
        except Exception as exc:  # noqa: BLE001 - a price is information: any failure leaves it unknown
            outcome["error"] = exc

    worker = threading.Thread(target=ask, name="mgc-iac-prices", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return unknown(servers, source, f"BSS did not answer within {timeout:g} s")
    if "error" in outcome:
        return unknown(servers, source, _why(outcome["error"]))
    quote, queries = outcome["quote"]
    amounts = {k: quote.amounts[q] for k, q in queries.items() if q in quote.amounts}
    reasons = sorted({f"{q.spec}: {why}" for q, why in quote.unknown.items()})
    return priced(servers, amounts, currency=quote.currency, source=source,
                  reason="; ".join(reasons) if reasons else None)


def _running_lab_cloud() -> Any:
    """A Cloud on the lab running from $MGC_IAC_LAB_DIR, or None: a plain plan never starts one."""
    from mgc_iac.cloud import default_lab_dir, running_lab

    lab_dir = default_lab_dir()
    if running_lab(lab_dir) is None:  # no lab runs there: the lab's machinery is not even imported
        return None
    from mgc_iac.lab import running

    if running(lab_dir) is None:  # lab.json of a lab that is gone
        return None
    from mgc_iac.cloud import Cloud, settings_for

    return Cloud(_quick(settings_for({"provider": "lab", "lab_dir": str(lab_dir)})))


def _huaweicloud(spec: dict[str, Any]) -> Any:
    from mgc_iac.cloud import Cloud, CloudSettings

    cloud_spec = spec.get("cloud") or {}
    settings = replace(CloudSettings.from_env(), region=cloud_spec.get("region") or "cn-north-4")
    if cloud_spec.get("endpoints"):
        settings = replace(settings, endpoints={**settings.endpoints, **cloud_spec["endpoints"]})
    return Cloud(_quick(settings))


def _quick(settings: Any) -> Any:
    """Short timeouts and one retry: a price is not worth a long wait."""
    from mgc_iac.cloud import RetryPolicy

    return replace(settings, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                   retry=RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0))


def _from_seed(stack_dir: Path | None, servers: list, keys: list[PriceKey]) -> Cost:
    """An offline plan of a lab stack: the seed's price list, rated as the lab's BSS rates it."""
    from mgc_iac.errors import ConfigError
    from mgc_iac.lab import PriceError, load_seed, rate_product

    path = stack_dir / LAB_SEED if stack_dir is not None else None
    if path is None or not path.is_file():
        return unknown(servers, "the lab", f"no lab is running and the stack has no {LAB_SEED} with prices")
    try:
        seed = load_seed(path)
    except ConfigError as exc:
        return unknown(servers, f"lab seed {path.name}", str(exc))
    if not seed.prices:
        return unknown(servers, f"lab seed {path.name}", f"{path.name} has no cloud.prices")
    amounts: dict[PriceKey, Decimal] = {}
    reasons = []
    for key in keys:
        try:
            amounts[key] = rate_product(seed.prices, seed.region, _product_info(key))
        except PriceError as exc:
            reasons.append(f"{key.spec}: {exc} ({exc.code})")
    return priced(servers, amounts, currency=str(seed.prices.get("currency") or "CNY"),
                  source=f"lab seed {path.name} (no lab running)", reason="; ".join(reasons) or None)


def _product_info(key: PriceKey) -> dict[str, Any]:
    """The DemandProductInfo the BSS client would send for `key` (one code path for the request's shape)."""
    from mgc_iac.cloud import PriceQuery

    return PriceQuery(key.resource, key.region, key.spec, key.size).product_info("p0", HOURS_PER_MONTH)


def _why(exc: BaseException) -> str:
    from mgc_iac.errors import CloudError

    if isinstance(exc, CloudError):
        return f"BSS did not answer: {exc.message}" + (f" ({exc.code})" if exc.code else "")
    return f"the price inquiry failed ({type(exc).__name__})"
