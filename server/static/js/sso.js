/* sso.js — what a login through the identity provider hands back in the URL
 * fragment (docs/sso.md): the session (GET /api/v1/oidc/callback answers 302
 * to /#session=bb_...), kept as a password login's session is; or, when the
 * sign-in did not succeed, the problem's code (/#sso-error=CODE), said on the
 * login page in the person's language. Either is taken out of the address bar
 * and history before anything else runs, and the view the person left for the
 * provider (a card, a box) is put back. Loaded before app.js, which then
 * reads the account the session belongs to (GET /api/v1/sessions/current). */
import { saveSession } from './api.js';
import { t, has } from './i18n.js';

const AFTER = 'biobank.after-sso';
let error = null;

const m = /^#session=(bb_[A-Za-z0-9_-]{43})$/.exec(location.hash);
const e = /^#sso-error=([a-z0-9-]{1,48})$/.exec(location.hash);
if (m || e) {
	if (m) saveSession({ token: m[1], user: { username: '', role: '', studies: [] } });
	else error = e[1];
	const back = sessionStorage.getItem(AFTER);
	sessionStorage.removeItem(AFTER);
	history.replaceState(null, '', location.pathname + location.search + (m && back ? back : ''));
}

/* This page load brings a session from the provider. */
export const arrived = Boolean(m);

/* Where the sign-in begins: the daemon sends the browser on to the provider. */
export const startUrl = () => `/api/v1/oidc/login?return_to=${encodeURIComponent(location.pathname)}`;

/* On leaving for the provider: the view to come back to. */
export function rememberView() {
	if (/^#\/[^#]*$/.test(location.hash)) sessionStorage.setItem(AFTER, location.hash);
	else sessionStorage.removeItem(AFTER);
}

/* The code of the sign-in that did not succeed, once; null when there is none. */
export function takeError() {
	const code = error;
	error = null;
	return code;
}

/* What a refused sign-in tells the person (the codes of docs/sso.md). */
export function errorText(code) {
	return has(`login.sso.error.${code}`) ? t(`login.sso.error.${code}`) : t('login.sso.error');
}
