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
 * password; NULL ends them all. p_change_required: an administrator set it,
 * so its sessions may do nothing but change it (migration 0026); a user's
 * own change clears it. Returns {"id", "username", "ended",
 * "password_change_required"}.
 */
DROP FUNCTION IF EXISTS bb_user_set_password(text, text, bigint, text, bigint);
CREATE OR REPLACE FUNCTION bb_user_set_password(p_user text, p_hash text, p_keep bigint,
	p_change_required boolean, p_actor text, p_actor_id bigint)
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
	IF EXISTS (SELECT 1 FROM users WHERE username = p_user AND source <> 'local') THEN
		PERFORM bb_fail('BB409', 'federated-account', 'username',
			format('the password of %s is kept by the identity provider or the directory', p_user),
			jsonb_build_object('username', p_user));
	END IF;
	UPDATE users SET password_hash = p_hash, updated_at = now(),
		password_change_required = COALESCE(p_change_required, false)
	 WHERE username = p_user
	RETURNING id INTO uid;
	IF uid IS NULL THEN
		PERFORM bb_fail('BB404', 'user-not-found', 'username',
			format('no user is named "%s"', p_user), jsonb_build_object('username', p_user));
	END IF;
	UPDATE tokens SET revoked_at = now()
	 WHERE user_id = uid AND revoked_at IS NULL AND id IS DISTINCT FROM p_keep;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN jsonb_build_object('id', uid, 'username', p_user, 'ended', n,
		'password_change_required', COALESCE(p_change_required, false));
END $$;
COMMENT ON FUNCTION bb_user_set_password(text, text, bigint, boolean, text, bigint)
	IS 'Sets an account''s password hash (and whether it must be changed at the next login) and ends its other sessions and tokens (all but p_keep) in one transaction.';

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

-- Account administration (issue 16; docs/api-accounts.md) -------------------

-- An account as the API shows it: never its password hash.
CREATE OR REPLACE FUNCTION bb_user_json(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', u.id, 'username', u.username, 'role', u.role,
		'studies', COALESCE((SELECT jsonb_agg(s.code ORDER BY s.code) FROM user_studies us
			JOIN studies s ON s.id = us.study_id WHERE us.user_id = u.id), '[]'),
		'disabled', u.disabled_at IS NOT NULL, 'disabled_at', bb_rfc3339(u.disabled_at),
		'password_change_required', u.password_change_required, 'source', u.source,
		'created_at', bb_rfc3339(u.created_at), 'updated_at', bb_rfc3339(u.updated_at))
	  FROM users u WHERE u.id = p_id;
$$;
COMMENT ON FUNCTION bb_user_json(bigint) IS 'An account as GET /api/v1/users/NAME shows it (no password hash).';

-- GET /api/v1/users/NAME
CREATE OR REPLACE FUNCTION bb_user_get(p_user text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	uid bigint;
BEGIN
	SELECT id INTO uid FROM users WHERE username = lower(p_user);
	IF uid IS NULL THEN
		PERFORM bb_fail('BB404', 'user-not-found', 'username',
			format('no user is named "%s"', lower(p_user)), jsonb_build_object('username', lower(p_user)));
	END IF;
	RETURN bb_user_json(uid);
END $$;
COMMENT ON FUNCTION bb_user_get(text) IS 'GET /api/v1/users/NAME: one account, or user-not-found.';

-- An enabled admin of every study: who may administer accounts (EVERY_STUDY).
CREATE OR REPLACE FUNCTION bb_user_is_account_admin(p_id bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM users u WHERE u.id = p_id AND u.role = 'admin'
		AND u.disabled_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM user_studies us WHERE us.user_id = u.id));
$$;
COMMENT ON FUNCTION bb_user_is_account_admin(bigint) IS 'True for an enabled admin limited to no study: one who may manage accounts.';

/*
 * PATCH /api/v1/users/NAME: the role, the studies (an empty list: every
 * study) and whether the account is disabled; NULL leaves one as it is.
 * Disabling ends every session and token of the account at once (the
 * triggers tell every daemon at COMMIT); re-enabling brings none back: the
 * user logs in again and service tokens are issued anew. Refused, with
 * nothing changed: an unknown account (404 user-not-found), an unknown
 * study (400 unknown-study), disabling one's own account (409 own-account),
 * and a change that would leave no enabled admin of every study to manage
 * accounts (409 last-admin). Changes to accounts are serialized by an
 * advisory lock, so that two admins demoting each other at once cannot
 * both pass the last-admin check. Returns the account (bb_user_json) and
 * "ended", how many sessions and tokens it ended.
 */
