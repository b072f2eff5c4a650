/* login.js — user name and password for a session token, or the hospital
 * account's sign-in (sso.js) where the site has one; a reset password changed first. */
import { api, get, saveSession, session } from './api.js';
import { h, fill } from './dom.js';
import { t, problemText } from './i18n.js';
import { startUrl, rememberView, takeError, errorText } from './sso.js';

export const name = 'login';

/* What a refused login tells the person at the bench. */
function refusal(e) {
	if (e.problem && e.problem.code === 'account-disabled') return t('login.disabled');
	return e.status === 401 ? t('login.wrong') : problemText(e);
}

/* Whether this site offers the hospital account's sign-in (GET /api/v1/site/sign-in), asked once. */
function signInMethods(ctx) {
	if (!ctx.features.signIn)
		ctx.features.signIn = get('/api/v1/site/sign-in', { noAuth: true }).catch(() => {
			/* an older server, or a hiccup: local accounts only, asked again next time */
			ctx.features.signIn = null;
			return { oidc: false };
		});
	return ctx.features.signIn;
}

export async function render(ctx, main, params, done) {
	const methods = await signInMethods(ctx);
	const user = h('input#user', { name: 'username', autocomplete: 'username', required: true });
	const pass = h('input#pass', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
	const msg = h('p.formerror', { role: 'alert' });
	/* A link, not a script: the browser goes to the provider and comes back. */
	const sso = methods.oidc && h('a.button.primary.sso#sso-login', { href: startUrl() }, t('login.sso.button'));
	if (sso) sso.addEventListener('click', rememberView);
	const form = h('form.card.login',
		h('h1', t('login.title')),
		sso && h('div.sso', sso, h('p.hint.or', t('login.sso.or'))),
		h('label', { for: 'user' }, t('login.user')), user,
		h('label', { for: 'pass' }, t('login.password')), pass,
		msg,
		h('button.primary', { type: 'submit' }, t('login.submit')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		msg.textContent = '';
		try {
			const res = await api('POST', '/api/v1/sessions',
				{ username: user.value, password: pass.value }, { noAuth: true, idempotent: false });
			saveSession({ token: res.token, user: res.user });
			/* The role comes from the server, not from what the form said. */
			const cur = await get('/api/v1/sessions/current');
			saveSession({ token: res.token, user: cur.user });
			if (cur.user.password_change_required) {
				renderChange(ctx, main, pass.value, done);
				return;
			}
			ctx.fb.ok(t('login.welcome', { user: cur.user.username, role: t(`role.${cur.user.role}`) }), { sound: false });
			done();
		} catch (e) {
			msg.textContent = refusal(e);
			ctx.fb.error(msg.textContent, { focus: false });
			pass.value = '';
			pass.focus();
		}
	});
	main.dataset.view = 'login';
	fill(main, form);
	const refused = takeError();
	if (refused) {
		msg.textContent = errorText(refused);
		ctx.fb.error(msg.textContent, { focus: false });
	}
	(sso || user).focus();
}

/*
 * An administrator reset the password: nothing else is allowed until it is
 * changed. current: the password just typed at login ('' after a reload,
 * when it is asked for again).
 */
export function renderChange(ctx, main, current, done) {
	const old = h('input#pw-current', { type: 'password', autocomplete: 'current-password', required: true });
	const fresh = h('input#pw-new', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
	const again = h('input#pw-again', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
	const msg = h('p.formerror', { role: 'alert' });
	old.value = current || '';
	const form = h('form.card.login.pwchange',
		h('h1', t('pw.title')),
		h('p.hint', t('pw.hint')),
		h('label', { for: 'pw-current' }, t('pw.current')), old,
		h('label', { for: 'pw-new' }, t('pw.new')), fresh,
		h('label', { for: 'pw-again' }, t('pw.again')), again,
		msg,
		h('button.primary#pw-submit', { type: 'submit' }, t('pw.submit')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		msg.textContent = '';
		if (fresh.value !== again.value) {
			msg.textContent = t('pw.differ');
			ctx.fb.error(msg.textContent, { focus: false });
			again.focus();
			return;
		}
		try {
			await api('PUT', '/api/v1/sessions/current/password',
				{ current_password: old.value, new_password: fresh.value }, { idempotent: false });
			const cur = await get('/api/v1/sessions/current');
			saveSession({ token: session().token, user: cur.user });
			ctx.fb.ok(t('pw.changed'), { sound: false });
			done();
		} catch (e) {
			msg.textContent = e.problem && e.problem.code === 'wrong-password'
				? t('pw.wrong') : problemText(e);
			ctx.fb.error(msg.textContent, { focus: false });
		}
	});
	main.dataset.view = 'pwchange';
	fill(main, form);
	(old.value ? fresh : old).focus();
}
