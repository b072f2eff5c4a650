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
		h('header.spec-head',
			h('h1.spec-id', s.id),
			h('span.badge', { class: `badge st-${s.status}` }, s.status.replace('_', ' ')),
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
			s.notes && [h('dt', 'Notes'), h('dd', s.notes)]),
		labelSlot,
		h('div.actions', { role: 'toolbar', 'aria-label': 'actions' },
			actions.map((a) => h(`button.act${a.key === 'destroy' ? '.danger' : ''}`,
				{ type: 'button', dataset: { action: a.key }, onclick: () => {
					fill(formSlot, actionForm(ctx, s, a, events, again));
					formSlot.querySelector('input:not([value]), input[value=""], button.primary')?.focus();
				} }, a.label)),
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
