/* mgr-req.js — specimen requests for managers (docs/api-requests.md): the
 * list by state; one request decided (approve, or reject with a reason),
 * allocated and its allocation reviewed (a tube dropped, or swapped for
 * another: the new one is added first, so a refused swap drops nothing);
 * the pick list printed (the server's PDF) or picked at the bench (pick.js);
 * the picked tubes made into a shipment. */
import { get, post, api, ApiError } from './api.js';
import { h, fill, esc, when } from './dom.js';
import { t, num } from './i18n.js';
import { onSubmit } from './forms.js';
import { says, table, scroller, field, choice, formMessage, download, managersOnly } from './mgr-common.js';

export const name = 'mgr-req';

const STATES = ['submitted', 'approved', 'allocated', 'shipped', 'closed', 'rejected'];
const CONDITIONS = ['dry_ice', 'ln2_dry_shipper', 'cold_pack', 'ambient'];

async function listView(ctx, main, state) {
	const current = STATES.includes(state) ? state : 'submitted';
	const tabs = h('nav.tabs', { 'aria-label': t('mgr.req.states') }, STATES.map((s) => h('a', { href: `#/mgr/requests/${s}`,
		'aria-current': s === current ? 'page' : null }, t(`mgr.req.st.${s}`))));
	const body = h('div#req-list', h('p.loading', t('mgr.people.loading')));
	fill(main, h('section.mgr.requests', h('h1', t('mgr.req.title')), tabs, body));
	try {
		const page = await get(`/api/v1/requests?status=${current}&limit=200`);
		fill(body, page.items.length ? scroller(t('mgr.req.title'), table('mgr-list', ['mgr.req.th.id', 'mgr.req.th.title', 'mgr.req.th.study',
			'mgr.req.th.purpose', 'mgr.req.th.requester', 'mgr.req.th.filed', 'mgr.req.th.tubes'], page.items.map((q) => [
			h('a', { href: `#/mgr/request/${q.id}` }, `#${q.id}`), q.title, q.criteria.study, t(`mgr.req.purpose.${q.purpose}`),
			q.requester, when(q.created_at), num(q.allocation.specimens)]),
		(i) => ({ dataset: { request: page.items[i].id } })))
			: h('p.dim', t('mgr.req.none', { state: t(`mgr.req.st.${current}`) })));
	} catch (e) {
		fill(body, h('p.problem', says(e)));
	}
}

function criteriaWords(c) {
	const parts = [t('mgr.req.cr.types', { types: c.types.join(', ') }),
		t('mgr.req.cr.timepoints', { tps: c.timepoints?.length ? c.timepoints.join(', ') : t('mgr.req.cr.any') }),
		t('mgr.req.cr.participants', { count: c.participants })];
	if (c.quantity?.value) parts.push(t('mgr.req.cr.quantity', { q: `${num(Number(c.quantity.value))} ${c.quantity.unit}` }));
	if (c.exclusions?.diagnoses?.length) parts.push(t('mgr.req.cr.excluded', { dx: c.exclusions.diagnoses.join(', ') }));
	if (c.exclusions?.max_freeze_thaw !== null && c.exclusions?.max_freeze_thaw !== undefined)
		parts.push(t('mgr.req.cr.ftc', { count: c.exclusions.max_freeze_thaw }));
	if (c.allow_last_aliquot) parts.push(t('mgr.req.cr.last'));
	return parts.join(' · ');
}

