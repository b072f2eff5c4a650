/* mgr-ship.js — shipments for managers (docs/api-shipments.md): the list
 * by status and a new shipment; a draft filled by scanning its tubes out
 * (each refusal says why, nothing is added for it) and dispatched; a
 * dispatched shipment received back: the tubes that arrived are scanned
 * against the manifest, the missing and the unexpected are listed as
 * discrepancies and go into the receipt with its condition. */
import { get, post, api, ApiError } from './api.js';
import { h, fill, esc, when } from './dom.js';
import { t, num, zonedNow, zonedToUtc, timeZone } from './i18n.js';
import { onSubmit } from './forms.js';
import { readId } from './ids.js';
import { says, table, scroller, field, choice, formMessage, download, managersOnly } from './mgr-common.js';

export const name = 'mgr-ship';

const STATUSES = ['draft', 'dispatched', 'received'];
const CONDITIONS = ['dry_ice', 'ln2_dry_shipper', 'cold_pack', 'ambient'];
const RECEIPT = ['good', 'thawed', 'damaged'];

async function listView(ctx, main, status) {
	const current = STATUSES.includes(status) ? status : '';
	const tabs = h('nav.tabs', { 'aria-label': t('mgr.ship.statuses') }, ['', ...STATUSES].map((s) => h('a', { href: s ? `#/mgr/shipments/${s}` : '#/mgr/shipments',
		'aria-current': s === current ? 'page' : null }, s ? t(`mgr.ship.st.${s}`) : t('mgr.ship.st.all'))));
	const body = h('div#ship-list', h('p.loading', t('mgr.people.loading')));
	fill(main, h('section.mgr.shipments', h('h1', t('mgr.ship.title')), tabs, body, createForm(ctx)));
	try {
		const page = await get(`/api/v1/shipments?limit=200${current ? `&status=${current}` : ''}`);
		fill(body, page.items.length ? scroller(t('mgr.ship.title'), table('mgr-list', ['mgr.ship.th.id', 'mgr.ship.th.destination', 'mgr.ship.th.conditions',
			'mgr.ship.th.status', 'mgr.ship.th.tubes', 'mgr.ship.th.opened', 'mgr.ship.th.request'], page.items.map((s) => [
			h('a', { href: `#/mgr/shipment/${s.id}` }, `#${s.id}`), s.destination, t(`mgr.ship.cond.${s.conditions}`), t(`mgr.ship.st.${s.status}`),
			num(s.specimen_count), when(s.created_at), s.request ? h('a', { href: `#/mgr/request/${s.request}` }, `#${s.request}`) : '—']),
		(i) => ({ dataset: { shipment: page.items[i].id } })))
			: h('p.dim', t('mgr.ship.none')));
	} catch (e) {
		fill(body, h('p.problem', says(e)));
	}
	return null;
}

function createForm(ctx) {
	const dest = h('input', { maxlength: 200, autocomplete: 'off' });
	const cond = choice(CONDITIONS, 'mgr.ship.cond.', 'dry_ice');
	const requester = h('input', { maxlength: 200, autocomplete: 'off' });
	const notes = h('textarea', { rows: 2, maxlength: 2000 });
	const form = h('form.card#ship-create', h('h2', t('mgr.ship.create')),
		h('div.grid2', h('div', field('sc-dest', 'mgr.ship.th.destination', dest)), h('div', field('sc-cond', 'mgr.ship.th.conditions', cond)),
			h('div', field('sc-requester', 'mgr.ship.th.requester', requester))),
		field('sc-notes', 'mgr.ship.th.notes', notes),
		h('button.primary', { type: 'submit' }, t('mgr.ship.createBtn')));
	onSubmit(form, async (ev, key) => {
		formMessage(form, '');
		if (!dest.value.trim()) {
			formMessage(form, t('mgr.ship.destNeeded'));
			dest.focus();
			return;
		}
		const body = { destination: dest.value.trim(), conditions: cond.value };
		if (requester.value.trim()) body.requester = requester.value.trim();
		if (notes.value.trim()) body.notes = notes.value.trim();
		try {
			const s = await post('/api/v1/shipments', body, { key });
			form.reset();
			ctx.fb.ok(t('mgr.ship.created', { id: s.id }), { focus: false });
			ctx.go(`#/mgr/shipment/${s.id}`);
		} catch (e) {
			formMessage(form, says(e));
		}
	});
	return form;
}

function manifestRows(s, seen) {
	return s.specimens.map((x) => [x.id, x.tube_barcode || '', `${x.type} · ${x.timepoint}`, `${x.participant.study} ${x.participant.code}`,
		x.from ? `${x.from.box} ${x.from.position}` : '—', t(`status.${x.status}`),
		seen ? (seen.has(x.id) ? h('strong.good', t('mgr.ship.arrived')) : h('strong.blocked', t('mgr.ship.notYet'))) : s.status === 'draft'
			? h('button.sh-remove', { type: 'button', dataset: { specimen: x.id } }, t('mgr.ship.remove')) : '']);
}

