/* specimen.js — the specimen card: what it is, where it is, its consent,
 * lineage and custody history, the label preview, and the actions its
 * status and the user's role allow. */
import { get, post, api, ApiError } from './api.js';
import { h, fill, when, esc } from './dom.js';

export const name = 'specimen';

/* Which statuses each action starts from (as bb_action_allowed in the schema).
 * use: the action uses the material, which withdrawn biobank consent forbids
 * (bb_consent_blocks, docs/consent.md); place: it puts the tube in a box,
 * which an empty tube (0 left) never is. */
const ACTIONS = [
	{ key: 'store', label: 'Store', from: ['registered'], place: true },
	{ key: 'move', label: 'Move', from: ['in_storage'], place: true },
	{ key: 'checkout', label: 'Check out', from: ['in_storage'], reason: true, use: true },
	{ key: 'return', label: 'Return', from: ['checked_out'], place: true, thawed: true },
	{ key: 'consume', label: 'Consume', from: ['registered', 'in_storage', 'checked_out'], reason: true, use: true },
	{ key: 'lost', label: 'Mark lost', from: ['registered', 'in_storage', 'checked_out'], reason: true },
	{ key: 'found', label: 'Found', from: ['lost'], place: true },
	{ key: 'destroy', label: 'Destroy', from: ['registered', 'in_storage', 'checked_out', 'lost'], reason: true, manager: true },
];

export function allowedActions(ctx, s) {
	if (!ctx.can('bench')) return [];
	const empty = s.quantity && Number(s.quantity.value) === 0;
	return ACTIONS.filter((a) => a.from.includes(s.status) &&
		(!a.manager || ctx.can('manager')) && !(a.use && s.consent_withdrawn) && !(a.place && empty));
}

/* Does POST /api/v1/print exist here? Asked once with an empty body, which
 * is refused (400) before anything prints when it does. */
export async function printAvailable(ctx) {
	if (ctx.features.print === undefined) {
		try {
			await api('POST', '/api/v1/print', {}, { idempotent: false });
			ctx.features.print = true;
		} catch (e) {
			ctx.features.print = !(e instanceof ApiError && e.missing) && e.status !== 403;
		}
	}
	return ctx.features.print;
}

/* The label preview as an <img>, or null while it cannot be had. */
export async function labelPreview(id) {
	try {
		const blob = await get(`/api/v1/specimens/${esc(id)}/label.png`, { blob: true });
		const img = h('img.label', { alt: `label of ${id}`, src: URL.createObjectURL(blob) });
		img.addEventListener('load', () => URL.revokeObjectURL(img.src), { once: true });
		return img;
	} catch {
		return null;
	}
}

/* A print form for ids: printer name (remembered) and copies. */
export function printForm(ctx, ids) {
	const printer = h('input.printer', { 'aria-label': 'printer', placeholder: 'printer name',
		value: localStorage.getItem('biobank.printer') || '' });
	const btn = h('button', { type: 'submit' }, ids.length > 1 ? `Print ${ids.length} labels` : 'Print label');
	const form = h('form.print', h('label', 'Printer ', printer), btn);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		localStorage.setItem('biobank.printer', printer.value);
		try {
			await post('/api/v1/print', { ids, printer: printer.value });
			ctx.fb.ok(`Sent ${ids.length} label${ids.length > 1 ? 's' : ''} to ${printer.value}`);
		} catch (e) {
			ctx.fb.error(e.message);
		}
		ctx.focusScan();
	});
	return form;
}

/* A limit of its type the tube is past (GET /specimens/{id} "flags", docs/api-storage.md). */
const flagWords = {
	'freeze-thaw': 'freeze–thaw cycles',
	'minutes-out': 'minutes out of storage',
	'excursion-minutes': 'minutes in temperature excursions',
};
const flagText = (f) => `${f.value} ${flagWords[f.limit] || f.limit} (at most ${f.max})`;

function where(loc) {
	if (!loc) return 'not stored';
	return `${loc.path.join(' › ')} · ${loc.position}`;
}

function place(p) {
	return p ? `${p.box} ${p.position}` : '';
}

