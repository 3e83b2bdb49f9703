"""One client-side rate limiter per cloud endpoint, shared by every worker thread of the process (one apply).

Huawei's API gateway throttles per account and per service: HTTP 429 with APIGW.0308, "The throttling threshold
has been reached: policy user over ratelimit,limit:XX,time:1 second"; Huawei's advice is to wait 2 to 5 seconds
and send again (Huawei Cloud FAQ "How Do I Handle the Error APIG.0308?"; Huawei's Terraform provider retries
429s with growing waits, terraform-provider-huaweicloud PR #1351). So:

- every call takes a token first; each API (operation) of the endpoint starts without a limit and, on its
  first 429, settles just under the rate that API was answered at; each later 429 cuts the API's own rate
  (x0.85, never below half of it in one cut: a bursty API answered little in the last second is not cut to a
  few calls a second), once a second at most, and the rate grows back by 10% a second while callers queue for
  it and it is not refused (additive increase, multiplicative decrease; an API used below its limit keeps
  it). APIGW's user limit binds to an API (CreateRequestThrottlingPolicyV2: user_call_limits, see
  lab/gateway.py), so one throttled API never slows the endpoint's others; where a budget is shared, every API
  drawing on it is refused and cut.
  `cloud.max_requests_per_second` in the stack caps the whole endpoint;
- callers waiting for an API's token queue in arrival order: only the first sleeps, until the token is there
  at the rate of that moment (no turn is booked ahead: a rate that grows back shortens every wait behind it),
  then wakes the next; a caller that queues lends its step's parallelism slot meanwhile (CallScope.idle), so
  steps needing other APIs go on;
- a 429's Retry-After (when the gateway sends one) pauses that API until then; without one, the throttled
  call waits an exponential, jittered backoff counted from its own 429s;
- while an endpoint pushes back, its Pressure (what, next try, how many servers wait on it) goes to the
  observers: the apply shows "SMS throttled (429); next try in 8 s; 3 servers waiting on it".
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlparse

from mgc_iac.cloud._scope import CallScope

Observer = Callable[["Pressure | None", str], None]   # (pressure or None when it ends, service key)

MAX_RATE = 5000.0          # above this the limiter lifts its limit again
MIN_RATE = 1.0             # no cut goes below one call a second
CUT = 0.85                 # a 429 cuts an API's rate to this share (of what it was answered at, or of its rate)
GROWTH = 0.10              # share of its rate an API's limit grows by each second it is not refused
LEND_AFTER = 0.25          # a wait longer than this (s) lends the step's parallelism slot back meanwhile
CHECK_SECONDS = 1.0        # how often a queued caller looks at its cancel flag
PER_SECOND_KEPT = 3600     # seconds of per-API call counts kept for stats() (the benches run for minutes)


@dataclass(frozen=True)
class Pressure:
    """An endpoint pushing back, as the person sees it."""

    service: str
    endpoint: str
    kind: str                  # throttled | unavailable | lost
    status: int | None
    code: str
    next_try_at: float         # time.monotonic() of the next attempt
    waiting: int               # servers waiting on it
    since: float               # time.monotonic() of the first failure of this episode
    rate: float | None         # the client-side limit now (requests/s), None = none

    def text(self, now: float | None = None) -> str:
        left = max(0, round(self.next_try_at - (time.monotonic() if now is None else now)))
        what = {"throttled": f"throttled ({self.status or 429}{', ' + self.code if self.code else ''})",
                "unavailable": f"unavailable (HTTP {self.status}{', ' + self.code if self.code else ''})",
                "lost": "not answering (connection lost)"}.get(self.kind, self.kind)
        servers = f"{self.waiting} server{'s' if self.waiting != 1 else ''} waiting on it"
        return f"{self.service.upper()} {what}; next try in {left} s; {servers}"


def backoff(failures: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds before retry number `failures` (1 = the first): doubling from `base`, capped, jittered 50-100%."""
    top = min(cap, base * (2 ** max(0, failures - 1)))
    return rng.uniform(top / 2, top)