/* A draft: every scan adds its tube; a refusal is said, with the reasons the server gives. */
function draft(ctx, s, root) {
	const dispatch = h('button.primary#sh-dispatch', { type: 'button', disabled: s.specimen_count === 0 }, t('mgr.ship.dispatch'));
	let armed = false;
	dispatch.addEventListener('click', async () => {
		if (!armed) {
			armed = true;
			dispatch.textContent = t('mgr.ship.dispatchSure', { count: s.specimen_count, dest: s.destination });
			dispatch.classList.add('danger');
			return;
		}
		dispatch.disabled = true;
		try {
			await post(`/api/v1/shipments/${s.id}/dispatch`, undefined);
			ctx.fb.ok(t('mgr.ship.dispatched', { id: s.id }), { focus: false });
			ctx.refresh();
		} catch (e) {
			dispatch.disabled = false;
			ctx.fb.error(refusal(e), { focus: false });
		}
	});
	root.addEventListener('click', async (ev) => {
		const b = ev.target.closest('button.sh-remove');
		if (!b) return;
		try {
			await api('DELETE', `/api/v1/shipments/${s.id}/specimens/${esc(b.dataset.specimen)}`);
			ctx.fb.ok(t('mgr.ship.removed', { id: b.dataset.specimen }), { focus: false });
			ctx.refresh();
		} catch (e) {
			ctx.fb.error(says(e), { focus: false });
		}
	});
	root.append(h('section.card#sh-scanout', h('h2', t('mgr.ship.scanOut')), h('p.hint', t('mgr.ship.scanOutHint')), dispatch));
	return async (value) => {
		const r = readId(value);
		if (r.shaped && r.why) {
			ctx.fb.error(t('scan.mistyped', { value }));
			return true;
		}
		try {
			const m = await post(`/api/v1/shipments/${s.id}/specimens`, { specimens: [r.id || value] });
			ctx.fb.ok(t('mgr.ship.addedOne', { id: r.id || value, count: m.specimen_count }), { ms: 2500 });
			ctx.refresh();
		} catch (e) {
			if (e instanceof ApiError && e.problem.code === 'consent-withdrawn') ctx.fb.consent(refusal(e));
			else ctx.fb.error(refusal(e));
		}
		return true;
	};
}

/* A refusal naming its tubes: the server's list in English, the code's words otherwise. */
function refusal(e) {
	const refused = e?.problem?.refused;
	if (!Array.isArray(refused) || !refused.length) return says(e);
	const names = refused.map((x) => x.specimen || x.id || x).filter((x) => typeof x === 'string').join(', ');
	return `${says(e)}${names ? ` (${names})` : ''}`;
}

/* Dispatched: the tubes that arrived are scanned; the receipt records what did not match. */
function receive(ctx, s, root, seen, redraw) {
	const unexpected = [];
	/* Left as it was put (the minute the page opened), it means now: to the
	 * minute it could read as before the dispatch of a moment ago. */
	const opened = zonedNow();
	const at = h('input', { type: 'datetime-local', value: opened, required: true });
	const cond = choice(RECEIPT, 'mgr.ship.rc.', 'good');
	const notes = h('textarea', { rows: 3, maxlength: 2000 });
	const disc = h('div#sh-discrepancies', { 'aria-live': 'polite' });
	const form = h('form.card#sh-receipt', h('h2', t('mgr.ship.receive')), h('p.hint', t('mgr.ship.receiveHint')),
		disc,
		h('div.grid2', h('div', field('sr-at', 'mgr.ship.receivedAt', at), h('span.dim', t('mgr.ship.zone', { zone: timeZone() }))),
			h('div', field('sr-cond', 'mgr.ship.th.condition', cond))),
		field('sr-notes', 'mgr.ship.th.notes', notes),
		h('button.primary', { type: 'submit' }, t('mgr.ship.recordReceipt')));
	const missing = () => s.specimens.filter((x) => !seen.has(x.id)).map((x) => x.id);
	const showDisc = () => {
		const m = missing();
		fill(disc, h('h3', t('mgr.ship.discTitle')),
			h('p#sh-disc-summary', t('mgr.ship.discSummary', { seen: seen.size, count: s.specimens.length, m: m.length, u: unexpected.length })),
			m.length && seen.size ? h('p.sh-missing', t('mgr.ship.missing', { ids: m.join(', ') })) : null,
			unexpected.length ? h('p.sh-unexpected', t('mgr.ship.unexpected', { ids: unexpected.join(', ') })) : null);
	};
	showDisc();
	onSubmit(form, async (ev, key) => {
		formMessage(form, '');
		const when_ = at.value === opened ? new Date().toISOString() : zonedToUtc(at.value);
		if (!when_) {
			formMessage(form, t('mgr.ship.atNeeded'));
			return;
		}
		/* The discrepancies seen at the bench go into the receipt's notes, in words anyone can read later. */
		const m = seen.size ? missing() : [];
		const lines = [notes.value.trim()];
		if (m.length) lines.push(`missing: ${m.join(', ')}`);
		if (unexpected.length) lines.push(`unexpected: ${unexpected.join(', ')}`);
		const body = { received_at: when_, condition: cond.value };
		const text = lines.filter(Boolean).join('\n');
		if (text) body.notes = text;
		try {
			await post(`/api/v1/shipments/${s.id}/receipt`, body, { key });
			ctx.fb.ok(t('mgr.ship.received', { id: s.id }), { focus: false });
			ctx.refresh();
		} catch (e) {
			formMessage(form, says(e));
			ctx.fb.error(says(e), { focus: false });
		}
	});
	root.append(form);
	return async (value) => {
		const r = readId(value);
		const id = r.id || value;
		const line = s.specimens.find((x) => x.id === id || x.tube_barcode === value);
		if (!line) {
			if (!unexpected.includes(value)) unexpected.push(value);
			ctx.fb.elsewhere(t('mgr.ship.notOnManifest', { id: value }));
		} else if (seen.has(line.id)) {
			ctx.fb.warn(t('mgr.ship.twice', { id: line.id }));
		} else {
			seen.add(line.id);
			ctx.fb.ok(t('mgr.ship.checked', { id: line.id, left: s.specimens.length - seen.size }), { ms: 2500 });
		}
		redraw();
		showDisc();
		return true;
	};
}