CREATE OR REPLACE FUNCTION bb_user_update(p_user text, p_role text, p_studies text[],
	p_disabled boolean, p_actor text, p_actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	u users;
	unknown text;
	new_role text;
	new_disabled timestamptz;
	new_unlimited boolean;
	field text;
	n integer := 0;
BEGIN
	PERFORM bb_set_actor(p_actor, p_actor_id);
	PERFORM pg_advisory_xact_lock(hashtext('bb_user_update'));
	SELECT * INTO u FROM users WHERE username = lower(p_user) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'user-not-found', 'username',
			format('no user is named "%s"', lower(p_user)), jsonb_build_object('username', lower(p_user)));
	END IF;
	IF p_role IS NOT NULL AND p_role NOT IN ('admin', 'manager', 'technician', 'auditor', 'printer',
			'researcher') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'role',
			'must be one of admin, manager, technician, auditor, printer, researcher');
	END IF;
	SELECT c INTO unknown FROM unnest(p_studies) c
	 WHERE NOT EXISTS (SELECT 1 FROM studies s WHERE s.code = c) LIMIT 1;
	IF unknown IS NOT NULL THEN
		PERFORM bb_fail('BB400', 'unknown-study', 'studies',
			format('no study has the code "%s"', unknown), jsonb_build_object('study', unknown));
	END IF;
	IF p_disabled AND u.id = p_actor_id THEN
		PERFORM bb_fail('BB409', 'own-account', 'disabled',
			'you cannot disable your own account: another admin can', jsonb_build_object('username', u.username));
	END IF;

	new_role := COALESCE(p_role, u.role);
	new_disabled := CASE WHEN p_disabled IS NULL THEN u.disabled_at
			     WHEN p_disabled THEN COALESCE(u.disabled_at, now()) END;
	new_unlimited := CASE WHEN p_studies IS NULL
		THEN NOT EXISTS (SELECT 1 FROM user_studies us WHERE us.user_id = u.id)
		ELSE cardinality(p_studies) = 0 END;
	IF bb_user_is_account_admin(u.id)
	   AND NOT (new_role = 'admin' AND new_disabled IS NULL AND new_unlimited)
	   AND NOT EXISTS (SELECT 1 FROM users o WHERE o.id <> u.id AND bb_user_is_account_admin(o.id)) THEN
		field := CASE WHEN new_role <> 'admin' THEN 'role'
			      WHEN new_disabled IS NOT NULL THEN 'disabled' ELSE 'studies' END;
		PERFORM bb_fail('BB409', 'last-admin', field,
			format('%s is the last enabled admin of every study: make another one first, or nobody could manage accounts',
				u.username), jsonb_build_object('username', u.username));
	END IF;

	-- One row change for role and status, so the audit log has one before and after.
	IF new_role IS DISTINCT FROM u.role OR new_disabled IS DISTINCT FROM u.disabled_at THEN
		UPDATE users SET role = new_role, disabled_at = new_disabled, updated_at = now()
		 WHERE id = u.id;
	END IF;
	IF p_studies IS NOT NULL THEN
		DELETE FROM user_studies us WHERE us.user_id = u.id
		   AND us.study_id NOT IN (SELECT s.id FROM studies s WHERE s.code = ANY (p_studies));
		INSERT INTO user_studies (user_id, study_id)
		SELECT u.id, s.id FROM studies s WHERE s.code = ANY (p_studies)
		ON CONFLICT DO NOTHING;
	END IF;
	IF new_disabled IS NOT NULL AND u.disabled_at IS NULL THEN
		UPDATE tokens SET revoked_at = now() WHERE user_id = u.id AND revoked_at IS NULL;
		GET DIAGNOSTICS n = ROW_COUNT;
	END IF;
	RETURN bb_user_json(u.id) || jsonb_build_object('ended', n);
END $$;
COMMENT ON FUNCTION bb_user_update(text, text, text[], boolean, text, bigint)
	IS 'PATCH /api/v1/users/NAME: role, studies and disabled; disabling ends every token; never leaves no enabled admin of every study.';