/* Approve or reject: one form each, the reason required to reject. */
function decision(ctx, q) {
	const reason = h('textarea', { rows: 2, maxlength: 1000 });
	const form = h('form.card#rq-decide', h('h2', t('mgr.req.decide')),
		field('rq-reason', 'mgr.req.reason', reason),
		h('p.hint', t('mgr.req.reasonHint')),
		h('div.row', h('button.primary#rq-approve', { type: 'submit', value: 'approve' }, t('mgr.req.approve')),
			h('button.danger#rq-reject', { type: 'submit', value: 'reject' }, t('mgr.req.reject'))));
	onSubmit(form, async (ev, key) => {
		formMessage(form, '');
		const what = ev.submitter?.value === 'reject' ? 'reject' : 'approve';
		const why = reason.value.trim();
		if (what === 'reject' && !why) {
			formMessage(form, t('mgr.req.rejectNeedsReason'));
			reason.focus();
			return;
		}
		try {
			/* One key per form and decision: a double click decides once. */
			await post(`/api/v1/requests/${q.id}/${what}`, why ? { reason: why } : {}, { key: `${key}-${what}` });
			ctx.fb.ok(t(what === 'approve' ? 'mgr.req.approved' : 'mgr.req.rejected', { id: q.id }), { focus: false });
			ctx.refresh();
		} catch (e) {
			formMessage(form, says(e));
			ctx.fb.error(says(e), { focus: false });
		}
	});
	return form;
}

function allocation(ctx, q) {
	const reserved = (q.specimens || []).filter((s) => s.state === 'reserved');
	const editable = q.status === 'allocated';
	const rows = (q.specimens || []).map((s) => {
		const actions = [];
		if (editable && s.state === 'reserved' && !s.picked_at) {
			actions.push(h('button.rq-drop', { type: 'button', dataset: { specimen: s.id }, onclick: () => drop(ctx, q, s.id) }, t('mgr.req.drop')));
			actions.push(swapForm(ctx, q, s.id));
		}
		return [s.id, s.participant, `${s.type} · ${s.timepoint}`, s.freeze_thaw_count,
			s.box ? `${s.box} ${s.position}` : '—', t(`mgr.req.item.${s.state}`) + (s.picked_at ? ` · ${t('mgr.req.picked', { at: when(s.picked_at) })}` : ''),
			h('div.row', actions)];
	});
	const add = h('form.row#rq-add', h('div', field('rq-add-ids', 'mgr.req.addIds', h('input', { autocomplete: 'off', spellcheck: 'false' }))),
		h('button', { type: 'submit' }, t('mgr.req.add')));
	onSubmit(add, async (ev, key) => {
		formMessage(add, '');
		const ids = add.querySelector('input').value.split(/[\s,;]+/).filter(Boolean);
		if (!ids.length) return;
		try {
			await post(`/api/v1/requests/${q.id}/specimens`, { specimens: ids }, { key });
			ctx.fb.ok(t('mgr.req.added', { count: ids.length }), { focus: false });
			ctx.refresh();
		} catch (e) {
			formMessage(add, says(e));
		}
	});
	return h('section.card#rq-allocation',
		h('h2', t('mgr.req.allocation', { count: q.allocation.specimens, p: q.allocation.participants })),
		h('p.dim', t('mgr.req.allocSummary', { picked: q.allocation.picked, shipped: q.allocation.shipped, reserved: reserved.length })),
		rows.length ? scroller(t('mgr.req.allocationLabel'), table('mgr-list#rq-tubes', ['mgr.req.th.tube', 'mgr.req.th.participant', 'mgr.req.th.what',
			'mgr.req.th.ftc', 'mgr.req.th.place', 'mgr.req.th.state', 'mgr.req.th.actions'], rows,
		(i) => ({ dataset: { specimen: q.specimens[i].id } }))) : h('p.dim', t('mgr.req.noTubes')),
		editable ? add : null);
}

async function drop(ctx, q, id) {
	try {
		await api('DELETE', `/api/v1/requests/${q.id}/specimens/${esc(id)}`);
		ctx.fb.ok(t('mgr.req.dropped', { id }), { focus: false });
		ctx.refresh();
	} catch (e) {
		ctx.fb.error(says(e), { focus: false });
	}
}

