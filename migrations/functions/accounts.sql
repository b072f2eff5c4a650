-- functions/accounts.sql — Accounts: login throttling and the notifications
-- that revoke cached tokens in every daemon.
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

-- One round trip for a failed login: count it, and say how long the caller must wait.
CREATE OR REPLACE FUNCTION bb_login_failed(p_user text, p_addr text, p_window interval)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
	INSERT INTO login_throttle AS t (key, failures, window_start)
	VALUES ('user:' || p_user, 1, now()), ('addr:' || p_addr, 1, now())
	ON CONFLICT (key) DO UPDATE SET
		failures = CASE WHEN t.window_start + p_window < now() THEN 1 ELSE t.failures + 1 END,
		window_start = CASE WHEN t.window_start + p_window < now() THEN now() ELSE t.window_start END;
$$;
COMMENT ON FUNCTION bb_login_failed(text, text, interval) IS 'Counts one failed login for a user name and a client address.';

CREATE OR REPLACE FUNCTION bb_login_wait(p_user text, p_addr text, p_window interval,
	p_max_user integer, p_max_addr integer)
RETURNS integer LANGUAGE sql STABLE AS $$
	SELECT COALESCE(max(ceil(extract(epoch FROM (window_start + p_window - now()))))::integer, 0)
	FROM login_throttle
	WHERE window_start + p_window > now()
	  AND ((key = 'user:' || p_user AND failures >= p_max_user)
	    OR (key = 'addr:' || p_addr AND failures >= p_max_addr));
$$;
COMMENT ON FUNCTION bb_login_wait(text, text, interval, integer, integer) IS 'Seconds a login for this user name or address must wait; 0 when allowed.';

CREATE OR REPLACE TRIGGER tokens_notify AFTER UPDATE ON tokens
	FOR EACH ROW EXECUTE FUNCTION bb_notify_token();

CREATE OR REPLACE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION bb_notify_user();

CREATE OR REPLACE TRIGGER user_studies_notify AFTER INSERT OR UPDATE OR DELETE ON user_studies
	FOR EACH ROW EXECUTE FUNCTION bb_notify_user();
