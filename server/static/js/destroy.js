/* destroy.js — the destruction worklist: the tubes of donors who withdrew
 * consent that the biobank still holds (GET /reports/consent-withdrawn).
 * The manager ticks tubes, gives a reason, checks the count and confirms;
 * they are destroyed in one transaction, all or none
 * (POST /reports/consent-withdrawn/destroy). The form keeps one
 * Idempotency-Key until it is reset (forms.js): a double click on Confirm,
 * or a retry after a timeout, destroys once. */
import { post, ApiError } from './api.js';
import { h, fill, esc, when } from './dom.js';
import { t, problemText } from './i18n.js';
import { onSubmit } from './forms.js';
import { getAll } from './tablecsv.js';

export const name = 'destroy';

function place(s) {
	const l = s.location;
	if (!l) return '—';
	if (typeof l === 'string') return l;
	const path = Array.isArray(l.path) ? l.path.join(' › ') : (l.box || '');
	return l.position ? `${path} ${l.position}` : path;
}

export async function render(ctx, main) {
	if (!ctx.can('manager')) {
		fill(main, h('p.problem', t('mgr.managersOnly')));
		return;
	}
	let items;
	try {
		items = await getAll('/api/v1/reports/consent-withdrawn');
	} catch (e) {
		if (!(e instanceof ApiError) || e.status !== 401) fill(main, h('p.problem', problemText(e)));
		return;
	}
	const boxes = items.map((s) => h('input.pick', { type: 'checkbox', value: s.id, id: `destroy-${s.id}`,
		'aria-label': t('mgr.destroy.pickOne', { id: s.id }) }));
	const all = h('input#destroy-all', { type: 'checkbox' });
	const count = h('p#destroy-count', { 'aria-live': 'polite' });
	const picked = () => boxes.filter((b) => b.checked).map((b) => b.value);
	const recount = () => {
		const n = picked().length;
		count.textContent = t('mgr.destroy.selected', { n });
		all.checked = n > 0 && n === boxes.length;
	};
	all.addEventListener('change', () => {
		for (const b of boxes) b.checked = all.checked;
		recount();
	});
	for (const b of boxes) b.addEventListener('change', recount);

	const reason = h('textarea#destroy-reason', { rows: 2, maxlength: 1000, 'aria-describedby': 'destroy-reason-hint' });
	const reasonErr = h('p.formerror#destroy-reason-error', { hidden: true });
	const review = h('button.danger#destroy-review', { type: 'button' }, t('mgr.destroy.review'));
	const confirmBox = h('div.confirm#destroy-confirm', { hidden: true, role: 'group', 'aria-labelledby': 'destroy-confirm-text' });
	const form = h('form.card#destroy-form',
		h('label', { for: 'destroy-reason' }, t('mgr.destroy.reason')),
		h('p.hint#destroy-reason-hint', t('mgr.destroy.reasonHint')),
		reason, reasonErr, review, confirmBox);

	/* The first press checks and asks; only the confirmation sends. */
	review.addEventListener('click', () => {
		const ids = picked();
		reasonErr.hidden = true;
		if (!ids.length) {
			ctx.fb.error(t('mgr.destroy.noneSelected'), { focus: false });
			all.focus();
			return;
		}
		if (!reason.value.trim()) {
			reasonErr.textContent = t('mgr.destroy.noReason');
			reasonErr.hidden = false;
			reason.setAttribute('aria-invalid', 'true');
			ctx.fb.error(t('mgr.destroy.noReason'), { focus: false });
			reason.focus();
			return;
		}
		reason.removeAttribute('aria-invalid');
		const yes = h('button.danger#destroy-confirm-yes', { type: 'submit' }, t('mgr.destroy.confirm', { n: ids.length }));
		const no = h('button#destroy-confirm-no', { type: 'button' }, t('mgr.destroy.cancel'));
		no.addEventListener('click', () => {
			confirmBox.hidden = true;
			review.focus();
		});
		fill(confirmBox, h('p#destroy-confirm-text', t('mgr.destroy.sure', { n: ids.length, reason: reason.value.trim() })),
			h('ul.chips', ids.map((id) => h('li.chip', id))), yes, no);
		confirmBox.hidden = false;
		yes.focus();
	});
	onSubmit(form, async (ev, key) => {
		const ids = picked();
		if (!ids.length || !reason.value.trim()) return;
		try {
			const r = await post('/api/v1/reports/consent-withdrawn/destroy', { specimens: ids, reason: reason.value.trim() }, { key });
			form.reset();
			ctx.fb.ok(t('mgr.destroy.done', { n: r.destroyed }));
			ctx.refresh();
		} catch (e) {
			ctx.fb.error(problemText(e), { focus: false });
			confirmBox.hidden = true;
			review.focus();
		}
	});

	fill(main, h('section.mgr.destroyview',
		h('h1', t('mgr.destroy.title')),
		h('p.hint', t('mgr.destroy.hint')),
		items.length
			? [h('div.tablewrap', h('table#destroy-table',
				h('caption.sr', t('mgr.destroy.title')),
				h('thead', h('tr', h('th', { scope: 'col' }, h('label.sr', { for: 'destroy-all' }, t('mgr.destroy.pickAll')), all),
					h('th', { scope: 'col' }, t('mgr.rep.th.specimen')), h('th', { scope: 'col' }, t('mgr.rep.th.type')),
					h('th', { scope: 'col' }, t('mgr.rep.th.participant')), h('th', { scope: 'col' }, t('mgr.rep.th.status')),
					h('th', { scope: 'col' }, t('mgr.rep.th.location')), h('th', { scope: 'col' }, t('mgr.destroy.withdrawn')))),
				h('tbody', items.map((s, i) => h('tr', { dataset: { id: s.id } },
					h('td', boxes[i]),
					h('td', h('a', { href: `#/specimen/${esc(s.id)}` }, s.id)),
					h('td', s.type), h('td', s.participant ? `${s.participant.study} ${s.participant.code}` : ''),
					h('td', t(`status.${s.status}`)), h('td', place(s)), h('td', when(s.withdrawn_at))))))),
			count, form]
			: h('p#destroy-empty', t('mgr.destroy.empty'))));
	recount();
}
