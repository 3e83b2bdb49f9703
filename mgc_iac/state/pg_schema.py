"""The PostgreSQL state schema as versioned migrations, run by the tool itself when it opens the database.

Each entry upgrades from the version before it, inside one transaction that holds an advisory lock (two
runners opening a fresh database at once do not both migrate). A database of a newer version is refused.
Tables live in the `mgc_iac` schema so the database can be shared with other tools.
"""

from __future__ import annotations

SCHEMA = "mgc_iac"

MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('backend_id', md5(random()::text || clock_timestamp()::text));
CREATE TABLE stacks (name TEXT PRIMARY KEY, serial BIGINT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE resources (
  stack TEXT NOT NULL, address TEXT NOT NULL, kind TEXT NOT NULL, workflow TEXT NOT NULL, server TEXT,
  attrs TEXT NOT NULL, outputs TEXT NOT NULL, PRIMARY KEY (stack, address));
CREATE TABLE steps (
  stack TEXT NOT NULL, gate TEXT NOT NULL, workflow TEXT NOT NULL, server TEXT NOT NULL, step TEXT NOT NULL,
  status TEXT NOT NULL, attempt INTEGER NOT NULL, detail TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (stack, gate));
CREATE TABLE journal (
  seq BIGSERIAL PRIMARY KEY, stack TEXT NOT NULL, address TEXT NOT NULL, phase TEXT NOT NULL, at TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX journal_stack ON journal (stack, seq);
CREATE TABLE approvals (
  stack TEXT NOT NULL, gate TEXT NOT NULL, approver TEXT NOT NULL, plan_digest TEXT NOT NULL, at TEXT NOT NULL,
  via TEXT NOT NULL, PRIMARY KEY (stack, gate, approver, plan_digest));
-- a MAC is migrated by one source of one stack across the whole account (all stacks of this backend)
CREATE TABLE sources (stack TEXT NOT NULL, name TEXT NOT NULL, mac TEXT NOT NULL, PRIMARY KEY (stack, name),
  CONSTRAINT sources_mac_unique UNIQUE (mac));
CREATE TABLE workflows (seq BIGSERIAL PRIMARY KEY, stack TEXT NOT NULL, name TEXT NOT NULL, UNIQUE (stack, name));
-- the row names the holder for messages; the lock itself is a session advisory lock that dies with it
CREATE TABLE locks (stack TEXT PRIMARY KEY, lock_id TEXT NOT NULL UNIQUE, pid INTEGER NOT NULL, host TEXT NOT NULL,
  runner TEXT NOT NULL, since TEXT NOT NULL, operation TEXT NOT NULL, backend_pid INTEGER NOT NULL);
-- the account-wide cap: a server holds a slot from its first started step until its last step is done
CREATE TABLE slots (stack TEXT NOT NULL, workflow TEXT NOT NULL, server TEXT NOT NULL, since TEXT NOT NULL,
  PRIMARY KEY (stack, workflow, server));
CREATE TABLE slot_queue (stack TEXT NOT NULL, workflow TEXT NOT NULL, server TEXT NOT NULL, wf_seq BIGINT NOT NULL,
  ord INTEGER NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (stack, workflow, server));
""",
    # signed approvals (the signature and the gates it covers), plan signatures, notifications claimed once
    2: """
ALTER TABLE approvals ADD COLUMN signature TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN signed_gates TEXT NOT NULL DEFAULT '[]';
CREATE TABLE plan_signatures (stack TEXT NOT NULL, spec_digest TEXT NOT NULL, principal TEXT NOT NULL,
  signature TEXT NOT NULL, PRIMARY KEY (stack, spec_digest, principal, signature));
CREATE TABLE notifications (stack TEXT NOT NULL, key TEXT NOT NULL, at TEXT NOT NULL, detail TEXT NOT NULL,
  PRIMARY KEY (stack, key));
""",
    # what the last apply ran with: the trusted approval policy (issue 19)
    3: """
CREATE TABLE applied (stack TEXT PRIMARY KEY, spec_digest TEXT NOT NULL, policy TEXT NOT NULL, at TEXT NOT NULL,
  git_commit TEXT NOT NULL DEFAULT '');
""",
    # what the rate limiters of the live applies on this state learnt (issue 20 point 2; state/pg_limits.py): one
    # row per apply, endpoint (service and host) and API; a row whose heartbeat (seen_at) is older than a few
    # seconds is no one's and is pruned. Nothing secret: no key, no project, no account.
    4: """
CREATE TABLE limiter_shares (apply_id TEXT NOT NULL, endpoint TEXT NOT NULL, api TEXT NOT NULL,
  rate DOUBLE PRECISION, applies INTEGER NOT NULL, active BOOLEAN NOT NULL, hold_until TIMESTAMPTZ,
  seen_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (apply_id, endpoint, api));
CREATE INDEX limiter_shares_seen ON limiter_shares (seen_at);
""",
    # the 429s each apply got per API so far: another apply's new 429 cuts this one's rate too (one budget)
    5: """
ALTER TABLE limiter_shares ADD COLUMN throttled BIGINT NOT NULL DEFAULT 0;
""",
}

LATEST = max(MIGRATIONS)
