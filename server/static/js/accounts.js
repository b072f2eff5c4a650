/* accounts.js — accounts for an admin of every study (docs/api-accounts.md):
 * users with their role, study limits and whether they may log in; a reset
 * password (to be changed at the next login); service tokens, whose secret
 * is shown once, in a dialog, and forgotten when the dialog closes — the
 * server keeps only its hash, so it can never be shown again. */
import { get, post, api, ApiError } from './api.js';
import { h, fill, esc, when } from './dom.js';
import { t, problemText } from './i18n.js';
import { onSubmit } from './forms.js';

export const name = 'accounts';

const ROLES = ['admin', 'manager', 'technician', 'auditor', 'printer', 'researcher'];

function roleSelect(id, value, label) {
	return h(`select#${id}`, { 'aria-label': label },
		ROLES.map((r) => h('option', { value: r, selected: r === value }, t(`mgr.acct.role.${r}`))));
}

const studiesOf = (text) => text.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);

function userRow(ctx, u, me) {
	const role = roleSelect(`acct-role-${u.username}`, u.role, t('mgr.acct.roleOf', { user: u.username }));
	const studies = h('input', { id: `acct-studies-${u.username}`, value: (u.studies || []).join(', '), autocomplete: 'off',
		'aria-label': t('mgr.acct.studiesOf', { user: u.username }), placeholder: t('mgr.acct.everyStudy'), size: 12 });
	const disabled = h('input', { type: 'checkbox', id: `acct-disabled-${u.username}`, checked: u.disabled,
		'aria-label': t('mgr.acct.disabledOf', { user: u.username }) });
	const save = h('button', { type: 'button', dataset: { action: 'save' } }, t('mgr.acct.save'));
	const reset = h('button', { type: 'button', dataset: { action: 'reset' }, disabled: u.source && u.source !== 'local' },
		t('mgr.acct.reset'));
	const resetBox = h('div.resetbox', { hidden: true });
	save.addEventListener('click', async () => {
		const change = {};
		if (role.value !== u.role) change.role = role.value;
		const st = studiesOf(studies.value);
		if (st.join() !== (u.studies || []).join()) change.studies = st;
		if (disabled.checked !== !!u.disabled) change.disabled = disabled.checked;
		if (!Object.keys(change).length) {
			ctx.fb.info(t('mgr.acct.nothing'));
			return;
		}
		try {
			const r = await api('PATCH', `/api/v1/users/${esc(u.username)}`, change);
			ctx.fb.ok(t('mgr.acct.saved', { user: u.username, ended: r.ended ?? 0 }), { focus: false });
			Object.assign(u, r);
		} catch (e) {
			ctx.fb.error(problemText(e), { focus: false });
			save.focus();
		}
	});
	reset.addEventListener('click', () => {
		const pw = h('input', { id: `acct-pw-${u.username}`, type: 'password', minlength: 8, autocomplete: 'new-password', required: true });
		const change = h('input', { id: `acct-pwchange-${u.username}`, type: 'checkbox', checked: true });
		const f = h('form.inline',
			h('label', { for: `acct-pw-${u.username}` }, t('mgr.acct.tempPassword', { user: u.username })), pw,
			h('label.check', change, ' ', t('mgr.acct.changeAtLogin')),
			h('button.primary', { type: 'submit' }, t('mgr.acct.setPassword')));
		onSubmit(f, async () => {
			if (pw.value.length < 8) {
				ctx.fb.error(t('mgr.acct.short'), { focus: false });
				pw.focus();
				return;
			}
			try {
				const r = await api('PUT', `/api/v1/users/${esc(u.username)}/password`, { password: pw.value, change_at_login: change.checked });
				ctx.fb.ok(t('mgr.acct.resetDone', { user: u.username, ended: r.ended ?? 0 }), { focus: false });
				resetBox.hidden = true;
				fill(resetBox);
				reset.focus();
			} catch (e) {
				ctx.fb.error(problemText(e), { focus: false });
			}
		});
		fill(resetBox, f);
		resetBox.hidden = false;
		pw.focus();
	});
	return [h('tr', { dataset: { user: u.username } },
		h('th', { scope: 'row' }, u.username, u.username === me && h('span.dim', ` ${t('mgr.acct.you')}`),
			u.password_change_required && h('span.dim', ` ${t('mgr.acct.mustChange')}`)),
		h('td', role), h('td', studies), h('td', h('label.check', disabled, ' ', t('mgr.acct.disabled'))),
		h('td', h('div.row', save, reset))),
	h('tr.resetrow', h('td', { colspan: 5 }, resetBox))];
}

