-- 0019: accounts and secrets (issue 23, findings 3, 6 and 7).
--
-- 1. Login throttling counts failures per user name and address together,
--    and per address and per user name from addresses the account does not
--    know, each with growing delays (functions/accounts.sql, bb_login_begin;
--    docs/api.md, "Failed logins"). The old counts (user:NAME, addr:ADDR in
--    one key) are not carried over: they would last 15 minutes at most.
DROP TABLE login_throttle;
CREATE TABLE login_throttle (
	scope text NOT NULL CHECK (scope IN ('pair', 'user', 'addr')),
	username text NOT NULL DEFAULT '',
	addr text NOT NULL DEFAULT '',
	failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
	last_failure timestamptz,
	blocked_until timestamptz,
	PRIMARY KEY (scope, username, addr)
);
COMMENT ON TABLE login_throttle IS 'Failed logins counted per user name and address (pair), per address (addr) and per user name from unknown addresses (user), shared by every daemon; written only by bb_login_* (functions/accounts.sql).';
COMMENT ON COLUMN login_throttle.scope IS 'pair: one user name from one address; addr: one address, any user name; user: one user name from addresses it has not logged in from.';
COMMENT ON COLUMN login_throttle.username IS 'The user name tried, lower case (empty for scope addr); need not be an account.';
COMMENT ON COLUMN login_throttle.addr IS 'The client address (an IPv6 address by its /64; empty for scope user).';
COMMENT ON COLUMN login_throttle.failures IS 'Attempts counted since the count was last forgotten; an attempt is counted before its password is checked and taken back when it was right.';
COMMENT ON COLUMN login_throttle.last_failure IS 'When the last attempt was counted.';
COMMENT ON COLUMN login_throttle.blocked_until IS 'No attempt under this count is let through before then (429 with Retry-After).';

CREATE TABLE login_known (
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	addr text NOT NULL,
	last_login timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, addr)
);
COMMENT ON TABLE login_known IS 'Addresses each account logged in from: there only the user name and address count of failures applies, so failures elsewhere cannot keep the user out.';
COMMENT ON COLUMN login_known.user_id IS 'The account.';
COMMENT ON COLUMN login_known.addr IS 'The client address of a successful login (an IPv6 address by its /64).';
COMMENT ON COLUMN login_known.last_login IS 'The last successful login from it; known for login_known_days after.';

-- 2. Idempotency-Key answers that carry a secret are not kept, and every
--    kept answer expires (server/http/idempotency.c; docs/api.md).
ALTER TABLE idempotency_keys ADD COLUMN withheld boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN idempotency_keys.withheld IS 'The first answer carried a secret (a new token): only its status is kept, and a repeat gets secret-not-replayed.';
COMMENT ON COLUMN idempotency_keys.body IS 'Body of the first answer; NULL when withheld.';
COMMENT ON COLUMN idempotency_keys.created_at IS 'When the key was claimed. After idempotency_ttl the key is free again and the daemons purge it.';

-- Answers kept before this migration may hold a live service token in
-- plain text (POST /api/v1/tokens with an Idempotency-Key): keep only
-- their status. The old row versions stay in the table's file until
-- VACUUM, and in backups: docs/operations.md says what to do.
UPDATE idempotency_keys SET body = NULL, content_type = NULL, withheld = true
 WHERE body ~ '"token"\s*:\s*"bb_';

-- The daemon's own writes (docs/operations.md, "Database roles"): a claim
-- takes over an expired key. The purge of expired keys, the login counts and
-- the known addresses are written only by SECURITY DEFINER functions.
GRANT UPDATE (request_hash, created_at, withheld) ON idempotency_keys TO biobank_app;