/* A swap: the replacement is added first; only when the server took it is the old tube dropped. */
function swapForm(ctx, q, id) {
	const input = h('input.rq-swap-id', { autocomplete: 'off', spellcheck: 'false', 'aria-label': t('mgr.req.swapFor', { id }), size: 10 });
	const form = h('form.rq-swap.row', input, h('button', { type: 'submit' }, t('mgr.req.swap')));
	onSubmit(form, async (ev, key) => {
		const other = input.value.trim();
		if (!other) return;
		try {
			await post(`/api/v1/requests/${q.id}/specimens`, { specimens: [other] }, { key });
		} catch (e) {
			ctx.fb.error(t('mgr.req.swapRefused', { id, other, why: says(e) }), { focus: false });
			return;
		}
		try {
			await api('DELETE', `/api/v1/requests/${q.id}/specimens/${esc(id)}`);
			ctx.fb.ok(t('mgr.req.swapped', { id, other }), { focus: false });
		} catch (e) {
			ctx.fb.error(says(e), { focus: false });
		}
		ctx.refresh();
	});
	return form;
}

function pickAndShip(ctx, q) {
	const csv = h('button#rq-pick-csv', { type: 'button' }, t('mgr.req.pickCsv'));
	const pdf = h('button#rq-pick-pdf', { type: 'button' }, t('mgr.req.pickPdf'));
	const get = (accept, ext) => async () => {
		try {
			await download(`/api/v1/requests/${q.id}/pick-list`, accept, `pick-list-${q.id}.${ext}`);
		} catch (e) {
			ctx.fb.error(says(e), { focus: false });
		}
	};
	pdf.addEventListener('click', get('application/pdf', 'pdf'));
	csv.addEventListener('click', get('text/csv', 'csv'));
	const dest = h('input', { maxlength: 200, autocomplete: 'off' });
	const cond = choice(CONDITIONS, 'mgr.ship.cond.', 'dry_ice');
	const ship = h('form#rq-ship', h('h3', t('mgr.req.shipTitle')),
		h('p.hint', t('mgr.req.shipHint', { count: q.allocation.picked })),
		h('div.grid2', h('div', field('rq-dest', 'mgr.ship.th.destination', dest)), h('div', field('rq-cond', 'mgr.ship.th.conditions', cond))),
		h('button.primary', { type: 'submit' }, t('mgr.req.ship')));
	onSubmit(ship, async (ev, key) => {
		formMessage(ship, '');
		if (!dest.value.trim()) {
			formMessage(ship, t('mgr.ship.destNeeded'));
			return;
		}
		try {
			const sh = await post(`/api/v1/requests/${q.id}/shipments`, { destination: dest.value.trim(), conditions: cond.value }, { key });
			ctx.fb.ok(t('mgr.req.shipped', { id: sh.id, count: sh.specimen_count }), { focus: false });
			ctx.go(`#/mgr/shipment/${sh.id}`);
		} catch (e) {
			formMessage(ship, says(e));
			ctx.fb.error(says(e), { focus: false });
		}
	});
	return h('section.card#rq-pick', h('h2', t('mgr.req.pickTitle')),
		h('div.row', pdf, csv, h('a.button', { href: `#/request/${q.id}/pick` }, t('mgr.req.pickBench'))),
		q.allocation.picked > 0 ? ship : h('p.dim', t('mgr.req.pickFirst')));
}

/* Release every reserved tube, or close the request: each asks to be pressed twice. */
function endings(ctx, q) {
	const out = [];
	for (const what of ['release', 'close']) {
		if (what === 'release' && q.status !== 'allocated') continue;
		if (what === 'close' && !['approved', 'allocated', 'shipped'].includes(q.status)) continue;
		const b = h('button', { type: 'button', id: `rq-${what}` }, t(`mgr.req.${what}`));
		let armed = false;
		b.addEventListener('click', async () => {
			if (!armed) {
				armed = true;
				b.textContent = t(`mgr.req.${what}Sure`);
				b.classList.add('danger');
				return;
			}
			try {
				await post(`/api/v1/requests/${q.id}/${what}`, undefined);
				ctx.fb.ok(t(`mgr.req.${what}d`, { id: q.id }), { focus: false });
				ctx.refresh();
			} catch (e) {
				ctx.fb.error(says(e), { focus: false });
			}
		});
		out.push(b);
	}
	return out.length ? h('div.row#rq-end', out) : null;
}