class _Bucket:
    """A token bucket whose rate is learnt from 429s (or fixed by the stack's cap); guarded by its limiter's lock."""

    def __init__(self, rate: float | None, cap: float | None, now: float) -> None:
        self.rate, self.cap = rate, cap
        self.tokens = 1.0
        self.stamp = now
        self.last_cut = float("-inf")
        self.paused_until = float("-inf")            # a Retry-After of this API
        self.ok: deque[float] = deque(maxlen=4096)   # answers in the last second (what the API takes)

    def refill(self, now: float, adaptive: bool, queued: bool = False) -> None:
        dt, self.stamp = max(0.0, now - self.stamp), now
        if self.rate is None:
            return
        if adaptive and queued and now - self.last_cut > 1.0:
            # additive increase while the API takes what it gets and callers queue for it: a limit that grew
            # while the API was used below it came back as a burst far over the gateway's limit (1,900 429s)
            self.rate += max(MIN_RATE, GROWTH * self.rate) * dt
            if self.cap is not None:
                self.rate = min(self.rate, self.cap)
            elif self.rate > MAX_RATE:
                self.rate = None
                return
        self.tokens = min(max(1.0, self.rate * 0.2), self.tokens + dt * self.rate)

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: take it now)."""
        paused = self.paused_until - now
        if paused > 0:
            return paused
        # within a nanotoken is whole: a refill after exactly the wait may land a rounding error short
        return 0.0 if self.rate is None or self.tokens >= 1.0 - 1e-9 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        if self.rate is not None:
            self.tokens -= 1.0

    def cut(self, now: float) -> None:
        """Multiplicative decrease, once per second (the answers of calls in flight arrive together): the first
        from what the API was answered at in the last second, the next from the rate itself, at most halving it
        (a bursty API answers little in any one second; cutting to that count starved it for tens of seconds)."""
        if now - self.last_cut < 1.0:
            return
        self.last_cut = now
        while self.ok and self.ok[0] < now - 1.0:
            self.ok.popleft()
        answered = float(len(self.ok))
        # first 429: what it was answered at; later ones: its rate, cut at most to half by a quiet second
        base = (answered or 2.0) if self.rate is None else min(self.rate, max(answered, self.rate / 2))
        self.rate = max(MIN_RATE, CUT * base)
        if self.cap is not None:
            self.rate = min(self.rate, self.cap)
        self.tokens = min(self.tokens, 1.0)


class _Ticket:
    """A caller queued for an API's token."""

    __slots__ = ("event", "weight")

    def __init__(self, weight: int) -> None:
        self.event = threading.Event()
        self.weight = weight