function history(events) {
	return h('table.history',
		h('thead', h('tr', h('th', '#'), h('th', 'When'), h('th', 'What'), h('th', 'Who'),
			h('th', 'From'), h('th', 'To'), h('th', 'Why / details'))),
		h('tbody', events.map((e) => h('tr', { dataset: { type: e.type } },
			h('td', e.seq), h('td', when(e.at)), h('td', e.type.replace(/_/g, ' ')), h('td', e.actor),
			h('td', place(e.from)), h('td', place(e.to)),
			h('td', [e.reason, e.details && Object.keys(e.details).length ? JSON.stringify(e.details) : '']
				.filter(Boolean).join(' · '))))));
}

/* Where a checked-out tube came from: its last check-out's "from". */
function lastHome(events) {
	for (let i = events.length - 1; i >= 0; i--)
		if (events[i].type === 'checked_out' && events[i].from) return events[i].from;
	return null;
}

function actionForm(ctx, s, a, events, done) {
	const home = a.key === 'return' ? lastHome(events) : s.location;
	const boxIn = h('input#act-box', { name: 'box', required: true, value: home?.box || '', autocomplete: 'off' });
	const posIn = h('input#act-pos', { name: 'position', required: true, size: 4, autocomplete: 'off',
		value: a.key === 'return' && home ? home.position : '' });
	const reason = h('input#act-reason', { name: 'reason', required: !!a.reason, autocomplete: 'off' });
	const nextFree = h('button', { type: 'button' }, 'Next free');
	nextFree.addEventListener('click', async () => {
		try {
			const f = await get(`/api/v1/boxes/${esc(boxIn.value.trim())}/free?count=1`);
			if (f.positions.length) posIn.value = f.positions[0];
			else ctx.fb.error(`Box ${boxIn.value} is full`);
		} catch (e) {
			ctx.fb.error(e.message);
		}
	});
	const submit = async (thawed) => {
		const body = {};
		if (a.place) {
			body.box = boxIn.value.trim();
			body.position = posIn.value.trim().toUpperCase();
		}
		if (reason.value.trim()) body.reason = reason.value.trim();
		if (a.thawed) body.thawed = thawed;
		try {
			await post(`/api/v1/specimens/${esc(s.id)}/${a.key}`, body);
			ctx.fb.ok(`${s.id}: ${a.label.toLowerCase()} done${a.place ? ` → ${body.box} ${body.position}` : ''}${a.thawed ? (thawed ? ' (thawed)' : ' (kept frozen)') : ''}`);
			done();
		} catch (e) {
			ctx.fb.error(`${a.label}: ${e.message}`);
		}
	};
	const buttons = a.thawed
		? [h('button.primary#return-thawed', { type: 'submit', value: 'thawed' }, 'Return — it thawed'),
			h('button.primary#return-frozen', { type: 'submit', value: 'frozen' }, 'Return — still frozen')]
		: [h(`button.primary${a.key === 'destroy' ? '.danger' : ''}#act-submit`, { type: 'submit' }, a.label)];
	const form = h('form.action.card', { dataset: { action: a.key } },
		h('h3', `${a.label} ${s.id}`),
		a.place && [h('label', { for: 'act-box' }, 'Box'), boxIn,
			h('label', { for: 'act-pos' }, 'Position'), h('div.row', posIn, nextFree)],
		(a.reason || a.place) && [h('label', { for: 'act-reason' }, a.reason ? 'Reason' : 'Reason (optional)'), reason],
		h('div.row', buttons, h('button', { type: 'button', onclick: () => { form.remove(); ctx.focusScan(); } }, 'Cancel')));
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		submit(ev.submitter?.value === 'thawed');
	});
	return form;
}

/*
 * A correction (docs/api.md, "Corrections"): what was recorded wrongly, with
 * a reason. Only the fields changed are sent, with the last event seen, so
 * that a tube moved or corrected meanwhile is refused rather than corrected
 * on an old view; the history then shows the value before and after.
 */
