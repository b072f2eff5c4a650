/* specimen.js — the specimen card: what it is, where it is, its consent,
 * lineage and custody history, the label preview, and the actions its
 * status and the user's role allow. */
import { get, post, api } from './api.js';
import { h, fill, when, esc } from './dom.js';
import { t, day, num, problemText } from './i18n.js';
import { onSubmit } from './forms.js';
import { timeline } from './history.js';
import { labelPreview, printForm } from './labels.js';

export const name = 'specimen';

/* Which statuses each action starts from (as bb_action_allowed in the schema).
 * use: the action uses the material, which withdrawn biobank consent forbids
 * (bb_consent_blocks, docs/consent.md); place: it puts the tube in a box,
 * which an empty tube (0 left) never is. */
const ACTIONS = [
	{ key: 'store', from: ['registered'], place: true },
	{ key: 'move', from: ['in_storage'], place: true },
	{ key: 'checkout', from: ['in_storage'], reason: true, use: true },
	{ key: 'return', from: ['checked_out'], place: true, thawed: true },
	{ key: 'consume', from: ['registered', 'in_storage', 'checked_out'], reason: true, use: true },
	{ key: 'lost', from: ['registered', 'in_storage', 'checked_out'], reason: true },
	{ key: 'found', from: ['lost'], place: true },
	{ key: 'destroy', from: ['registered', 'in_storage', 'checked_out', 'lost'], reason: true, manager: true },
];

export function allowedActions(ctx, s) {
	if (!ctx.can('bench')) return [];
	const empty = s.quantity && Number(s.quantity.value) === 0;
	return ACTIONS.filter((a) => a.from.includes(s.status) &&
		(!a.manager || ctx.can('manager')) && !(a.use && s.consent_withdrawn) && !(a.place && empty));
}

/* A limit of its type the tube is past (GET /specimens/{id} "flags", docs/api-storage.md). */
const flagText = (f) => t('card.flag', { value: num(f.value), what: t(`flag.${f.limit}`), max: num(f.max) });

function where(loc) {
	if (!loc) return t('card.notstored');
	return `${loc.path.join(' › ')} · ${loc.position}`;
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
	const label = t(`action.${a.key}`);
	const nextFree = h('button', { type: 'button' }, t('act.nextfree'));
	nextFree.addEventListener('click', async () => {
		try {
			const f = await get(`/api/v1/boxes/${esc(boxIn.value.trim())}/free?count=1`);
			if (f.positions.length) posIn.value = f.positions[0];
			else ctx.fb.error(t('box.full', { box: boxIn.value }));
		} catch (e) {
			ctx.fb.error(problemText(e));
		}
	});
	const submit = async (thawed, key) => {
		const body = {};
		if (a.place) {
			body.box = boxIn.value.trim();
			body.position = posIn.value.trim().toUpperCase();
		}
		if (reason.value.trim()) body.reason = reason.value.trim();
		if (a.thawed) body.thawed = thawed;
		try {
			await post(`/api/v1/specimens/${esc(s.id)}/${a.key}`, body, { key });
			ctx.fb.ok(t('act.done', { id: s.id, action: label }) + (a.place ? ` → ${body.box} ${body.position}` : '')
				+ (a.thawed ? ` (${t(thawed ? 'act.thawed' : 'act.frozen')})` : ''));
			done();
		} catch (e) {
			/* The form stays as typed, and the scan bar has the focus again (feedback.js):
			 * the next wedge scan must not land in the Position field. */
			ctx.fb.error(`${label}: ${problemText(e)}`);
		}
	};
	const buttons = a.thawed
		? [h('button.primary#return-thawed', { type: 'submit', value: 'thawed' }, t('act.returnthawed')),
			h('button.primary#return-frozen', { type: 'submit', value: 'frozen' }, t('act.returnfrozen'))]
		: [h(`button.primary${a.key === 'destroy' ? '.danger' : ''}#act-submit`, { type: 'submit' }, label)];
	const form = h('form.action.card', { dataset: { action: a.key } },
		h('h3', t('act.title', { action: label, id: s.id })),
		a.place && [h('label', { for: 'act-box' }, t('act.box')), boxIn,
			h('label', { for: 'act-pos' }, t('act.position')), h('div.row', posIn, nextFree)],
		(a.reason || a.place) && [h('label', { for: 'act-reason' }, t(a.reason ? 'act.reason' : 'act.reasonopt')), reason],
		h('div.row', buttons, h('button', { type: 'button', onclick: () => { form.remove(); ctx.focusScan(); } }, t('act.cancel'))));
	onSubmit(form, (ev, key) => submit(ev.submitter?.value === 'thawed', key));
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
		h('h3', t('fix.title', { id: s.id })),
		row('fix-type', t('fix.type'), f.type), row('fix-timepoint', t('fix.timepoint'), f.timepoint),
		row('fix-collected', t('fix.collected'), f.collected_at),
		row('fix-qty', t('fix.quantity'), f.value, f.unit), row('fix-notes', t('fix.notes'), f.notes),
		row('fix-reason', t('act.reason'), f.reason),
		h('div.row', h('button.primary#fix-submit', { type: 'submit' }, t('fix.submit')),
			h('button', { type: 'button', onclick: () => { form.remove(); ctx.focusScan(); } }, t('act.cancel'))));
	onSubmit(form, async () => {
		const now = Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value.trim()]));
		const body = {};
		for (const k of ['type', 'timepoint', 'collected_at', 'notes'])
			if (now[k] !== was[k]) body[k] = now[k];
		if (now.value !== was.value || now.unit !== was.unit)
			body.quantity = { value: Number(now.value.replace(',', '.')), unit: now.unit };
		if (!Object.keys(body).length) {
			ctx.fb.error(t('fix.nothing'));
			return;
		}
		body.reason = now.reason;
		if (events.length) body.expected_ledger_seq = events[events.length - 1].seq;
		try {
			await api('PATCH', `/api/v1/specimens/${esc(s.id)}`, body);
			ctx.fb.ok(t('fix.done', { id: s.id, fields: Object.keys(body).filter((k) => k !== 'reason' && k !== 'expected_ledger_seq').join(', ') }));
			done();
		} catch (e) {
			ctx.fb.error(`${t('fix.submit')}: ${problemText(e)}`);
		}
	});
	return form;
}

