/* sso.js — the session a login through the identity provider hands back in
 * the URL fragment (GET /api/v1/oidc/callback answers 302 to /#session=bb_...;
 * docs/sso.md): kept as a password login's session is, and taken out of the
 * address bar and history before anything else runs. Loaded before app.js,
 * which then reads the account it belongs to (GET /api/v1/sessions/current). */
import { saveSession } from './api.js';

const m = /^#session=(bb_[A-Za-z0-9_-]{43})$/.exec(location.hash);
if (m) {
	saveSession({ token: m[1], user: { username: '', role: '', studies: [] } });
	history.replaceState(null, '', location.pathname + location.search);
}