function correctForm(ctx, s, events, done) {
	const input = (id, value, attrs = {}) => h(`input#${id}`, { value: value ?? '', autocomplete: 'off', ...attrs });
	const was = {
		type: s.type, timepoint: s.timepoint, collected_at: s.collected_at,
		value: s.quantity ? String(s.quantity.value) : '', unit: s.quantity?.unit || '', notes: s.notes || '',
	};
	const f = {
		type: input('fix-type', was.type), timepoint: input('fix-timepoint', was.timepoint),
		collected_at: input('fix-collected', was.collected_at, { size: 24 }),
		value: input('fix-qty', was.value, { size: 6, inputmode: 'decimal' }), unit: input('fix-unit', was.unit, { size: 5 }),
		notes: input('fix-notes', was.notes), reason: input('fix-reason', '', { required: true }),
	};
	const row = (id, label, ...els) => [h('label', { for: id }, label), els.length > 1 ? h('div.row', els) : els[0]];
	const form = h('form.action.card', { dataset: { action: 'correct' } },
		h('h3', `Correct ${s.id}`),
		row('fix-type', 'Type', f.type), row('fix-timepoint', 'Timepoint', f.timepoint),
		row('fix-collected', 'Collected (RFC 3339)', f.collected_at),
		row('fix-qty', 'Quantity', f.value, f.unit), row('fix-notes', 'Notes', f.notes),
		row('fix-reason', 'Reason', f.reason),
		h('div.row', h('button.primary#fix-submit', { type: 'submit' }, 'Correct'),
			h('button', { type: 'button', onclick: () => { form.remove(); ctx.focusScan(); } }, 'Cancel')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const now = Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value.trim()]));
		const body = {};
		for (const k of ['type', 'timepoint', 'collected_at', 'notes'])
			if (now[k] !== was[k]) body[k] = now[k];
		if (now.value !== was.value || now.unit !== was.unit)
			body.quantity = { value: Number(now.value.replace(',', '.')), unit: now.unit };
		if (!Object.keys(body).length) {
			ctx.fb.error('Nothing changed: type the right value first');
			return;
		}
		body.reason = now.reason;
		if (events.length) body.expected_ledger_seq = events[events.length - 1].seq;
		try {
			await api('PATCH', `/api/v1/specimens/${esc(s.id)}`, body);
			ctx.fb.ok(`${s.id}: corrected (${Object.keys(body).filter((k) => k !== 'reason' && k !== 'expected_ledger_seq').join(', ')})`);
			done();
		} catch (e) {
			ctx.fb.error(`Correct: ${e.message}`);
		}
	});
	return form;
}

/* A specimen registered by mistake (managers): kept, with its history, but left out of lists and counts. */
function errorForm(ctx, s, done) {
	const reason = h('input#err-reason', { required: true, autocomplete: 'off' });
	const form = h('form.action.card', { dataset: { action: 'entered-in-error' } },
		h('h3', `Enter ${s.id} in error`),
		h('p.hint', 'For a tube registered by mistake: it stays findable with its history, leaves its position and is no longer counted.'),
		h('label', { for: 'err-reason' }, 'Reason'), reason,
		h('div.row', h('button.primary.danger#err-submit', { type: 'submit' }, 'Enter in error'),
			h('button', { type: 'button', onclick: () => { form.remove(); ctx.focusScan(); } }, 'Cancel')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		try {
			await post(`/api/v1/specimens/${esc(s.id)}/entered-in-error`, { reason: reason.value.trim() });
			ctx.fb.ok(`${s.id}: entered in error`);
			done();
		} catch (e) {
			ctx.fb.error(`Enter in error: ${e.message}`);
		}
	});
	return form;
}

