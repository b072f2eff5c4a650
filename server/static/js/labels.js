/* labels.js — label previews and printing. Printing is offered only when
 * the site has printers (GET /api/v1/site), chosen from their names. */
import { get, post } from './api.js';
import { h, esc } from './dom.js';
import { t, problemText } from './i18n.js';
import { onSubmit } from './forms.js';
import { printers } from './site.js';

/* The label preview as an <img>, or null while it cannot be had. */
export async function labelPreview(id) {
	try {
		const blob = await get(`/api/v1/specimens/${esc(id)}/label.png`, { blob: true });
		const img = h('img.label', { alt: t('label.alt', { id }), src: URL.createObjectURL(blob) });
		img.addEventListener('load', () => URL.revokeObjectURL(img.src), { once: true });
		return img;
	} catch {
		return null;
	}
}

/* A print form for ids (the printer last used chosen again), or null when
 * the role may not print or no printer is configured. */
export function printForm(ctx, ids) {
	const names = printers();
	if (!ctx.can('bench') || !names.length) return null;
	const last = localStorage.getItem('biobank.printer');
	const printer = h('select.printer#print-printer', names.map((n) => h('option', { value: n, selected: n === last }, n)));
	const btn = h('button', { type: 'submit' }, t('label.print', { n: ids.length }));
	const form = h('form.print', h('label', { for: 'print-printer' }, t('label.printer')), printer, btn);
	onSubmit(form, async (ev, key) => {
		localStorage.setItem('biobank.printer', printer.value);
		try {
			await post('/api/v1/print', { ids, printer: printer.value }, { key });
			ctx.fb.ok(t('label.sent', { n: ids.length, printer: printer.value }));
			form.reset(); /* a deliberate reprint is a new print */
			printer.value = localStorage.getItem('biobank.printer');
		} catch (e) {
			ctx.fb.error(problemText(e));
		}
	});
	return form;
}
