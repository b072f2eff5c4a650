-- functions/accounts.sql — Accounts: login throttling, passwords, and the
-- notifications that revoke cached tokens in every daemon.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

-- Every daemon caches tokens; tell them at once when one stops being valid.
CREATE OR REPLACE FUNCTION bb_notify_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('bb_auth', 'token:' || encode(NEW.hash, 'hex'));
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_notify_token() IS 'Announces a revoked or changed token to the daemons'' caches.';

CREATE OR REPLACE FUNCTION bb_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'user_studies' THEN
		PERFORM pg_notify('bb_auth', 'user:' || COALESCE(NEW.user_id, OLD.user_id));
	ELSE
		PERFORM pg_notify('bb_auth', 'user:' || COALESCE(NEW.id, OLD.id));
	END IF;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_notify_user() IS 'Announces a changed account (role, status, studies) to the daemons'' caches.';

DROP FUNCTION IF EXISTS bb_login_failed(text, text, interval);
DROP FUNCTION IF EXISTS bb_login_wait(text, text, interval, integer, integer);

-- Login throttling (docs/api.md, "Failed logins"). Every attempt is counted
-- before its password is checked, in the statement that checks the counts,
-- with their rows locked: parallel attempts cannot slip between the check
-- and the count, so exactly the allowed number reach the password.

-- The address a count is kept for: an IPv4 address as it is, an IPv4-mapped
-- IPv6 address as its IPv4 address, any other IPv6 address by its /64 (what
-- one host is usually given, so that a host cannot spread its attempts
-- over its own addresses).
CREATE OR REPLACE FUNCTION bb_login_addr(p_addr text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	a inet;
BEGIN
	BEGIN
		a := p_addr::inet;
	EXCEPTION WHEN OTHERS THEN
		RETURN p_addr;
	END;
	IF family(a) = 4 THEN
		RETURN host(a);
	END IF;
	IF host(a) ~* '^::ffff:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' THEN
		RETURN substr(host(a), 8);
	END IF;
	RETURN host(network(set_masklen(a, 64))) || '/64';
END $$;
COMMENT ON FUNCTION bb_login_addr(text) IS 'The address a login count is kept for: IPv4 as is, IPv6 by its /64.';

-- Whether the account named p_user logged in from address a (as bb_login_addr gives it)
-- within p_known_days.
CREATE OR REPLACE FUNCTION bb_login_known(p_user text, a text, p_known_days integer)
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM login_known k JOIN users u ON u.id = k.user_id
		WHERE u.username = p_user AND k.addr = a
		  AND k.last_login > now() - make_interval(days => p_known_days));
$$;
COMMENT ON FUNCTION bb_login_known(text, text, integer) IS 'True when the account logged in from this address (bb_login_addr) within p_known_days.';

/*
 * Let one login attempt through, or say how long it must wait. The counts
 * that apply: the user name from this address (pair, up to p_max_pair
 * failures), and unless the account logged in from this address within
 * p_known_days, the address for any user name (addr, p_max_addr) and the
 * user name from any such address (user, p_max_user). When none of them is
 * waiting, the attempt is counted in each at once: a count that reaches its
 * limit waits p_backoff seconds, twice as long after each further attempt,
 * at most p_window; a count is forgotten once p_window has passed since its
 * wait ended (or since its last attempt, if it never waited). wait > 0: the
 * attempt is refused and nothing is counted. wide: the address and user
 * name counts took the attempt too (bb_login_succeeded takes it back).
 */
