/* forms.js — how a form sends: once per submission, and with one
 * Idempotency-Key for the life of the form instance. A double click, or a
 * second press after a timeout whose request did reach the server, sends
 * the same key, so the server does the work once and answers the repeat
 * with the first answer (docs/api.md, Idempotency-Key). The key is dropped
 * when the form is reset (after a success, for the next collection), and a
 * form made anew (a card redrawn) has a key of its own. */

const keys = new WeakMap();

export function formKey(form) {
	let k = keys.get(form);
	if (!k) {
		k = crypto.randomUUID();
		keys.set(form, k);
	}
	return k;
}

/*
 * handler(ev, key) runs for a submission; submissions while one is in
 * flight are ignored (the button says so with aria-busy).
 */
export function onSubmit(form, handler) {
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (form.getAttribute('aria-busy') === 'true') return;
		form.setAttribute('aria-busy', 'true');
		try {
			await handler(ev, formKey(form));
		} finally {
			form.removeAttribute('aria-busy');
		}
	});
	form.addEventListener('reset', () => keys.delete(form));
	return form;
}