class EndpointLimiter:
    """Tokens and pushback for one service endpoint: the stack's cap for the whole endpoint, a rate learnt from
    429s and a Retry-After pause per API (`what`, e.g. "sms.ListTasks"), callers queued per API; thread-safe."""

    def __init__(self, service: str, endpoint: str, rate: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        self.service, self.endpoint = service, endpoint
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._cap = _Bucket(rate, rate, clock())       # the stack's limit for the whole endpoint (fixed)
        self._apis: dict[str, _Bucket] = {}            # what -> the rate learnt for that API
        self._queues: dict[str, deque[_Ticket]] = {}   # what -> callers waiting for its token, first first
        self._recent: deque[tuple[float, str]] = deque(maxlen=8192)   # (time, what) of the latest answers
        self._waiting: dict[int, int] = {}            # id(waiter) -> servers it stands for
        self._pressure: Pressure | None = None
        self.throttled_total = 0                      # 429s seen by this process (for benches and tests)
        self.sent_total = 0
        self._start = clock()
        self._stats: dict[str, dict[str, float]] = {}          # what -> counters (see stats())
        self._per_second: dict[str, dict[int, int]] = {}       # what -> second since start -> calls sent
        self._pauses: list[float] = []                         # lengths of the Retry-After pauses (one API each)
        self._retry_after: dict[str, float] = {}   # what -> until when its latest Retry-After said (to share)
        self._holds: dict[str, float] = {}         # what -> until when another apply's Retry-After holds it

    def _count(self, what: str, key: str, amount: float = 1.0) -> None:
        """Add to one of `what`'s counters (caller holds the lock)."""
        counters = self._stats.setdefault(what, {"sent": 0.0, "throttled": 0.0, "token_s": 0.0, "paused_s": 0.0,
                                                 "backoff_s": 0.0})
        counters[key] += amount

    def stats(self) -> dict[str, object]:
        """What this limiter did, for benches: per API `sent`, `throttled` (429s), seconds callers waited for a
        token (`token_s`), for a Retry-After pause (`paused_s`) and after a failed call (`backoff_s`), calls sent
        per second (`per_second`: peak and the seconds at or above the learnt rate are read from it), the rate
        learnt; and the Retry-After pauses (`pauses`: their lengths in seconds, each of one API)."""
        with self._lock:
            apis = {what: {**counters, "rate": self._apis[what].rate if what in self._apis else None,
                           "per_second": dict(self._per_second.get(what, {}))}
                    for what, counters in self._stats.items()}
            return {"apis": apis, "pauses": list(self._pauses)}

    # ---- sending -----------------------------------------------------------------------------------------

    def acquire(self, scope: CallScope | None, what: str) -> None:
        """Return when a call of API `what` may be sent: after the callers queued before it, once its API is not
        paused and a token is there. A caller that has to queue lends its step's slot meanwhile."""
        ticket: _Ticket | None = None
        queue: deque[_Ticket] | None = None
        lending = False
        with ExitStack() as lent:
            try:
                while True:
                    with self._lock:
                        now = self._clock()
                        queue = self._queues.setdefault(what, deque())
                        if ticket is None and queue:          # others wait for this API: behind them
                            ticket = _Ticket(scope.weight() if scope is not None else 1)
                            queue.append(ticket)
                        first = ticket is None or queue[0] is ticket
                        wait = paused = 0.0
                        if first:
                            api = self._apis.get(what)
                            self._cap.refill(now, adaptive=False)
                            held = self._holds.get(what, 0.0) - now        # another apply's Retry-After
                            paused = max(0.0, held)
                            if api is not None:
                                api.refill(now, adaptive=True, queued=bool(queue))
                                paused = max(paused, api.paused_until - now)
                            wait = max(self._cap.wait(now), api.wait(now) if api is not None else 0.0, held)
                            if wait <= 0:
                                self._send(now, what, api)
                                if ticket is not None:
                                    queue.popleft()
                                    ticket = None
                                if queue:
                                    queue[0].event.set()      # the next caller's turn to wait for a token
                                return
                            if ticket is None:                # the first to wait: it heads the queue
                                ticket = _Ticket(scope.weight() if scope is not None else 1)
                                queue.append(ticket)
                            self._count(what, "paused_s" if paused > 0 else "token_s", wait)
                    if scope is not None and not lending and (not first or wait > LEND_AFTER):
                        lent.enter_context(scope.lent())
                        lending = True
                    if first and paused > 0:
                        self._sleep(scope, wait, what)
                    elif first:
                        self._pause(scope, wait, what)
                    else:
                        started = self._clock()
                        ticket.event.wait(CHECK_SECONDS)
                        ticket.event.clear()
                        with self._lock:
                            self._count(what, "token_s", max(0.0, self._clock() - started))
                        if scope is not None and scope.cancel.is_set():
                            raise scope.interrupted(what, self.service)
            finally:
                if ticket is not None and queue is not None:  # cancelled while queued: the next one goes on
                    with self._lock:
                        was_first = bool(queue) and queue[0] is ticket
                        if ticket in queue:
                            queue.remove(ticket)
                        if was_first and queue:
                            queue[0].event.set()

    def _send(self, now: float, what: str, api: _Bucket | None) -> None:
        """Take the tokens of a call sent now (lock held)."""
        self._cap.take()
        if api is not None:
            api.take()
        self.sent_total += 1
        self._count(what, "sent")
        second = self._per_second.setdefault(what, {})
        at = int(now - self._start)
        if at not in second and len(second) >= PER_SECOND_KEPT:   # an apply may run for days: the last hour
            del second[next(iter(second))]
        second[at] = second.get(at, 0) + 1

    def _pause(self, scope: CallScope | None, seconds: float, what: str) -> None:
        if scope is not None:
            if scope.wait(seconds):
                raise scope.interrupted(what, self.service)
        else:
            time.sleep(seconds)

    @property
    def cap(self) -> float | None:
        """The stack's limit for the whole endpoint (None: none)."""
        return self._cap.cap

    def lower_cap(self, rate: float) -> None:
        with self._lock:
            if self._cap.cap is None or rate < self._cap.cap:
                self._cap.cap = self._cap.rate = rate
                for api in self._apis.values():
                    api.cap = rate if api.cap is None else min(api.cap, rate)
                    api.rate = rate if api.rate is None else min(api.rate, rate)

    @property
    def rate(self) -> float | None:
        """The tightest limit now (requests/s): the lowest rate learnt for one of its APIs, or the stack's cap."""
        with self._lock:
            rates = [b.rate for b in (self._cap, *self._apis.values()) if b.rate is not None]
        return min(rates) if rates else None

    def api_rate(self, what: str) -> float | None:
        """The rate learnt for API `what` (None: none yet)."""
        with self._lock:
            api = self._apis.get(what)
            return api.rate if api is not None else None

    def _sleep(self, scope: CallScope | None, seconds: float, what: str) -> None:
        """Wait `seconds` counted among those waiting on this endpoint."""
        key = id(scope) if scope is not None else threading.get_ident()
        with self._lock:
            self._waiting[key] = scope.weight() if scope is not None else 1
        self._publish()
        try:
            self._pause(scope, seconds, what)
        finally:
            with self._lock:
                self._waiting.pop(key, None)

    # ---- answers -------------------------------------------------------------------------------------------

    def succeeded(self, what: str = "") -> None:
        ended = False
        with self._lock:
            now = self._clock()
            api = self._apis.get(what)
            if api is not None:
                api.ok.append(now)
            self._recent.append((now, what))
            if self._pressure is not None and not self._waiting:
                self._pressure, ended = None, True
        if ended:
            _notify(None, self.key)

    def failed(self, kind: str, status: int | None, code: str, *, delay: float,
               retry_after: float | None = None, what: str = "") -> float:
        """Record a failed answer (throttled, unavailable, lost) of API `what` the caller will wait `delay` after;
        returns the wait: a 429's Retry-After (which pauses that API, not the endpoint's others), else `delay`."""
        with self._lock:
            now = self._clock()
            if kind == "throttled":
                self.throttled_total += 1
                self._count(what, "throttled")
                api = self._cut(now, what)
                if retry_after is not None:
                    delay = retry_after
                    self._retry_after[what] = max(self._retry_after.get(what, 0.0), now + retry_after)
                    if now + delay > api.paused_until:
                        self._pauses.append(now + delay - max(now, api.paused_until))
                        api.paused_until = now + delay
            wait = delay
            self._count(what, "backoff_s", wait)
            since = self._pressure.since if self._pressure is not None else now
            api = self._apis.get(what)
            self._pressure = Pressure(self.service, self.endpoint, kind, status, code, now + wait, 0, since,
                                      api.rate if api is not None else self._cap.rate)
        return wait

    # ---- what applies sharing a state learn from each other (cloud/_shared.py) ---------------------------------

    def shared(self) -> dict[str, tuple[int, float | None, float, int]]:
        """Per API: calls sent so far, the rate learnt (None: none), the seconds its last Retry-After still holds
        and the 429s it got so far."""
        with self._lock:
            now = self._clock()
            return {what: (int(self._stats.get(what, {}).get("sent", 0)),
                           self._apis[what].rate if what in self._apis else None,
                           max(0.0, self._retry_after.get(what, 0.0) - now),
                           int(self._stats.get(what, {}).get("throttled", 0)))
                    for what in {*self._stats, *self._apis, *self._retry_after}}

    def share(self, what: str, rate: float | None = None, hold_seconds: float = 0.0, *, resize: bool = False,
              cut: bool = False) -> None:
        """Take the applies sharing a state's word for API `what`: this apply's share of the rate they learnt
        together (it starts a rate where none was learnt; replaces a learnt one only when `resize`: an apply
        started or stopped calling it; AIMD goes on from there) and a Retry-After another one got (held here
        until then); `cut`: another apply calling it was just refused 429 (the budget is one): cut as for a
        429 of its own (at most once a second either way)."""
        with self._lock:
            if cut:
                self._cut(self._clock(), what)
            if rate is not None:
                rate = max(1.0, rate if self._cap.cap is None else min(rate, self._cap.cap))
                api = self._apis.get(what)
                if api is None:
                    self._apis[what] = _Bucket(rate, self._cap.cap, self._clock())
                elif api.rate is None or resize:
                    api.rate, api.tokens = rate, min(api.tokens, 1.0)
            if hold_seconds > 0:
                self._holds[what] = max(self._holds.get(what, 0.0), self._clock() + hold_seconds)

    def _cut(self, now: float, what: str) -> _Bucket:
        """Multiplicative decrease of the API's rate; its first 429 starts it at what the API was answered at."""
        api = self._apis.get(what)
        if api is None:
            api = self._apis[what] = _Bucket(None, self._cap.cap, now)
            while self._recent and self._recent[0][0] < now - 1.0:
                self._recent.popleft()
            api.ok.extend(t for t, w in self._recent if w == what)
        api.cut(now)
        return api

    def wait_after_failure(self, scope: CallScope | None, seconds: float, what: str) -> None:
        """The failed call's own wait before it tries again (counted among the waiting; the step's slot lent)."""
        with ExitStack() as lent:
            if scope is not None and seconds > LEND_AFTER:
                lent.enter_context(scope.lent())
            self._sleep(scope, seconds, what)

    # ---- what the person sees ------------------------------------------------------------------------------

    @property
    def key(self) -> str:
        return f"{self.service} {self.endpoint}"

    def pressure(self) -> Pressure | None:
        with self._lock:
            if self._pressure is None:
                return None
            waiting = sum(self._waiting.values()) + sum(t.weight for q in self._queues.values() for t in q)
            return Pressure(**{**self._pressure.__dict__, "waiting": waiting})

    def _publish(self) -> None:
        current = self.pressure()
        if current is not None:
            _notify(current, self.key)


# ---- the process's limiters and their observers -----------------------------------------------------------

_registry: dict[tuple[str, str], EndpointLimiter] = {}
_observers: list[Observer] = []
_registry_lock = threading.Lock()


def endpoint_key(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def limiter_for(service: str, url: str, rate: float | None = None) -> EndpointLimiter:
    """The limiter of `service` at `url`'s host, shared by every client of this process."""
    key = (service, endpoint_key(url))
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = _registry[key] = EndpointLimiter(service, key[1], rate)
        elif rate is not None:
            limiter.lower_cap(rate)
    return limiter


def limiters() -> list[EndpointLimiter]:
    with _registry_lock:
        return list(_registry.values())


def reset_limiters() -> None:
    """Forget every endpoint's limiter (a bench or test starting a new lab in the same process)."""
    with _registry_lock:
        _registry.clear()


def observe(observer: Observer) -> Callable[[], None]:
    """Call `observer(pressure, key)` whenever an endpoint pushes back, and `observer(None, key)` when it
    answers again; returns the function that stops it."""
    with _registry_lock:
        _observers.append(observer)

    def stop() -> None:
        with _registry_lock:
            if observer in _observers:
                _observers.remove(observer)

    return stop


def _notify(pressure: Pressure | None, key: str) -> None:
    with _registry_lock:
        observers = list(_observers)
    for observer in observers:
        observer(pressure, key)
