"""Issue 20, point 2: applies sharing a PostgreSQL state share what their rate limiters learn (limiter_shares,
mgc_iac/state/pg_limits.py; the sync, mgc_iac/cloud/_shared.py). Two "applies" here are two sets of limiters in
this process, each with its own fake clock, its own peer (its own connection) and its own sync, run by hand
(the real apply runs it once a second on a thread). The database is a real PostgreSQL server; the lost
connection is a real pg_terminate_backend; nothing is mocked, and nothing sleeps."""

from __future__ import annotations

import logging

import psycopg
import pytest

from mgc_iac.cloud import CallScope
from mgc_iac.cloud._shared import LimitSync, split
from mgc_iac.cloud._throttle import EndpointLimiter
from mgc_iac.state import SQLiteStore, open_store
from mgc_iac.state.pg_limits import RETRY_SECONDS, PostgresLimiterPeer
from mgc_iac.state.pg_local import find_bindir

pytestmark = pytest.mark.skipif(find_bindir() is None, reason="PostgreSQL's binaries are not installed")
SMS = "https://sms.ap-southeast-1.myhuaweicloud.com"


class Apply:
    """One apply's side of the sharing: its limiters (a registry of its own), a fake clock and its sync."""

    def __init__(self, url: str) -> None:
        self.now = 0.0
        self.limiters: dict[str, EndpointLimiter] = {}
        store = open_store(url)                       # a writer's store: the schema is there (migration 4)
        peer = store.limiter_peer()
        store.close()
        assert isinstance(peer, PostgresLimiterPeer)
        peer._clock = self.clock                      # the reconnect pause follows the fake clock too
        self.peer = peer
        self.sync = LimitSync(peer, clock=self.clock, source=lambda: list(self.limiters.values()), make=self.limiter)

    def clock(self) -> float:
        return self.now

    def limiter(self, service: str = "sms", url: str = SMS) -> EndpointLimiter:
        key = f"{service} {url}"
        if key not in self.limiters:
            self.limiters[key] = EndpointLimiter(service, url, clock=self.clock)
        return self.limiters[key]

    def call(self, what: str, times: int = 1) -> float:
        """Send `times` calls of `what` through the limiter, all answered; returns the seconds they waited."""
        apply = self

        class Waiting(CallScope):
            waited = 0.0

            def wait(self, seconds: float) -> bool:
                Waiting.waited += seconds
                apply.now += seconds
                return False

        scope = Waiting(who="step")
        for _ in range(times):
            self.limiter().acquire(scope, what)
            self.limiter().succeeded(what)
        return Waiting.waited

    def learn(self, what: str, answered: int) -> None:
        """`what` was answered `answered` times in the last second, then refused 429 (no Retry-After)."""
        start = self.now
        for i in range(answered):
            self.now = start + i / answered
            self.limiter().acquire(None, what)
            self.limiter().succeeded(what)
        self.now = start + 1.0
        self.limiter().failed("throttled", 429, "APIGW.0308", delay=0.0, what=what)

    def rate(self, what: str) -> float | None:
        return self.limiter().shared()[what][1]


def _rows(url: str, password: str) -> list[tuple]:
    with psycopg.connect(url, password=password, autocommit=True) as conn:
        return conn.execute("SELECT apply_id, endpoint, api, rate FROM mgc_iac.limiter_shares").fetchall()


def test_a_retry_after_one_apply_gets_holds_that_api_in_the_other_until_then(pg_url: str) -> None:
    first, second = Apply(pg_url), Apply(pg_url)
    first.call("sms.ListTasks")
    first.limiter().failed("throttled", 429, "APIGW.0308", delay=0.0, retry_after=8.0, what="sms.ListTasks")
    first.sync.sync()
    second.sync.sync()                                  # the second has not called SMS yet: it learns before
    assert second.call("sms.ShowTask") == 0.0           # another API goes on at once
    waited = second.call("sms.ListTasks")
    assert 7.0 < waited <= 8.0, waited                   # held until the time the first one was told
    assert second.call("sms.ListTasks") <= 1.0          # then only paced (the first learnt ~1/s from one answer)


def test_two_live_applies_each_take_half_the_rate_learnt_and_one_takes_it_all_back_when_the_other_ends(
        pg_url: str) -> None:
    first, second = Apply(pg_url), Apply(pg_url)
    first.learn("sms.ListTasks", answered=20)          # 17/s learnt (0.85 x what the gateway answered)
    assert first.rate("sms.ListTasks") == pytest.approx(17.0)
    second.call("sms.ListTasks")                        # the second calls it too, never refused yet
    for apply in (first, second, first):
        apply.sync.sync()
    assert first.rate("sms.ListTasks") == pytest.approx(8.5)
    assert second.rate("sms.ListTasks") == pytest.approx(8.5)   # from the first's 429s, not from its own
    second.now += 1.0                                   # a full bucket's worth later: 17 calls at ~8.5/s
    assert 1.5 < second.call("sms.ListTasks", 17) < 2.2
    first.now += 2.0
    first.limiter().failed("throttled", 429, "APIGW.0308", delay=0.0, what="sms.ListTasks")   # its own 429
    cut = first.rate("sms.ListTasks")
    assert cut is not None and cut < 8.5
    first.sync.sync()
    assert first.rate("sms.ListTasks") == cut           # the others' words never undo a cut made on its own 429
    second.sync.stop()                                  # the second apply ends: its rows go
    first.now += 1.0
    first.sync.sync()
    assert first.rate("sms.ListTasks") == pytest.approx(2 * cut)   # alone again: the other half back


