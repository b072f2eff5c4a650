/* auditlist.js — every rack audit (GET /api/v1/audits), newest first, with
 * its discrepancies and the resolutions chosen at its close: a row opens to
 * the audit's record (GET /api/v1/audits/{id}); the audit itself, with its
 * grid, is audit.js (#/audit/ID). */
import { get, ApiError } from './api.js';
import { h, fill, esc } from './dom.js';
import { t, problemText, when } from './i18n.js';

export const name = 'audits';

function scopeText(a) {
	return a.scope?.box ? t('mgr.audits.box', { box: a.scope.box }) : (a.scope?.path || []).join(' › ');
}

/* The record of one audit: its discrepancies, and what was done about each. */
async function record(id, into) {
	const r = await get(`/api/v1/audits/${esc(id)}`);
	const done = new Map((r.resolutions || []).map((x) => [x.specimen, x]));
	const rows = r.discrepancies.map((d) => {
		const res = d.specimen && done.get(d.specimen);
		return h('tr', { dataset: { kind: d.kind } },
			h('td', h('span', { class: `kindtag k-${d.kind}` }, t(`audit.k.${d.kind}`))),
			h('td', d.specimen ? h('a', { href: `#/specimen/${esc(d.specimen)}` }, d.specimen) : (d.barcode || '—')),
			h('td', d.box || '—'), h('td', d.expected || '—'), h('td', d.found || '—'),
			h('td.resolution', res ? t(`audit.res.${res.action}`) : (r.status === 'closed' ? t('mgr.audits.flagged') : t('mgr.audits.pending'))));
	});
	fill(into,
		r.discrepancies.length
			? h('div.tablewrap', { tabindex: 0, role: 'region', 'aria-label': t('mgr.audits.recordOf', { id }) }, h('table.discrepancies', { id: `audit-record-${id}` },
				h('caption.sr', t('mgr.audits.recordOf', { id })),
				h('thead', h('tr', h('th', { scope: 'col' }, t('audit.th.kind')), h('th', { scope: 'col' }, t('audit.th.tube')),
					h('th', { scope: 'col' }, t('mgr.audits.th.box')), h('th', { scope: 'col' }, t('audit.th.expected')),
					h('th', { scope: 'col' }, t('audit.th.found')), h('th', { scope: 'col' }, t('audit.th.resolution')))),
				h('tbody', rows)))
			: h('p', t('mgr.audits.clean')),
		h('p', h('a', { href: `#/audit/${esc(id)}` }, t('mgr.audits.open', { id }))));
}

function row(a) {
	const body = h('div.auditrecord');
	const s = a.summary || {};
	const det = h('details.auditrow', { dataset: { audit: a.id, status: a.status } },
		h('summary',
			h('strong', t('mgr.audits.n', { id: a.id })), ' ',
			h('span', scopeText(a)), ' ',
			h('span', { class: `badge st-audit-${a.status}` }, t(`audit.st.${a.status}`)), ' ',
			h('span.dim', t('mgr.audits.started', { at: when(a.started_at), who: a.started_by })),
			a.status === 'closed'
				? h('span.counts', ' ', t('mgr.audits.counts', { expected: s.expected ?? 0, found: s.found ?? 0,
					d: a.discrepancies, r: a.resolutions }))
				: h('span.counts', ' ', t('mgr.audits.scanned', { n: a.boxes_scanned, boxes: a.boxes }))),
		body);
	let loaded = false;
	det.addEventListener('toggle', async () => {
		if (!det.open || loaded) return;
		loaded = true;
		fill(body, h('p.loading', t('mgr.loading')));
		try {
			await record(a.id, body);
		} catch (e) {
			loaded = false;
			fill(body, h('p.problem', problemText(e)));
		}
	});
	return det;
}

export async function render(ctx, main) {
	if (!ctx.can('manager')) {
		fill(main, h('p.problem', t('mgr.managersOnly')));
		return;
	}
	const status = h('select#audits-status',
		h('option', { value: '' }, t('mgr.audits.all')),
		h('option', { value: 'open' }, t('audit.st.open')),
		h('option', { value: 'closed' }, t('audit.st.closed')));
	const list = h('div#audits-list');
	const more = h('button#audits-more', { type: 'button', hidden: true }, t('mgr.more'));
	let cursor = null;
	const load = async (again) => {
		const q = new URLSearchParams({ limit: '25' });
		if (status.value) q.set('status', status.value);
		if (again && cursor) q.set('cursor', cursor);
		try {
			const page = await get(`/api/v1/audits?${q}`);
			if (!again) fill(list);
			list.append(...page.items.map(row));
			if (!again && !page.items.length) fill(list, h('p', t('mgr.audits.none')));
			cursor = page.next_cursor;
			more.hidden = !cursor;
		} catch (e) {
			if (e instanceof ApiError && e.status === 401) return;
			fill(list, h('p.problem', problemText(e)));
			ctx.fb.error(problemText(e));
		}
	};
	status.addEventListener('change', () => load(false));
	more.addEventListener('click', () => load(true));
	fill(main, h('section.mgr.auditlist',
		h('h1', t('mgr.audits.title')),
		h('p.hint', t('mgr.audits.hint')),
		h('div.row', h('label', { for: 'audits-status' }, t('mgr.audits.status')), status,
			h('a.button', { href: '#/audit' }, t('mgr.audits.new'))),
		list, more));
	await load(false);
}
