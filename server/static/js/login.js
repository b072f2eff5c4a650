/* login.js — user name and password for a session token. */
import { api, get, saveSession } from './api.js';
import { h, fill } from './dom.js';

export const name = 'login';

export function render(ctx, main, params, done) {
	const user = h('input#user', { name: 'username', autocomplete: 'username', required: true });
	const pass = h('input#pass', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
	const msg = h('p.formerror', { role: 'alert' });
	const form = h('form.card.login',
		h('h1', 'Log in'),
		h('label', { for: 'user' }, 'User name'), user,
		h('label', { for: 'pass' }, 'Password'), pass,
		msg,
		h('button.primary', { type: 'submit' }, 'Log in'));
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
			ctx.fb.ok(`Logged in as ${cur.user.username} (${cur.user.role})`, { sound: false });
			done();
		} catch (e) {
			msg.textContent = e.status === 401 ? 'Wrong user name or password' : e.message;
			ctx.fb.error(msg.textContent);
			pass.value = '';
			pass.focus();
		}
	});
	main.dataset.view = 'login';
	fill(main, form);
	user.focus();
}