async function shipmentView(ctx, main, id) {
	fill(main, h('p.loading', t('mgr.people.loading')));
	let s;
	try {
		s = await get(`/api/v1/shipments/${esc(id)}`);
	} catch (e) {
		fill(main, h('section.card', h('p.problem', says(e)), h('a', { href: '#/mgr/shipments' }, t('mgr.ship.back'))));
		return null;
	}
	const seen = s.status === 'dispatched' ? new Set() : null;
	const lines = h('div#sh-lines');
	const redraw = () => fill(lines, s.specimens.length ? scroller(t('mgr.ship.manifest'), table('mgr-list#sh-manifest', ['mgr.ship.th.tube', 'mgr.ship.th.barcode',
		'mgr.people.th.what', 'mgr.ship.th.participant', 'mgr.ship.th.from', 'mgr.people.th.status', 'mgr.ship.th.check'], manifestRows(s, seen),
	(i) => ({ dataset: { specimen: s.specimens[i].id } }))) : h('p.dim', t('mgr.ship.empty')));
	redraw();
	const csv = h('button#sh-csv', { type: 'button', onclick: async () => {
		try {
			await download(`/api/v1/shipments/${s.id}`, 'text/csv', `shipment-${s.id}.csv`);
		} catch (e) {
			ctx.fb.error(says(e), { focus: false });
		}
	} }, t('mgr.ship.csv'));
	const root = h('section.mgr.shipment', { dataset: { shipment: s.id, status: s.status } },
		h('p', h('a', { href: '#/mgr/shipments' }, t('mgr.ship.back'))),
		h('h1', t('mgr.ship.heading', { id: s.id, dest: s.destination })),
		h('section.card', h('dl.facts',
			h('dt', t('mgr.ship.th.status')), h('dd#sh-status', h('span.badge', t(`mgr.ship.st.${s.status}`))),
			h('dt', t('mgr.ship.th.conditions')), h('dd', t(`mgr.ship.cond.${s.conditions}`)),
			s.requester && [h('dt', t('mgr.ship.th.requester')), h('dd', s.requester)],
			s.request && [h('dt', t('mgr.ship.th.request')), h('dd', h('a', { href: `#/mgr/request/${s.request}` }, `#${s.request}`))],
			h('dt', t('mgr.ship.th.opened')), h('dd', t('mgr.ship.by', { at: when(s.created_at), who: s.created_by })),
			s.dispatched_at && [h('dt', t('mgr.ship.th.dispatched')), h('dd', t('mgr.ship.by', { at: when(s.dispatched_at), who: s.dispatched_by }))],
			s.receipt && [h('dt', t('mgr.ship.th.receipt')), h('dd#sh-receipt-facts', t('mgr.ship.receiptWords', { at: when(s.receipt.received_at),
				cond: t(`mgr.ship.rc.${s.receipt.condition || 'good'}`), who: s.receipt.recorded_by }))],
			s.receipt?.notes && [h('dt', t('mgr.ship.th.notes')), h('dd.pre#sh-receipt-notes', s.receipt.notes)],
			!s.receipt && s.notes && [h('dt', t('mgr.ship.th.notes')), h('dd.pre', s.notes)])),
		h('section.card', h('h2', t('mgr.ship.manifestN', { count: s.specimen_count })), lines, h('div.row', csv)));
	fill(main, root);
	if (s.status === 'draft') return draft(ctx, s, root);
	if (s.status === 'dispatched') return receive(ctx, s, root, seen, redraw);
	return null;
}

export async function render(ctx, main, [kind, arg]) {
	if (!managersOnly(ctx, main)) return null;
	if (kind === 'shipment') return shipmentView(ctx, main, arg);
	return listView(ctx, main, arg);
}