CREATE OR REPLACE FUNCTION bb_login_begin(p_user text, p_addr text, p_max_pair integer,
	p_max_user integer, p_max_addr integer, p_backoff integer, p_window integer,
	p_known_days integer, OUT wait integer, OUT wide boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	a constant text := bb_login_addr(p_addr);
	-- The counts that apply, in the order their rows are locked.
	scopes text[] := ARRAY['pair'];
	names text[] := ARRAY[p_user];
	addrs text[] := ARRAY[a];
	maxes integer[] := ARRAY[p_max_pair];
	moment timestamptz;
	longest double precision;
BEGIN
	wide := NOT bb_login_known(p_user, a, p_known_days);
	IF wide THEN
		scopes := ARRAY['addr', 'pair', 'user'];
		names := ARRAY['', p_user, p_user];
		addrs := ARRAY[a, a, ''];
		maxes := ARRAY[p_max_addr, p_max_pair, p_max_user];
	END IF;
	-- Every count has a row; then all of them are locked in one order
	-- (addr, pair, user: their keys' order), so that concurrent attempts
	-- queue on the first row they share and never deadlock.
	INSERT INTO login_throttle (scope, username, addr)
	SELECT * FROM unnest(scopes, names, addrs) ORDER BY 1, 2, 3
	ON CONFLICT DO NOTHING;
	-- A statement of its own: a condition beside FOR UPDATE could be pushed
	-- below the lock and leave the rows it filters out unlocked.
	PERFORM 1 FROM login_throttle t
	   JOIN unnest(scopes, names, addrs) AS c (scope, username, addr) USING (scope, username, addr)
	  ORDER BY t.scope, t.username, t.addr FOR UPDATE OF t;
	-- Locked: what this and the next statement read stays as it is until
	-- COMMIT. The time is taken now, not at the start of the transaction,
	-- which may have waited for the locks.
	moment := clock_timestamp();
	SELECT max(extract(epoch FROM t.blocked_until - moment)) INTO longest
	  FROM login_throttle t
	  JOIN unnest(scopes, names, addrs) AS c (scope, username, addr) USING (scope, username, addr)
	 WHERE t.blocked_until > moment;
	IF longest IS NOT NULL THEN
		wait := greatest(ceil(longest)::integer, 1);
		RETURN;
	END IF;
	UPDATE login_throttle t SET failures = n.failures, last_failure = moment,
		blocked_until = CASE WHEN n.failures >= n.max THEN moment + make_interval(secs =>
			least(p_backoff * 2.0 ^ least(n.failures - n.max, 30), p_window)::double precision) END
	  FROM (SELECT t2.scope, t2.username, t2.addr, c.max,
		       CASE WHEN COALESCE(t2.blocked_until, t2.last_failure) > moment - make_interval(secs => p_window)
			    THEN t2.failures + 1 ELSE 1 END AS failures
		  FROM login_throttle t2
		  JOIN unnest(scopes, names, addrs, maxes) AS c (scope, username, addr, max)
		 USING (scope, username, addr)) n
	 WHERE (t.scope, t.username, t.addr) = (n.scope, n.username, n.addr);
	wait := 0;
END $$;
COMMENT ON FUNCTION bb_login_begin(text, text, integer, integer, integer, integer, integer, integer)
	IS 'Counts one login attempt before its password is checked, or refuses it: wait > 0 seconds (nothing counted). wide: the address and user name counts took it too.';

-- The attempt was right: forget the pair's failures, take the attempt back
-- from the wide counts it was put in, and remember the address.
CREATE OR REPLACE FUNCTION bb_login_succeeded(p_user text, p_addr text, p_user_id bigint,
	p_wide boolean, p_max_user integer, p_max_addr integer)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	a constant text := bb_login_addr(p_addr);
BEGIN
	DELETE FROM login_throttle WHERE scope = 'pair' AND username = p_user AND addr = a;
	IF p_wide THEN
		UPDATE login_throttle SET failures = greatest(failures - 1, 0),
			blocked_until = CASE WHEN failures - 1 >= CASE scope WHEN 'user' THEN p_max_user ELSE p_max_addr END
					     THEN blocked_until END
		 WHERE (scope = 'user' AND username = p_user AND addr = '')
		    OR (scope = 'addr' AND username = '' AND addr = a);
	END IF;
	INSERT INTO login_known (user_id, addr) VALUES (p_user_id, a)
	ON CONFLICT (user_id, addr) DO UPDATE SET last_login = now();
END $$;
COMMENT ON FUNCTION bb_login_succeeded(text, text, bigint, boolean, integer, integer)
	IS 'After a right password: clears the pair''s count, takes the attempt back from the wide counts, remembers the address.';

-- biobankd user unlock NAME: every count of the user name, at once.
CREATE OR REPLACE FUNCTION bb_login_unlock(p_user text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM login_throttle WHERE scope IN ('pair', 'user') AND username = p_user;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;
COMMENT ON FUNCTION bb_login_unlock(text) IS 'Break-glass: forgets every failed-login count of a user name (from any address); returns how many.';

-- What expires, removed by every daemon every purge_interval (server/db/purge.c):
-- answers kept for Idempotency-Keys past p_idem_ttl, login counts that are
-- forgotten anyway, addresses no longer known. Up to p_batch rows of each
-- kind a call, skipping rows a request holds, so that several daemons
-- purging at once neither wait nor clash; returns how many rows went.
DROP FUNCTION IF EXISTS bb_login_purge(integer, integer, integer);
CREATE OR REPLACE FUNCTION bb_purge_expired(p_idem_ttl integer, p_window integer,
	p_known_days integer, p_batch integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
	total integer := 0;
BEGIN
	DELETE FROM idempotency_keys k USING (
		SELECT user_id, key FROM idempotency_keys
		 WHERE created_at <= now() - make_interval(secs => p_idem_ttl)
		 LIMIT p_batch FOR UPDATE SKIP LOCKED) old
	 WHERE (k.user_id, k.key) = (old.user_id, old.key);
	GET DIAGNOSTICS n = ROW_COUNT;
	total := total + n;
	DELETE FROM login_throttle t USING (
		SELECT scope, username, addr FROM login_throttle
		 WHERE COALESCE(blocked_until, last_failure, '-infinity') <= now() - make_interval(secs => p_window)
		 LIMIT p_batch FOR UPDATE SKIP LOCKED) old
	 WHERE (t.scope, t.username, t.addr) = (old.scope, old.username, old.addr);
	GET DIAGNOSTICS n = ROW_COUNT;
	total := total + n;
	DELETE FROM login_known k USING (
		SELECT user_id, addr FROM login_known
		 WHERE last_login <= now() - make_interval(days => p_known_days)
		 LIMIT p_batch FOR UPDATE SKIP LOCKED) old
	 WHERE (k.user_id, k.addr) = (old.user_id, old.addr);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN total + n;
END $$;
COMMENT ON FUNCTION bb_purge_expired(integer, integer, integer, integer) IS 'Deletes up to p_batch each of expired Idempotency-Key answers, forgotten login counts and addresses no longer known; returns how many rows went.';

-- Passwords and sessions ----------------------------------------------------

/*
 * A new password hash for an account (already Argon2id; the password never
 * reaches SQL), and every other session and token of the account ended in
 * the same transaction: the triggers below tell every daemon's cache at
 * COMMIT. p_keep: the caller's own token, kept when a user changes their own
 * password; NULL ends them all. Returns {"id", "username", "ended"}.
 */
CREATE OR REPLACE FUNCTION bb_user_set_password(p_user text, p_hash text, p_keep bigint,
	p_actor text, p_actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	uid bigint;
	n integer;
BEGIN
	IF p_actor IS NOT NULL THEN
		PERFORM bb_set_actor(p_actor, p_actor_id);
	END IF;
	IF p_hash IS NULL OR p_hash !~ '^\$argon2id\$' THEN
		PERFORM bb_fail('BB400', 'invalid-value', 'password', 'is not an Argon2id hash');
	END IF;
	UPDATE users SET password_hash = p_hash, updated_at = now() WHERE username = p_user
	RETURNING id INTO uid;
	IF uid IS NULL THEN
		PERFORM bb_fail('BB404', 'user-not-found', 'username',
			format('no user is named "%s"', p_user), jsonb_build_object('username', p_user));
	END IF;
	UPDATE tokens SET revoked_at = now()
	 WHERE user_id = uid AND revoked_at IS NULL AND id IS DISTINCT FROM p_keep;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN jsonb_build_object('id', uid, 'username', p_user, 'ended', n);
END $$;
COMMENT ON FUNCTION bb_user_set_password(text, text, bigint, text, bigint)
	IS 'Sets an account''s password hash and ends its other sessions and tokens (all but p_keep) in one transaction.';

-- DELETE /api/v1/users/NAME/tokens: every session and token of the account ends.
CREATE OR REPLACE FUNCTION bb_user_end_sessions(p_user text, p_actor text, p_actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	uid bigint;
	n integer;
BEGIN
	PERFORM bb_set_actor(p_actor, p_actor_id);
	SELECT id INTO uid FROM users WHERE username = p_user;
	IF uid IS NULL THEN
		PERFORM bb_fail('BB404', 'user-not-found', 'username',
			format('no user is named "%s"', p_user), jsonb_build_object('username', p_user));
	END IF;
	UPDATE tokens SET revoked_at = now() WHERE user_id = uid AND revoked_at IS NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN jsonb_build_object('id', uid, 'username', p_user, 'ended', n);
END $$;
COMMENT ON FUNCTION bb_user_end_sessions(text, text, bigint) IS 'Ends every session and service token of an account at once; returns {"id", "username", "ended"}.';

CREATE OR REPLACE TRIGGER tokens_notify AFTER UPDATE ON tokens
	FOR EACH ROW EXECUTE FUNCTION bb_notify_token();

CREATE OR REPLACE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION bb_notify_user();

CREATE OR REPLACE TRIGGER user_studies_notify AFTER INSERT OR UPDATE OR DELETE ON user_studies
	FOR EACH ROW EXECUTE FUNCTION bb_notify_user();
