"""The applies on one PostgreSQL state share what their rate limiters learn: the `limiter_shares` table
(migration 4 in pg_schema.py), one apply's rows replaced once a second (mgc_iac/cloud/_shared.py's sync).

The peer has a connection of its own (never the store's: a write of the state is never queued behind it, and
its failures never touch the store's reconnect rules). Times are the server's clock (`clock_timestamp()`): a
Retry-After is stored as an until-time and read back as seconds left, so runners with skewed clocks agree. A
lost connection is logged once, then tried again every RETRY_SECONDS; meanwhile nothing is published or seen
and the apply goes on with its own limiter (issue 20 point 4's rule: a blip never fails the apply).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import psycopg

from mgc_iac.state.pg_schema import SCHEMA

if TYPE_CHECKING:
    from mgc_iac.cloud import Share

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0   # a row not refreshed for this long is no one's: not seen, and pruned
RETRY_SECONDS = 5.0       # after a lost connection, how long before connecting again


class PostgresLimiterPeer:
    """`LimiterPeer` (mgc_iac/cloud/_shared.py) over the state database at `url` (no password in it: libpq's)."""

    def __init__(self, url: str, where: str, *, heartbeat: float = HEARTBEAT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url, self.where, self.heartbeat = url, where, heartbeat
        self.apply_id = uuid.uuid4().hex            # this apply's rows (a random id: nothing about who runs it)
        self._clock = clock
        self._conn: psycopg.Connection | None = None
        self._retry_at = float("-inf")
        self._down = False

    def _connection(self) -> psycopg.Connection | None:
        if self._conn is not None and not (self._conn.closed or self._conn.broken):
            return self._conn
        if self._clock() < self._retry_at:
            return None
        self._conn = psycopg.connect(self.url, autocommit=True, application_name="mgc-iac limits",
                                     connect_timeout=5)
        self._conn.execute(f"SET search_path TO {SCHEMA}")
        self._conn.execute("SET statement_timeout TO '2s'")   # a slow server never holds the sync (or the end) up
        return self._conn

    def _failed(self, exc: psycopg.Error) -> None:
        self._retry_at = self._clock() + RETRY_SECONDS
        with contextlib.suppress(psycopg.Error):
            if self._conn is not None:
                self._conn.close()
        self._conn = None
        if not self._down:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].replace(self.url, "<state url>")
            log.warning("the rate limit is not shared with the other applies on %s for now (%s); this apply goes "
                        "on with its own", self.where, first)
        self._down = True

    def _back(self) -> None:
        if self._down:
            log.warning("the rate limit is shared with the other applies on %s again", self.where)
        self._down = False

    def publish(self, shares: Sequence[Share]) -> None:
        try:
            conn = self._connection()
            if conn is None:
                return
            cur = psycopg.ClientCursor(conn)
            parts = ["BEGIN", cur.mogrify("DELETE FROM limiter_shares WHERE apply_id = %s", (self.apply_id,))]
            parts += [cur.mogrify("INSERT INTO limiter_shares (apply_id, endpoint, api, rate, applies, active, "
                                  "hold_until, seen_at, throttled) VALUES (%s, %s, %s, %s, %s, %s, CASE WHEN %s > 0 "
                                  "THEN clock_timestamp() + make_interval(secs => %s) END, clock_timestamp(), %s)",
                                  (self.apply_id, s.endpoint, s.api, s.rate, s.applies, s.active, s.hold_seconds,
                                   s.hold_seconds, s.throttled)) for s in shares]
            parts += [cur.mogrify("DELETE FROM limiter_shares WHERE seen_at < clock_timestamp() - "
                                  "make_interval(secs => %s)", (self.heartbeat,)), "COMMIT"]
            cur.execute(";\n".join(parts))   # one round trip, one transaction
            self._back()
        except psycopg.Error as exc:
            self._failed(exc)

    def observe(self) -> list[Share] | None:
        from mgc_iac.cloud import Share

        try:
            conn = self._connection()
            if conn is None:
                return None
            rows = conn.execute(
                "SELECT endpoint, api, rate, applies, active, throttled, apply_id, "
                "coalesce(extract(epoch FROM hold_until - clock_timestamp()), 0) FROM limiter_shares "
                "WHERE apply_id <> %s AND seen_at >= clock_timestamp() - make_interval(secs => %s)",
                (self.apply_id, self.heartbeat)).fetchall()
            self._back()
        except psycopg.Error as exc:
            self._failed(exc)
            return None
        # trust nothing a row says: a rate that is not a positive number is no rate, a hold is at most a minute
        return [Share(str(endpoint), str(api),
                      float(rate) if rate is not None and math.isfinite(rate) and rate > 0 else None,
                      bool(active), min(60.0, max(0.0, float(hold))), max(1, min(1000, int(applies))),
                      max(0, int(throttled)), str(apply_id))
                for endpoint, api, rate, applies, active, throttled, apply_id, hold in rows]

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            if self._conn is not None and not (self._conn.closed or self._conn.broken):
                self._conn.execute("DELETE FROM limiter_shares WHERE apply_id = %s", (self.apply_id,))
        with contextlib.suppress(psycopg.Error):
            if self._conn is not None:
                self._conn.close()
        self._conn = None
