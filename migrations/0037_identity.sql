-- 0037: single sign-on (issue 20, "Single sign-on"; docs/sso.md).
--
-- An account is local (a password kept here, Argon2id), or federated: its
-- identity is kept by an OpenID provider or an LDAP directory, which says
-- who the person is and which groups they are in at each login; the group
-- map (setting group_map) turns the groups into the role and studies the
-- account gets, written to users and user_studies at every login so that
-- the audit log shows each change. A federated account has no password
-- here: a password login by its name is refused like a wrong password,
-- and local accounts stay the break-glass way in when the provider is down.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE users ADD COLUMN source text NOT NULL DEFAULT 'local'
	CHECK (source IN ('local', 'oidc', 'ldap'));
ALTER TABLE users ADD COLUMN external_id text UNIQUE;
ALTER TABLE users ADD CONSTRAINT users_source_identity
	CHECK ((source = 'local') = (external_id IS NULL)
	   AND (source = 'local' OR password_hash IS NULL));
COMMENT ON COLUMN users.password_hash IS 'Argon2id hash in libsodium crypto_pwhash_str format; never the password. NULL for a federated account.';
COMMENT ON COLUMN users.source IS 'Who vouches for the account at login: local (a password here), oidc (the OpenID provider) or ldap (the directory).';
COMMENT ON COLUMN users.external_id IS 'The identity at the provider: ISSUER|SUBJECT for oidc, the entry''s DN for ldap; NULL for local accounts.';

-- An authorization-code login under way (GET /api/v1/oidc/login until its
-- callback): single use, for 10 minutes. Only hashes of the state and of
-- the browser's cookie are kept, so that a read of this table cannot
-- finish somebody's login.
CREATE TABLE oidc_logins (
	state_hash bytea PRIMARY KEY CHECK (length(state_hash) = 32),
	browser_hash bytea NOT NULL CHECK (length(browser_hash) = 32),
	nonce text NOT NULL,
	verifier text NOT NULL,
	return_to text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oidc_logins_created ON oidc_logins (created_at);
COMMENT ON TABLE oidc_logins IS 'OpenID Connect logins under way: each is used once by its callback, within 10 minutes.';
COMMENT ON COLUMN oidc_logins.state_hash IS 'SHA-256 of the state sent to the provider.';
COMMENT ON COLUMN oidc_logins.browser_hash IS 'SHA-256 of the cookie given to the browser that started the login: only that browser can finish it.';
COMMENT ON COLUMN oidc_logins.nonce IS 'The nonce the ID token must carry.';
COMMENT ON COLUMN oidc_logins.verifier IS 'The PKCE code verifier (RFC 7636) sent with the code.';
COMMENT ON COLUMN oidc_logins.return_to IS 'The page path to go back to after the login.';
COMMENT ON COLUMN oidc_logins.created_at IS 'When the login began.';