/* A specimen registered by mistake (managers): kept, with its history, but left out of lists and counts. */
function errorForm(ctx, s, done) {
	const reason = h('input#err-reason', { required: true, autocomplete: 'off' });
	const form = h('form.action.card', { dataset: { action: 'entered-in-error' } },
		h('h3', t('err.title', { id: s.id })),
		h('p.hint', t('err.hint')),
		h('label', { for: 'err-reason' }, t('act.reason')), reason,
		h('div.row', h('button.primary.danger#err-submit', { type: 'submit' }, t('err.submit')),
			h('button', { type: 'button', onclick: () => { form.remove(); ctx.focusScan(); } }, t('act.cancel'))));
	onSubmit(form, async (ev, key) => {
		try {
			await post(`/api/v1/specimens/${esc(s.id)}/entered-in-error`, { reason: reason.value.trim() }, { key });
			ctx.fb.ok(t('err.done', { id: s.id }));
			done();
		} catch (e) {
			ctx.fb.error(`${t('err.submit')}: ${problemText(e)}`);
		}
	});
	return form;
}

/* The participant's biobank consent as recorded: its latest decision, or
 * none recorded, which is not the same as consent in force. */
async function consentRecorded(s) {
	try {
		const p = await get(`/api/v1/participants/${esc(s.participant.study)}/${esc(s.participant.code)}`);
		const last = (p.consents || []).filter((c) => c.scope === 'biobank').pop();
		return { status: p.consent?.biobank || null, last };
	} catch {
		return null; /* not readable: said as unknown, never guessed */
	}
}

function consentFact(s, c) {
	if (s.consent_withdrawn || c?.status === 'withdrawn')
		return h('dd#f-consent.bad', { dataset: { consent: 'withdrawn' } },
			c?.last ? t('consent.withdrawnOn', { date: day(c.last.date) }) : t('consent.withdrawn'));
	if (!c) return h('dd#f-consent', { dataset: { consent: 'unknown' } }, t('consent.unknown'));
	if (c.status === 'given')
		return h('dd#f-consent.good', { dataset: { consent: 'given' } },
			t('consent.given', { version: c.last?.version || '—', date: day(c.last?.date) }));
	return h('dd#f-consent.none', { dataset: { consent: 'none' } }, t('consent.none'));
}