function newUserForm(ctx) {
	const user = h('input#acct-new-user', { autocomplete: 'off', required: true, maxlength: 64 });
	const pw = h('input#acct-new-pw', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
	const role = roleSelect('acct-new-role', 'technician');
	role.removeAttribute('aria-label');
	const studies = h('input#acct-new-studies', { autocomplete: 'off', placeholder: t('mgr.acct.everyStudy') });
	const f = h('form.card#acct-new',
		h('h2', t('mgr.acct.newUser')),
		h('div.grid2',
			h('div', h('label', { for: 'acct-new-user' }, t('mgr.acct.username')), user),
			h('div', h('label', { for: 'acct-new-pw' }, t('mgr.acct.password')), pw),
			h('div', h('label', { for: 'acct-new-role' }, t('mgr.acct.role')), role),
			h('div', h('label', { for: 'acct-new-studies' }, t('mgr.acct.studies')), studies)),
		h('button.primary', { type: 'submit' }, t('mgr.acct.create')));
	onSubmit(f, async (ev, key) => {
		try {
			const body = { username: user.value.trim(), password: pw.value, role: role.value };
			const st = studiesOf(studies.value);
			if (st.length) body.studies = st;
			await post('/api/v1/users', body, { key });
			ctx.fb.ok(t('mgr.acct.created', { user: body.username }), { focus: false });
			f.reset();
			ctx.refresh();
		} catch (e) {
			ctx.fb.error(problemText(e), { focus: false });
		}
	});
	return f;
}

/* The new token, once: a modal dialog; closing it forgets the secret. */
function showSecret(ctx, tok, back) {
	const dlg = h('dialog#token-dialog', { 'aria-labelledby': 'token-dialog-title' });
	const secret = h('input#token-secret', { readonly: true, value: tok.token, 'aria-describedby': 'token-dialog-hint', spellcheck: 'false' });
	const copy = h('button#token-copy', { type: 'button' }, t('mgr.acct.copy'));
	const close = h('button.primary#token-close', { type: 'button' }, t('mgr.acct.closeSecret'));
	copy.addEventListener('click', async () => {
		try {
			await navigator.clipboard.writeText(secret.value);
			ctx.fb.ok(t('mgr.acct.copied'), { focus: false });
		} catch {
			secret.select();
			ctx.fb.warn(t('mgr.acct.copyByHand'), { focus: false, sound: false });
		}
	});
	close.addEventListener('click', () => dlg.close());
	dlg.addEventListener('close', () => {
		/* Gone from the page: no element, no value, no variable keeps it. */
		secret.value = '';
		tok.token = null;
		dlg.remove();
		back?.focus();
	});
	fill(dlg,
		h('h2#token-dialog-title', t('mgr.acct.secretTitle', { label: tok.label, user: tok.username })),
		h('p#token-dialog-hint', t('mgr.acct.secretHint')),
		h('label', { for: 'token-secret' }, t('mgr.acct.secret')), secret,
		h('div.row', copy, close));
	document.body.append(dlg);
	dlg.showModal();
	secret.select();
}

function tokensPart(ctx, users, tokens) {
	const user = h('select#token-user', users.map((u) => h('option', { value: u.username }, u.username)));
	const label = h('input#token-label', { required: true, autocomplete: 'off', maxlength: 200 });
	const days = h('input#token-days', { type: 'number', min: 1, max: 3650, inputmode: 'numeric' });
	const issue = h('button.primary#token-issue', { type: 'submit' }, t('mgr.acct.issue'));
	const f = h('form.card#token-new',
		h('h2', t('mgr.acct.newToken')),
		h('div.grid2',
			h('div', h('label', { for: 'token-user' }, t('mgr.acct.tokenUser')), user),
			h('div', h('label', { for: 'token-label' }, t('mgr.acct.label')), label),
			h('div', h('label', { for: 'token-days' }, t('mgr.acct.days')), days)),
		issue);
	onSubmit(f, async (ev, key) => {
		try {
			const body = { username: user.value, label: label.value.trim() };
			if (days.value) body.expires_in_days = Number(days.value);
			const tok = await post('/api/v1/tokens', body, { key });
			f.reset();
			showSecret(ctx, tok, issue);
			/* The list below, with the new token in it (its secret is not). */
			const list = await get('/api/v1/tokens');
			document.getElementById('token-list')?.replaceWith(tokenTable(ctx, list.items));
		} catch (e) {
			ctx.fb.error(problemText(e), { focus: false });
		}
	});
	return [f, tokenTable(ctx, tokens)];
}

function tokenTable(ctx, items) {
	if (!items.length) return h('p#token-list', t('mgr.acct.noTokens'));
	return h('div.tablewrap#token-list', h('table#token-table',
		h('caption', t('mgr.acct.tokens')),
		h('thead', h('tr', ['mgr.acct.th.id', 'mgr.acct.th.user', 'mgr.acct.th.label', 'mgr.acct.th.created', 'mgr.acct.th.expires', '']
			.map((k) => h('th', { scope: 'col' }, k ? t(k) : h('span.sr', t('mgr.acct.th.actions')))))),
		h('tbody', items.map((x) => {
			const revoke = h('button.danger', { type: 'button', dataset: { token: x.id } }, t('mgr.acct.revoke'));
			revoke.addEventListener('click', async () => {
				if (revoke.dataset.armed !== '1') {
					revoke.dataset.armed = '1';
					revoke.textContent = t('mgr.acct.revokeSure', { label: x.label });
					return;
				}
				try {
					await api('DELETE', `/api/v1/tokens/${x.id}`);
					ctx.fb.ok(t('mgr.acct.revoked', { label: x.label, user: x.username }), { focus: false });
					revoke.closest('tr').remove();
				} catch (e) {
					ctx.fb.error(problemText(e), { focus: false });
				}
			});
			return h('tr', { dataset: { token: x.id } }, h('td', String(x.id)), h('td', x.username), h('td', x.label),
				h('td', when(x.created_at)),
				h('td', x.expires_at ? `${when(x.expires_at)}${x.expired ? ` (${t('mgr.acct.expired')})` : ''}` : t('mgr.acct.never')),
				h('td', revoke));
		}))));
}

export async function render(ctx, main) {
	if (ctx.role !== 'admin') {
		fill(main, h('section.mgr', h('h1', t('mgr.acct.title')), h('p.problem#acct-admins', t('mgr.acct.adminsOnly'))));
		return;
	}
	let users, tokens;
	try {
		[users, tokens] = await Promise.all([get('/api/v1/users?limit=1000'), get('/api/v1/tokens')]);
	} catch (e) {
		if (e instanceof ApiError && e.status === 401) return;
		fill(main, h('section.mgr', h('h1', t('mgr.acct.title')), h('p.problem#acct-error', problemText(e))));
		return;
	}
	const me = ctx.user?.username;
	fill(main, h('section.mgr.accounts',
		h('h1', t('mgr.acct.title')),
		h('p.hint', t('mgr.acct.hint')),
		h('div.tablewrap', h('table#acct-table',
			h('caption', t('mgr.acct.users')),
			h('thead', h('tr', h('th', { scope: 'col' }, t('mgr.acct.username')), h('th', { scope: 'col' }, t('mgr.acct.role')),
				h('th', { scope: 'col' }, t('mgr.acct.studies')), h('th', { scope: 'col' }, t('mgr.acct.login')),
				h('th', { scope: 'col' }, h('span.sr', t('mgr.acct.th.actions'))))),
			h('tbody', users.items.map((u) => userRow(ctx, u, me))))),
		newUserForm(ctx),
		h('h2', t('mgr.acct.tokens')),
		h('p.hint', t('mgr.acct.tokensHint')),
		tokensPart(ctx, users.items, tokens.items)));
}
