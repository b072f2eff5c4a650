-- 0026: account administration (issue 16, "Accounts").
--
-- A password an administrator sets (PUT /api/v1/users/NAME/password) is
-- known to two people; until its owner replaces it with one of their own
-- (PUT /api/v1/sessions/current/password, which needs it), the sessions it
-- opens may do nothing else (docs/api-accounts.md). Service tokens are
-- not sessions: an admin issued them on purpose, and they keep working.
-- Disabling and re-enabling an account uses users.disabled_at, which the
-- baseline already has; the functions are in functions/accounts.sql.
ALTER TABLE users ADD COLUMN password_change_required boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN users.password_change_required IS 'The password was set by an administrator: its sessions may only show who they are, log out and change the password (which clears this).';
