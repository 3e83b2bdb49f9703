"""Applies sharing a PostgreSQL state share what their rate limiters learn (issue 20, point 2).

Huawei's API gateway throttles per account (429 APIGW.0308), so two applies of different stacks on one account
draw on one budget; each learning it alone from its own 429s costs both. Once a second (never per call) this
apply's limiters publish, per endpoint and API, the rate they learnt, whether the API was called lately and how
long a Retry-After still holds it; then they read what the other live applies published:

- a Retry-After another apply got holds that API here too, until the time it said;
- each apply calling an API takes an equal share of the budget learnt for it: budget / N, N the applies calling
  it now, this one included. Each apply says what it thinks the budget is (its learnt rate times the N it took
  its share among); the mean word of those calling it counts (when none of them learnt a rate, the highest word
  of an idle apply). So a second apply starts at half of what the first learnt instead of learning it from its
  own 429s, the first halves its rate at once, and when one ends the others take its part back.
- another apply's new 429 on an API this one calls too cuts this one's rate as its own 429 would (the budget
  is one: the sum of their rates is over it); a cut made on a peer's word is never passed on (only 429s
  received count), so no cut echoes between applies;
- the share is taken when N changes (an apply starts or stops calling the API) and by an apply that learnt no
  rate yet; in between each apply's own AIMD moves its rate (independent AIMD flows on one bottleneck settle at
  equal shares by themselves; resetting them every second to a consensus undid the cuts each made on its own
  evidence and cost more 429s in bench/shared_limits.py).

The store behind it is a `LimiterPeer` (PostgreSQL: mgc_iac/state/pg_limits.py; SQLite has none: one apply at a
time). A peer that fails is logged and the apply goes on with its own limiter: sharing is an optimisation, never
a reason to stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from mgc_iac.cloud._throttle import EndpointLimiter, limiter_for, limiters

log = logging.getLogger(__name__)

SYNC_SECONDS = 1.0      # how often an apply publishes and reads (one write and one read per second, not per call)
ACTIVE_SECONDS = 30.0   # an API called within this long counts this apply among those sharing its budget (longer
                        # than the fleet reader's 10 s cadence: N must not flap between two reads)


@dataclass(frozen=True)
class Share:
    """What one apply says about one API of one endpoint. Nothing secret: the endpoint is the service and the
    host (the limiter's key, e.g. "sms https://sms.ap-southeast-1.myhuaweicloud.com"), the API its operation."""

    endpoint: str
    api: str                  # e.g. "sms.ListTasks"
    rate: float | None        # the rate this apply learnt for it (requests/s); None: none learnt
    active: bool              # called within ACTIVE_SECONDS
    hold_seconds: float       # how long a Retry-After this apply got still holds it (0: none)
    applies: int = 1          # how many applies it took its rate as a share among (1: it had the whole budget)
    throttled: int = 0        # the 429s it got for this API so far
    apply: str = ""           # which apply said it (observe fills it in; an opaque random id)

    @property
    def budget(self) -> float | None:
        """What this apply thinks the API takes from all the applies together (requests/s)."""
        return None if self.rate is None else self.rate * self.applies


class LimiterPeer(Protocol):
    """Where the applies sharing a state meet. Neither method raises for a lost connection: it logs and returns
    (observe: nothing seen)."""

    def publish(self, shares: Sequence[Share]) -> None:
        """Replace what this apply said before with `shares` (and refresh its heartbeat)."""

    def observe(self) -> Sequence[Share] | None:
        """What the OTHER live applies said (rows whose heartbeat expired are not seen); None: could not read."""

    def close(self) -> None:
        """Withdraw this apply's rows (it ends) and let go of the connection."""


def split(mine: Share | None, others: Iterable[Share]) -> tuple[float | None, float, int]:
    """This apply's share of one API's budget (None: nothing learnt to share), how long another apply's
    Retry-After holds it (0: not held) and among how many applies it is shared, from what it and the others
    said."""
    others = list(others)
    hold = max((s.hold_seconds for s in others), default=0.0)
    calling = [s for s in others if s.active]
    applies = 1 + len(calling)
    words = [b for s in (*calling, *([mine] if mine is not None else [])) if (b := s.budget) is not None]
    if not words:   # nobody calling it learnt a rate: an idle apply's word, if any
        words = [max((b for s in others if (b := s.budget) is not None), default=0.0)]
    budget = sum(words) / len(words)   # the mean: one apply's deep cut (a burst's few answers) does not pin all
    return (budget / applies if budget > 0 else None), hold, applies


class LimitSync:
    """Publishes this process's limiters through `peer` and applies what the others said, every SYNC_SECONDS on
    a daemon thread (or by `sync()` in tests). `clock` tells when an API was last called (monotonic seconds);
    `source` lists this apply's limiters and `make(service, url)` gives the one of an endpoint another apply
    learnt about before this one called it (default: the process's registry)."""

    def __init__(self, peer: LimiterPeer, *, clock: Callable[[], float] = time.monotonic,
                 source: Callable[[], list[EndpointLimiter]] = limiters,
                 make: Callable[[str, str], EndpointLimiter] = limiter_for) -> None:
        self._peer, self._clock, self._source, self._make = peer, clock, source, make
        self._last_sent: dict[tuple[str, str], tuple[int, float]] = {}   # (endpoint, api) -> (sent, when it moved)
        self._applies: dict[tuple[str, str], int] = {}   # (endpoint, api) -> the N of its last share
        self._their_429s: dict[tuple[str, str, str], int] = {}   # (apply, endpoint, api) -> its 429s last seen
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def mine(self) -> list[tuple[EndpointLimiter, Share]]:
        now = self._clock()
        out = []
        for limiter in self._source():
            for api, (sent, rate, hold, throttled) in limiter.shared().items():
                key = (limiter.key, api)
                before = self._last_sent.get(key)
                if before is None or before[0] != sent:
                    before = self._last_sent[key] = (sent, now if sent else float("-inf"))
                active = now - before[1] <= ACTIVE_SECONDS
                if active or rate is not None or hold > 0:
                    out.append((limiter, Share(limiter.key, api, rate, active, hold, self._applies.get(key, 1),
                                               throttled)))
        return out

    def sync(self) -> None:
        """Publish, read, apply: once. Never raises (a failing peer is logged once; the apply goes on)."""
        try:
            published = self.mine()
            self._peer.publish([share for _, share in published])
            others = self._peer.observe()
            if others is None:   # not seen this time (the peer logged why): keep the shares as they are
                return
            by_key: dict[tuple[str, str], list[Share]] = {}
            mine = {(s.endpoint, s.api): s for _, s in published}
            refused: set[tuple[str, str]] = set()   # APIs this apply calls that another calling one got a 429 for
            for share in others:
                key = (share.endpoint, share.api)
                by_key.setdefault(key, []).append(share)
                before = self._their_429s.get((share.apply, *key))
                self._their_429s[(share.apply, *key)] = share.throttled
                own = mine.get(key)
                if before is not None and share.throttled > before and share.active and own is not None and own.active:
                    refused.add(key)
            local = {limiter.key: limiter for limiter in self._source()}
            for key in {*by_key, *(k for k in mine if self._applies.get(k, 1) > 1)}:   # and those others left
                endpoint, api = key
                rate, hold, applies = split(mine.get(key), by_key.get(key, ()))
                resized = applies != self._applies.get(key, 1)   # one started or ended: take the new share
                self._applies[key] = applies if rate is not None else 1
                if rate is None and hold <= 0 and key not in refused:
                    continue
                limiter = local.get(endpoint)
                if limiter is None:   # not called here yet: its first burst starts at the share
                    service, _, url = endpoint.partition(" ")
                    if not url.startswith(("https://", "http://")):
                        continue
                    limiter = local[endpoint] = self._make(service, url)
                limiter.share(api, rate, hold, resize=resized, cut=key in refused)
            if self._failing:
                log.warning("the rate limit is shared with the other applies on this state again")
            self._failing = False
        except Exception as exc:  # sharing is an optimisation: nothing here may stop the apply
            if not self._failing:
                log.warning("the rate limit is not shared with other applies for now (%s); this apply goes on "
                            "with its own", type(exc).__name__)
            self._failing = True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mgc-iac-limit-sync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SYNC_SECONDS):
            self.sync()

    def stop(self) -> None:
        """End the syncing and withdraw this apply's rows (never waits long: Ctrl-C must end the apply at once)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
            if self._thread.is_alive():   # a sync stuck on the network: its rows expire with the heartbeat
                return
        try:
            self._peer.close()
        except Exception:  # the apply's outcome never depends on withdrawing the rows (they expire anyway)
            log.debug("closing the limiter peer failed", exc_info=True)


@contextmanager
def sharing_limits(peer: LimiterPeer | None) -> Iterator[LimitSync | None]:
    """While in the block, this process's rate limits are shared through `peer` (None: not shared)."""
    if peer is None:
        yield None
        return
    sync = LimitSync(peer)
    sync.sync()   # at once: a starting apply takes its share before its first burst
    sync.start()
    try:
        yield sync
    finally:
        sync.stop()