def test_a_429_one_apply_gets_cuts_the_other_calling_that_api_and_the_cut_does_not_echo(pg_url: str) -> None:
    first, second = Apply(pg_url), Apply(pg_url)
    first.learn("sms.ListTasks", answered=20)
    second.learn("sms.ListTasks", answered=20)
    for apply in (first, second, first, second):
        apply.sync.sync()
    assert first.rate("sms.ListTasks") == second.rate("sms.ListTasks") == pytest.approx(8.5)   # 17 split in two
    first.now += 2.0
    second.now += 2.0
    first.limiter().failed("throttled", 429, "APIGW.0308", delay=0.0, what="sms.ListTasks")   # only the first
    first_cut = first.rate("sms.ListTasks")
    assert first_cut is not None and first_cut < 8.5
    assert second.call("sms.ShowTask") == 0.0
    first.sync.sync()
    second.sync.sync()
    second_cut = second.rate("sms.ListTasks")
    assert second_cut is not None and second_cut < 8.5      # the sum was over the gateway's limit: both cut
    assert second.rate("sms.ShowTask") is None               # not the other APIs
    first.now += 2.0
    first.sync.sync()
    assert first.rate("sms.ListTasks") == first_cut           # the second's cut came from no 429: no echo back


def test_a_dropped_connection_leaves_the_apply_going_and_sharing_comes_back(pg_url: str, pg_server,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    first, second = Apply(pg_url), Apply(pg_url)
    first.call("sms.ListTasks")
    first.sync.sync()
    with psycopg.connect(pg_url, password=pg_server.password, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                      "'mgc-iac limits'")
    first.limiter().failed("throttled", 429, "APIGW.0308", delay=0.0, retry_after=30.0, what="sms.ListTasks")
    with caplog.at_level(logging.WARNING):
        first.sync.sync()                               # the publish meets the dead session: no exception
        assert "not shared with the other applies" in caplog.text and "goes on with its own" in caplog.text
        second.sync.sync()
        assert second.call("sms.ListTasks") == 0.0      # the second never heard of the Retry-After (lost)
        first.now += RETRY_SECONDS                      # the next try connects again and publishes
        first.sync.sync()
        assert caplog.records[-1].getMessage().endswith(" again")
        second.sync.sync()
    assert 20.0 < second.call("sms.ListTasks") <= 25.0  # now it holds ListTasks for what is left of the 30 s
    assert 20.0 < first.call("sms.ListTasks") <= 25.0   # and the first apply's own limiter went on all along


def test_a_state_database_that_cannot_be_reached_costs_nothing_but_a_warning(pg_url: str,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    peer = PostgresLimiterPeer(pg_url.rsplit("/", 1)[0] + "/no_such_database", "the state")
    limiter = EndpointLimiter("sms", SMS)
    sync = LimitSync(peer, source=lambda: [limiter])
    with caplog.at_level(logging.WARNING):
        sync.sync()
        sync.sync()                                     # within RETRY_SECONDS: not even tried again
    assert caplog.text.count("not shared with the other applies") == 1
    limiter.acquire(None, "sms.ListTasks")              # nothing held, nothing slowed


def test_rows_expire_after_the_heartbeat(pg_url: str, pg_server) -> None:
    first, second = Apply(pg_url), Apply(pg_url)
    first.learn("sms.ListTasks", answered=20)
    first.limiter().failed("throttled", 429, "APIGW.0308", delay=0.0, retry_after=30.0, what="sms.ListTasks")
    first.sync.sync()
    assert {row[0] for row in _rows(pg_url, pg_server.password)} == {first.peer.apply_id}
    with psycopg.connect(pg_url, password=pg_server.password, autocommit=True) as admin:   # 10 s pass for its rows
        admin.execute("UPDATE mgc_iac.limiter_shares SET seen_at = seen_at - interval '10 seconds'")
    second.call("sms.ListTasks")
    second.sync.sync()                                  # the first apply died without a word: its rows are nobody's
    assert second.rate("sms.ListTasks") is None         # no share taken from it
    assert second.call("sms.ListTasks") == 0.0          # no hold either
    assert {row[0] for row in _rows(pg_url, pg_server.password)} == {second.peer.apply_id}   # and pruned


def test_what_is_stored_names_no_secret_and_a_read_only_or_sqlite_state_shares_nothing(pg_url: str, pg_server,
                                                                                         tmp_path) -> None:
    first = Apply(pg_url)
    first.learn("sms.ListTasks", answered=20)
    first.sync.sync()
    [(apply_id, endpoint, api, rate)] = _rows(pg_url, pg_server.password)
    assert (endpoint, api, rate) == (f"sms {SMS}", "sms.ListTasks", pytest.approx(17.0))
    assert len(apply_id) == 32                          # a random id: no host, pid, key or project
    assert open_store(pg_url, read_only=True).limiter_peer() is None     # plan's read-only session writes nothing
    assert SQLiteStore(tmp_path / "state.db").limiter_peer() is None      # SQLite: one apply at a time


def test_the_split_takes_the_mean_word_of_those_calling_over_how_many_call() -> None:
    from mgc_iac.cloud import Share

    def share(rate, active=True, hold=0.0, applies=1):
        return Share(f"sms {SMS}", "sms.ListTasks", rate, active, hold, applies)

    assert split(share(None), [share(40.0)]) == (20.0, 0.0, 2)                    # a newcomer takes half
    assert split(share(40.0), [share(None)]) == (20.0, 0.0, 2)                    # and the first halves
    assert split(share(20.0, applies=2), []) == (40.0, 0.0, 1)                    # alone again: all of it
    assert split(share(20.0, applies=2), [share(15.0, applies=2)]) == (17.5, 0.0, 2)   # the mean word
    assert split(None, [share(30.0, active=False)]) == (30.0, 0.0, 1)             # an idle apply's knowledge
    assert split(share(None), [share(None, active=False, hold=4.0)]) == (None, 4.0, 1)          # a hold alone
