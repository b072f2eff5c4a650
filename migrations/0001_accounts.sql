-- 0001: studies, user accounts, tokens and login throttling.

CREATE TABLE studies (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE studies IS 'Research studies (cohorts); every participant and specimen belongs to one.';
COMMENT ON COLUMN studies.id IS 'Surrogate key.';
COMMENT ON COLUMN studies.code IS 'Short upper-case code used in the API and on labels, e.g. MASC.';
COMMENT ON COLUMN studies.name IS 'Full name of the study.';
COMMENT ON COLUMN studies.created_at IS 'When the study was registered.';

CREATE TABLE users (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
	password_hash text NOT NULL,
	role text NOT NULL CHECK (role IN ('admin', 'manager', 'technician', 'auditor', 'printer')),
	disabled_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'People and service accounts that may call the API.';
COMMENT ON COLUMN users.id IS 'Surrogate key.';
COMMENT ON COLUMN users.username IS 'Login name: lower case letters, digits, dot, dash, underscore.';
COMMENT ON COLUMN users.password_hash IS 'Argon2id hash in libsodium crypto_pwhash_str format; never the password.';
COMMENT ON COLUMN users.role IS 'What the account may do: admin, manager, technician, auditor (read-only) or printer.';
COMMENT ON COLUMN users.disabled_at IS 'Set when the account was disabled; its tokens stop working.';
COMMENT ON COLUMN users.created_at IS 'When the account was created.';
COMMENT ON COLUMN users.updated_at IS 'When the role, password or status last changed.';

CREATE TABLE user_studies (
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	study_id bigint NOT NULL REFERENCES studies (id),
	PRIMARY KEY (user_id, study_id)
);
COMMENT ON TABLE user_studies IS 'Studies a user is limited to; a user with no rows here sees all studies.';
COMMENT ON COLUMN user_studies.user_id IS 'The limited user.';
COMMENT ON COLUMN user_studies.study_id IS 'A study the user may see.';

CREATE TABLE tokens (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
	kind text NOT NULL CHECK (kind IN ('session', 'service')),
	label text CHECK (length(label) <= 200),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz,
	revoked_at timestamptz
);
CREATE INDEX tokens_user ON tokens (user_id);
COMMENT ON TABLE tokens IS 'Bearer tokens. Only the SHA-256 of each token is kept.';
COMMENT ON COLUMN tokens.id IS 'Surrogate key.';
COMMENT ON COLUMN tokens.user_id IS 'The account the token acts for.';
COMMENT ON COLUMN tokens.hash IS 'SHA-256 of the token string; the token itself is shown once and never stored.';
COMMENT ON COLUMN tokens.kind IS 'session (from a login, expires) or service (long-lived, for printers and scripts).';
COMMENT ON COLUMN tokens.label IS 'What a service token is for, e.g. the printer it runs.';
COMMENT ON COLUMN tokens.created_at IS 'When the token was issued.';
COMMENT ON COLUMN tokens.expires_at IS 'When the token stops working by itself; NULL for service tokens without expiry.';
COMMENT ON COLUMN tokens.revoked_at IS 'When the token was revoked (logout or by an admin).';

CREATE TABLE login_throttle (
	key text PRIMARY KEY,
	failures integer NOT NULL,
	window_start timestamptz NOT NULL
);
COMMENT ON TABLE login_throttle IS 'Failed logins per user name and per client address, shared by every daemon.';
COMMENT ON COLUMN login_throttle.key IS 'user:NAME or addr:ADDRESS.';
COMMENT ON COLUMN login_throttle.failures IS 'Failed attempts since window_start.';
COMMENT ON COLUMN login_throttle.window_start IS 'Start of the current counting window.';

-- Every daemon caches tokens; tell them at once when one stops being valid.
CREATE FUNCTION bb_notify_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('bb_auth', 'token:' || encode(NEW.hash, 'hex'));
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_notify_token() IS 'Announces a revoked or changed token to the daemons'' caches.';
CREATE TRIGGER tokens_notify AFTER UPDATE ON tokens
	FOR EACH ROW EXECUTE FUNCTION bb_notify_token();

CREATE FUNCTION bb_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'user_studies' THEN
		PERFORM pg_notify('bb_auth', 'user:' || COALESCE(NEW.user_id, OLD.user_id));
	ELSE
		PERFORM pg_notify('bb_auth', 'user:' || COALESCE(NEW.id, OLD.id));
	END IF;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_notify_user() IS 'Announces a changed account (role, status, studies) to the daemons'' caches.';
CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION bb_notify_user();
CREATE TRIGGER user_studies_notify AFTER INSERT OR UPDATE OR DELETE ON user_studies
	FOR EACH ROW EXECUTE FUNCTION bb_notify_user();

-- One round trip for a failed login: count it, and say how long the caller must wait.
CREATE FUNCTION bb_login_failed(p_user text, p_addr text, p_window interval)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO login_throttle AS t (key, failures, window_start)
	VALUES ('user:' || p_user, 1, now()), ('addr:' || p_addr, 1, now())
	ON CONFLICT (key) DO UPDATE SET
		failures = CASE WHEN t.window_start + p_window < now() THEN 1 ELSE t.failures + 1 END,
		window_start = CASE WHEN t.window_start + p_window < now() THEN now() ELSE t.window_start END;
$$;
COMMENT ON FUNCTION bb_login_failed(text, text, interval) IS 'Counts one failed login for a user name and a client address.';

CREATE FUNCTION bb_login_wait(p_user text, p_addr text, p_window interval,
	p_max_user integer, p_max_addr integer)
RETURNS integer LANGUAGE sql STABLE AS $$
	SELECT COALESCE(max(ceil(extract(epoch FROM (window_start + p_window - now()))))::integer, 0)
	FROM login_throttle
	WHERE window_start + p_window > now()
	  AND ((key = 'user:' || p_user AND failures >= p_max_user)
	    OR (key = 'addr:' || p_addr AND failures >= p_max_addr));
$$;
COMMENT ON FUNCTION bb_login_wait(text, text, interval, integer, integer) IS 'Seconds a login for this user name or address must wait; 0 when allowed.';

-- Times leave the database as RFC 3339 UTC, with a fraction only when there is one.
CREATE FUNCTION bb_rfc3339(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
		|| CASE WHEN extract(microseconds FROM t)::bigint % 1000000 = 0 THEN ''
		        ELSE '.' || to_char(t AT TIME ZONE 'UTC', 'US') END
		|| 'Z';
$$;
COMMENT ON FUNCTION bb_rfc3339(timestamptz) IS 'Formats a time as RFC 3339 in UTC for the API.';