async function requestView(ctx, main, id) {
	fill(main, h('p.loading', t('mgr.people.loading')));
	let q;
	try {
		q = await get(`/api/v1/requests/${esc(id)}`);
	} catch (e) {
		fill(main, h('section.card', h('p.problem', says(e)), h('a', { href: '#/mgr/requests' }, t('mgr.req.back'))));
		return;
	}
	const c = q.criteria;
	const allocate = h('button.primary#rq-allocate', { type: 'button' }, t('mgr.req.allocate'));
	allocate.addEventListener('click', async () => {
		allocate.disabled = true;
		try {
			const r = await post(`/api/v1/requests/${q.id}/allocate`, undefined);
			ctx.fb.ok(t('mgr.req.allocated', { count: r.allocation?.specimens ?? (r.specimens || []).length }), { focus: false });
			ctx.refresh();
		} catch (e) {
			allocate.disabled = false;
			ctx.fb.error(says(e), { focus: false });
		}
	});
	fill(main, h('section.mgr.request', { dataset: { request: q.id, status: q.status } },
		h('p', h('a', { href: `#/mgr/requests/${q.status}` }, t('mgr.req.back'))),
		h('h1', t('mgr.req.heading', { id: q.id, title: q.title })),
		h('section.card', h('dl.facts',
			h('dt', t('mgr.req.th.state')), h('dd#rq-status', h('span.badge', t(`mgr.req.st.${q.status}`))),
			h('dt', t('mgr.req.th.study')), h('dd', c.study),
			h('dt', t('mgr.req.th.purpose')), h('dd', t(`mgr.req.purpose.${q.purpose}`)),
			h('dt', t('mgr.req.th.project')), h('dd', q.project || '—'),
			h('dt', t('mgr.req.th.ethics')), h('dd', [q.ethics_ref, q.mta_ref].filter(Boolean).join(' · ') || '—'),
			h('dt', t('mgr.req.th.requester')), h('dd', t('mgr.req.filedBy', { who: q.requester, at: when(q.created_at) })),
			h('dt', t('mgr.req.th.criteria')), h('dd', criteriaWords(c)),
			q.decision && [h('dt', t('mgr.req.th.decision')), h('dd#rq-decision', t('mgr.req.decidedBy', { who: q.decision.by,
				at: when(q.decision.at), reason: q.decision.reason || '—' }))],
			q.shipments?.length ? [h('dt', t('mgr.req.th.shipments')), h('dd', q.shipments.map((s) => h('a.chip', { href: `#/mgr/shipment/${s}` }, `#${s}`)))] : null)),
		q.notices?.length ? h('section.card.warnbox#rq-notices', h('h2', t('mgr.req.notices')),
			h('ul', q.notices.map((n) => h('li', `${when(n.at)} — ${n.code === 'consent-withdrawn'
				? t('mgr.req.noticeConsent', { count: n.count, ids: (n.specimens || []).join(', ') }) : n.message}`)))) : null,
		q.status === 'submitted' ? decision(ctx, q) : null,
		q.status === 'approved' ? h('section.card', h('p', t('mgr.req.allocateHint')), allocate) : null,
		['allocated', 'shipped', 'closed'].includes(q.status) ? allocation(ctx, q) : null,
		['allocated', 'shipped'].includes(q.status) && q.allocation.specimens > q.allocation.shipped ? pickAndShip(ctx, q) : null,
		endings(ctx, q)));
}

export async function render(ctx, main, [kind, arg]) {
	if (!managersOnly(ctx, main)) return null;
	if (kind === 'request') await requestView(ctx, main, arg);
	else await listView(ctx, main, arg);
	return null;
}
