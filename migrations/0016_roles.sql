-- 0016_roles.sql — the daemon's database role, biobank_app.
--
-- biobankd migrate runs as the schema's owner; the daemon connects as a
-- login role granted biobank_app, which may read the tables and run the
-- API's functions. Every write to the domain goes through a SECURITY
-- DEFINER function (migrations/functions/, owned by the owner), so the
-- daemon cannot move a tube, change a status or append to the ledger by
-- any other path, nor disable a trigger (only an owner may). The few
-- tables the daemon writes with its own statements (sessions, throttle,
-- idempotency keys, accounts) get exactly the columns it writes; see
-- docs/operations.md, "Database roles".

-- CREATE ROLE needs CREATEROLE, which a database owner usually lacks: the
-- operator then creates the role first (docs/operations.md) and this only
-- checks that it is there.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'biobank_app') THEN
		BEGIN
			CREATE ROLE biobank_app NOLOGIN;
			COMMENT ON ROLE biobank_app IS 'biobankd''s rights: read the tables, run the API''s functions (docs/operations.md). Grant it to the daemon''s login role.';
		EXCEPTION WHEN insufficient_privilege THEN
			RAISE EXCEPTION 'role biobank_app does not exist and % may not create it', current_user
				USING HINT = 'as a superuser run: CREATE ROLE biobank_app NOLOGIN; '
					'then run biobankd migrate again (docs/operations.md, Database roles)';
		END;
	END IF;
END $$;

GRANT USAGE ON SCHEMA public TO biobank_app;

-- Reads: every table, present and future (the daemon and the SECURITY
-- INVOKER functions read them directly).
GRANT SELECT ON ALL TABLES IN SCHEMA public TO biobank_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO biobank_app;

-- The daemon's own writes (server/db_accounts.c, server/idempotency.c).
GRANT INSERT (user_id, hash, kind, label, expires_at), UPDATE (revoked_at) ON tokens TO biobank_app;
GRANT INSERT (username, password_hash, role) ON users TO biobank_app;
GRANT INSERT (user_id, study_id) ON user_studies TO biobank_app;
GRANT DELETE ON login_throttle TO biobank_app;
GRANT INSERT (user_id, key, request_hash), UPDATE (status, content_type, body)
	ON idempotency_keys TO biobank_app;

-- Functions: only the owner and biobank_app run them (SECURITY DEFINER
-- ones run with the owner's rights, so PUBLIC must not). The function
-- files are applied after this one and get the same by default.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO biobank_app;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO biobank_app;