export async function render(ctx, main, [ref]) {
	fill(main, h('p.loading', `Opening ${ref}…`));
	let s, ev;
	try {
		[s, ev] = await Promise.all([get(`/api/v1/specimens/${esc(ref)}`),
			get(`/api/v1/specimens/${esc(ref)}/events`)]);
	} catch (e) {
		fill(main, h('p.problem', e.status === 404 ? `No specimen ${ref}` : e.message));
		ctx.fb.error(e.status === 404 ? `No specimen ${ref}` : e.message);
		return;
	}
	const events = ev.items;
	const actions = allowedActions(ctx, s);
	const formSlot = h('div.formslot');
	const labelSlot = h('div.labelslot');
	const again = () => render(ctx, main, [s.id]).then(() => ctx.focusScan());

	const card = h('article.card.specimen', { dataset: { id: s.id, status: s.status } },
		s.consent_withdrawn && h('div.consent-banner', { role: 'alert' },
			'CONSENT WITHDRAWN — do not use, check out, aliquot or ship; keep for the destruction workflow'),
		s.flags && h('div.limit-banner#f-flags', { role: 'alert' },
			`PAST ITS LIMITS — ${s.flags.map(flagText).join('; ')}`),
		h('header.spec-head',
			h('h1.spec-id', s.id),
			h('span.badge', { class: `badge st-${s.status}` }, s.status.replace(/_/g, ' ')),
			h('span.type', s.type)),
		h('dl.facts',
			h('dt', 'Participant'), h('dd#f-participant', `${s.participant.study} / ${s.participant.code}`),
			h('dt', 'Timepoint'), h('dd#f-timepoint', s.timepoint),
			h('dt', 'Collected'), h('dd', when(s.collected_at)),
			h('dt', 'Quantity'), h('dd', s.quantity ? `${s.quantity.value} ${s.quantity.unit}` : '—'),
			h('dt', 'Tube barcode'), h('dd', s.tube_barcode || '—'),
			h('dt', 'Location'), h('dd#f-location', s.location
				? h('a', { href: `#/box/${esc(s.location.box)}` }, where(s.location)) : 'not stored'),
			h('dt', 'Freeze–thaw'), h('dd#f-ftc.big', String(s.freeze_thaw_count)),
			h('dt', 'Consent'), h('dd#f-consent', { class: s.consent_withdrawn ? 'bad' : 'good' },
				s.consent_withdrawn ? 'withdrawn' : 'in force'),
			h('dt', 'Parent'), h('dd#f-parent', s.parent ? h('a', { href: `#/specimen/${esc(s.parent)}` }, s.parent) : '—'),
			h('dt', 'Children'), h('dd#f-children', s.children?.length
				? s.children.map((c) => h('a.chip', { href: `#/specimen/${esc(c)}` }, c)) : '—'),
			s.sprec && [h('dt', h('abbr', { title: 'ISBER Standard PREanalytical Code (docs/sprec.md)' }, 'SPREC')),
				h('dd#f-sprec', s.sprec)],
			s.protocol_version && [h('dt', 'Protocol'), h('dd#f-protocol', `version ${s.protocol_version}`)],
			s.notes && [h('dt', 'Notes'), h('dd', s.notes)]),
		labelSlot,
		h('div.actions', { role: 'toolbar', 'aria-label': 'actions' },
			actions.map((a) => h(`button.act${a.key === 'destroy' ? '.danger' : ''}`,
				{ type: 'button', dataset: { action: a.key }, onclick: () => {
					fill(formSlot, actionForm(ctx, s, a, events, again));
					formSlot.querySelector('input:not([value]), input[value=""], button.primary')?.focus();
				} }, a.label)),
			ctx.can('bench') && s.status !== 'entered_in_error' && h('button.fix', { type: 'button', dataset: { fix: 'correct' },
				onclick: () => { fill(formSlot, correctForm(ctx, s, events, again)); formSlot.querySelector('#fix-reason')?.focus(); } },
			'Correct…'),
			ctx.can('manager') && !['shipped', 'entered_in_error'].includes(s.status) && h('button.fix.danger', { type: 'button',
				dataset: { fix: 'entered-in-error' },
				onclick: () => { fill(formSlot, errorForm(ctx, s, again)); formSlot.querySelector('#err-reason')?.focus(); } },
			'Enter in error…'),
			!ctx.can('bench') && h('p.hint', 'Read-only: your role does not change specimens.')),
		formSlot,
		h('h2', 'Custody history'),
		history(events));
	fill(main, card);

	labelPreview(s.id).then(async (img) => {
		if (!img) return;
		const canPrint = ctx.can('bench') && await printAvailable(ctx);
		fill(labelSlot, h('figure', img, h('figcaption', 'Label preview')), canPrint && printForm(ctx, [s.id]));
	});
}