-- GET /api/v1/tokens: the service tokens that still work or have expired,
-- newest first; never a secret (only the SHA-256 is stored, and not shown).
CREATE OR REPLACE FUNCTION bb_tokens_list(p_user text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	uid bigint;
BEGIN
	IF p_user IS NOT NULL THEN
		SELECT id INTO uid FROM users WHERE username = lower(p_user);
		IF uid IS NULL THEN
			PERFORM bb_fail('BB400', 'invalid-input', 'username',
				format('no user is named "%s"', lower(p_user)), jsonb_build_object('username', lower(p_user)));
		END IF;
	END IF;
	RETURN jsonb_build_object('items', COALESCE((
		SELECT jsonb_agg(jsonb_build_object('id', t.id, 'username', u.username, 'role', u.role,
			'label', t.label, 'created_at', bb_rfc3339(t.created_at),
			'expires_at', bb_rfc3339(t.expires_at),
			'expired', t.expires_at IS NOT NULL AND t.expires_at <= now(),
			'user_disabled', u.disabled_at IS NOT NULL) ORDER BY t.id DESC)
		  FROM tokens t JOIN users u ON u.id = t.user_id
		 WHERE t.kind = 'service' AND t.revoked_at IS NULL
		   AND (uid IS NULL OR t.user_id = uid)), '[]'),
		'next_cursor', NULL);
END $$;
COMMENT ON FUNCTION bb_tokens_list(text) IS 'GET /api/v1/tokens: service tokens not revoked (of one account, or all), without any secret.';

/*
 * DELETE /api/v1/tokens/ID: one service token ends at once, in every daemon
 * (the trigger's NOTIFY). Sessions are not service tokens: their ids are
 * not found here (DELETE /api/v1/users/NAME/tokens ends them). Revoking a
 * revoked token again changes nothing and answers the same.
 */
CREATE OR REPLACE FUNCTION bb_token_revoke(p_id bigint, p_actor text, p_actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	t tokens;
	uname text;
BEGIN
	PERFORM bb_set_actor(p_actor, p_actor_id);
	SELECT * INTO t FROM tokens WHERE id = p_id AND kind = 'service' FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'token-not-found', 'id',
			format('this server has no service token %s', p_id), jsonb_build_object('token', p_id));
	END IF;
	IF t.revoked_at IS NULL THEN
		UPDATE tokens SET revoked_at = now() WHERE id = t.id RETURNING * INTO t;
	END IF;
	SELECT username INTO uname FROM users WHERE id = t.user_id;
	RETURN jsonb_build_object('id', t.id, 'username', uname, 'user_id', t.user_id,
		'label', t.label, 'revoked_at', bb_rfc3339(t.revoked_at));
END $$;
COMMENT ON FUNCTION bb_token_revoke(bigint, text, bigint) IS 'DELETE /api/v1/tokens/ID: ends one service token; 404 token-not-found for any other id.';

CREATE OR REPLACE TRIGGER tokens_notify AFTER UPDATE ON tokens
	FOR EACH ROW EXECUTE FUNCTION bb_notify_token();

CREATE OR REPLACE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION bb_notify_user();

CREATE OR REPLACE TRIGGER user_studies_notify AFTER INSERT OR UPDATE OR DELETE ON user_studies
	FOR EACH ROW EXECUTE FUNCTION bb_notify_user();

-- Single sign-on (migration 0037; docs/sso.md) -------------------------------

/*
 * One login, local or federated, in the audit log (entity "login", keyed by
 * the user name): how (local, oidc, ldap, or bearer for a provider's access
 * token first seen by a daemon), from where, and the outcome (ok,
 * wrong-password, account-disabled, no-mapped-group, username-taken); p_detail
 * adds what the provider said (issuer, subject, groups). Written by the
 * daemon's own connection, never by the caller's SQL.
 */
CREATE OR REPLACE FUNCTION bb_login_record(p_username text, p_method text, p_addr text,
	p_outcome text, p_detail jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	INSERT INTO audit_log (actor, entity, entity_id, action, after)
	VALUES (p_method || ':' || p_username, 'login', p_username, 'create',
		jsonb_build_object('method', p_method, 'addr', p_addr, 'outcome', p_outcome)
		|| COALESCE(p_detail, '{}'));
END $$;
COMMENT ON FUNCTION bb_login_record(text, text, text, text, jsonb)
	IS 'Writes one login (local or federated, its outcome) to the audit log as entity login.';

/*
 * A person the provider or the directory vouched for: their account (made
 * at their first login, found by p_external_id after), given the role and
 * studies the group map chose (p_studies NULL: every study), each change
 * in the audit log through the triggers. A federated account keeps the user
 * name of its first login. Refused: a user name already taken by another
 * account (409 username-taken: a provider must never log into a local
 * break-glass account), a study the map names that does not exist (409
 * mapped-study-unknown). A disabled account is returned as such, unchanged.
 * Returns {id, username, role, studies ("{1,4}" or ""), disabled}.
 */
CREATE OR REPLACE FUNCTION bb_federated_login(p_source text, p_external_id text, p_username text,
	p_role text, p_studies text[])
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	u users;
	unknown text;
BEGIN
	PERFORM bb_set_actor(p_source || ':' || p_username, NULL);
	SELECT c INTO unknown FROM unnest(p_studies) c
	 WHERE NOT EXISTS (SELECT 1 FROM studies s WHERE s.code = c) LIMIT 1;
	IF unknown IS NOT NULL THEN
		-- Limited to nothing would read as every study: refuse instead.
		PERFORM bb_fail('BB409', 'mapped-study-unknown', 'group_map',
			format('the group map names study "%s", which does not exist', unknown),
			jsonb_build_object('study', unknown));
	END IF;
	SELECT * INTO u FROM users WHERE external_id = p_external_id FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO users (username, password_hash, role, source, external_id)
		VALUES (p_username, NULL, p_role, p_source, p_external_id)
		ON CONFLICT DO NOTHING RETURNING * INTO u;
		IF NOT FOUND THEN
			-- Another login of the same person made it meanwhile, or the name is taken.
			SELECT * INTO u FROM users WHERE external_id = p_external_id FOR UPDATE;
			IF NOT FOUND THEN
				PERFORM bb_fail('BB409', 'username-taken', 'username',
					format('the user name "%s" belongs to another account', p_username),
					jsonb_build_object('username', p_username));
			END IF;
		END IF;
	END IF;
	IF u.disabled_at IS NOT NULL THEN
		RETURN jsonb_build_object('id', u.id, 'username', u.username, 'role', u.role,
			'studies', '', 'disabled', true);
	END IF;
	IF u.role IS DISTINCT FROM p_role THEN
		UPDATE users SET role = p_role, updated_at = now() WHERE id = u.id;
	END IF;
	DELETE FROM user_studies us WHERE us.user_id = u.id
	   AND (p_studies IS NULL
		OR us.study_id NOT IN (SELECT s.id FROM studies s WHERE s.code = ANY (p_studies)));
	INSERT INTO user_studies (user_id, study_id)
	SELECT u.id, s.id FROM studies s WHERE s.code = ANY (p_studies)
	ON CONFLICT DO NOTHING;
	RETURN jsonb_build_object('id', u.id, 'username', u.username, 'role', p_role,
		'studies', COALESCE((SELECT '{' || string_agg(us.study_id::text, ',' ORDER BY us.study_id) || '}'
			FROM user_studies us WHERE us.user_id = u.id), ''),
		'disabled', false);
END $$;
COMMENT ON FUNCTION bb_federated_login(text, text, text, text, text[])
	IS 'A person vouched for by the OpenID provider or the LDAP directory: their account, made or found, with the role and studies of the group map.';

-- A code-flow login under way (GET /api/v1/oidc/login); the old ones go.
CREATE OR REPLACE FUNCTION bb_oidc_login_begin(p_state_hash bytea, p_browser_hash bytea,
	p_nonce text, p_verifier text, p_return_to text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	DELETE FROM oidc_logins WHERE created_at < now() - interval '10 minutes';
	INSERT INTO oidc_logins (state_hash, browser_hash, nonce, verifier, return_to)
	VALUES (p_state_hash, p_browser_hash, p_nonce, p_verifier, p_return_to);
END $$;
COMMENT ON FUNCTION bb_oidc_login_begin(bytea, bytea, text, text, text)
	IS 'Keeps a code-flow login under way (hashes of its state and browser cookie, nonce, PKCE verifier) for its callback.';

-- Its callback: the login, taken (used once) if younger than 10 minutes;
-- same_browser tells whether the cookie is the one it began with.
CREATE OR REPLACE FUNCTION bb_oidc_login_take(p_state_hash bytea, p_browser_hash bytea,
	OUT nonce text, OUT verifier text, OUT return_to text, OUT same_browser boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	fresh boolean;
BEGIN
	DELETE FROM oidc_logins l WHERE l.state_hash = p_state_hash
	RETURNING l.nonce, l.verifier, l.return_to, l.browser_hash = p_browser_hash,
		l.created_at > now() - interval '10 minutes'
	INTO nonce, verifier, return_to, same_browser, fresh;
	IF NOT COALESCE(fresh, false) THEN
		nonce := NULL;
		verifier := NULL;
		return_to := NULL;
		same_browser := NULL;
	END IF;
END $$;
COMMENT ON FUNCTION bb_oidc_login_take(bytea, bytea)
	IS 'The callback''s login under way, used once: NULLs when unknown, used or older than 10 minutes.';