export async function render(ctx, main, [ref]) {
	fill(main, h('p.loading', t('card.opening', { ref })));
	let s, ev;
	try {
		[s, ev] = await Promise.all([get(`/api/v1/specimens/${esc(ref)}`),
			get(`/api/v1/specimens/${esc(ref)}/events`)]);
	} catch (e) {
		const msg = e.status === 404 ? t('card.none', { ref }) : problemText(e);
		fill(main, h('p.problem', msg));
		ctx.fb.error(msg);
		return;
	}
	const consent = await consentRecorded(s);
	const events = ev.items;
	const actions = allowedActions(ctx, s);
	const formSlot = h('div.formslot');
	const labelSlot = h('div.labelslot');
	const again = () => render(ctx, main, [s.id]).then(() => ctx.focusScan());

	const card = h('article.card.specimen', { dataset: { id: s.id, status: s.status } },
		s.consent_withdrawn && h('div.consent-banner', { role: 'alert' }, t('card.withdrawnBanner')),
		s.flags && h('div.limit-banner#f-flags', { role: 'alert' },
			t('card.flagsBanner', { list: s.flags.map(flagText).join('; ') })),
		h('header.spec-head',
			h('h1.spec-id', s.id),
			h('span.badge', { class: `badge st-${s.status}` }, t(`status.${s.status}`)),
			h('span.type', s.type)),
		h('dl.facts',
			h('dt', t('card.participant')), h('dd#f-participant', `${s.participant.study} / ${s.participant.code}`),
			h('dt', t('card.timepoint')), h('dd#f-timepoint', s.timepoint),
			h('dt', t('card.collected')), h('dd#f-collected', when(s.collected_at)),
			h('dt', t('card.quantity')), h('dd', s.quantity ? `${num(Number(s.quantity.value))} ${s.quantity.unit}` : '—'),
			h('dt', t('card.tube')), h('dd', s.tube_barcode || '—'),
			h('dt', t('card.location')), h('dd#f-location', s.location
				? h('a', { href: `#/box/${esc(s.location.box)}` }, where(s.location)) : t('card.notstored')),
			h('dt', t('card.ftc')), h('dd#f-ftc.big', String(s.freeze_thaw_count)),
			h('dt', t('card.consent')), consentFact(s, consent),
			h('dt', t('card.parent')), h('dd#f-parent', s.parent ? h('a', { href: `#/specimen/${esc(s.parent)}` }, s.parent) : '—'),
			h('dt', t('card.children')), h('dd#f-children', s.children?.length
				? s.children.map((c) => h('a.chip', { href: `#/specimen/${esc(c)}` }, c)) : '—'),
			s.sprec && [h('dt', h('abbr', { title: t('card.sprecTitle') }, 'SPREC')),
				h('dd#f-sprec', s.sprec)],
			s.protocol_version && [h('dt', t('card.protocol')), h('dd#f-protocol', t('card.version', { v: s.protocol_version }))],
			s.notes && [h('dt', t('card.notes')), h('dd', s.notes)]),
		labelSlot,
		h('div.actions', { role: 'toolbar', 'aria-label': t('card.actions') },
			actions.map((a) => h(`button.act${a.key === 'destroy' ? '.danger' : ''}`,
				{ type: 'button', dataset: { action: a.key }, onclick: () => {
					fill(formSlot, actionForm(ctx, s, a, events, again));
					formSlot.querySelector('input:not([value]), input[value=""], button.primary')?.focus();
				} }, t(`action.${a.key}`))),
			ctx.can('bench') && s.status !== 'entered_in_error' && h('button.fix', { type: 'button', dataset: { fix: 'correct' },
				onclick: () => { fill(formSlot, correctForm(ctx, s, events, again)); formSlot.querySelector('#fix-reason')?.focus(); } },
			t('card.correct')),
			ctx.can('manager') && !['shipped', 'entered_in_error'].includes(s.status) && h('button.fix.danger', { type: 'button',
				dataset: { fix: 'entered-in-error' },
				onclick: () => { fill(formSlot, errorForm(ctx, s, again)); formSlot.querySelector('#err-reason')?.focus(); } },
			t('card.inerror')),
			!ctx.can('bench') && h('p.hint', t('card.readonly'))),
		formSlot,
		h('h2', t('hist.title')),
		timeline(events));
	fill(main, card);

	labelPreview(s.id).then((img) => {
		if (img) fill(labelSlot, h('figure', img, h('figcaption', t('label.preview'))), printForm(ctx, [s.id]));
	});
}
