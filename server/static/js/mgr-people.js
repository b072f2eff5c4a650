/* mgr-people.js — participants for managers (docs/api-participants.md):
 * search and create; one participant's record corrected with a reason
 * (PATCH); consent decisions recorded; a withdrawal shown with its effect —
 * which tubes become blocked, which requests and draft shipments lose
 * them — before it is confirmed, and as it turned out after. */
import { get, post, api, ApiError } from './api.js';
import { h, fill, esc, when } from './dom.js';
import { t, day } from './i18n.js';
import { onSubmit } from './forms.js';
import { says, table, scroller, field, studies, choice, formMessage, managersOnly } from './mgr-common.js';

export const name = 'mgr-people';

const SEXES = ['female', 'male', 'other', 'unknown'];
const SCOPES = ['biobank', 'study', 'genetic', 'commercial'];
/* A tube still held by the biobank: a flag on it blocks its use. */
const HELD = ['registered', 'in_storage', 'checked_out', 'lost'];

async function diagnoses() {
	return (await get('/api/v1/diagnoses')).items;
}

function diagnosisSelect(list, selected) {
	return h('select', list.map((d) => h('option', { value: d.code, selected: d.code === selected }, `${d.code} — ${d.name}`)));
}

/* ---- the list: search by study and code, create ---------------------- */

async function listView(ctx, main) {
	fill(main, h('p.loading', t('mgr.people.loading')));
	let all, diag;
	try {
		[all, diag] = await Promise.all([studies(), diagnoses()]);
	} catch (e) {
		fill(main, h('p.problem', says(e)));
		return;
	}
	const study = h('select', all.map((s) => h('option', { value: s.code }, `${s.code} — ${s.name}`)));
	study.value = sessionStorage.getItem('biobank.mgrStudy') || all[0]?.code || '';
	const q = h('input', { type: 'search', autocomplete: 'off', spellcheck: 'false' });
	const results = h('div#people-results');
	let items = [], cursor = null;
	const more = h('button#people-more', { type: 'button', hidden: true }, t('mgr.people.more'));

	const draw = () => {
		const needle = q.value.trim().toLowerCase();
		const shown = items.filter((p) => !needle || p.code.toLowerCase().includes(needle));
		fill(results, shown.length
			? scroller(t('mgr.people.title'), table('mgr-list', ['mgr.people.th.code', 'mgr.people.th.sex', 'mgr.people.th.born',
				'mgr.people.th.diagnosis', 'mgr.people.th.consent'], shown.map((p) => [
				h('a', { href: `#/mgr/people/${esc(p.study)}/${esc(p.code)}` }, p.code),
				t(`mgr.people.sex.${p.sex}`), p.birth_year ?? '—', p.diagnosis, consentWords(p.consent)]),
			(i) => ({ dataset: { code: shown[i].code } })))
			: h('p.dim', t('mgr.people.none')));
		more.hidden = !cursor;
	};
	const load = async (reset) => {
		if (reset) {
			items = [];
			cursor = null;
		}
		sessionStorage.setItem('biobank.mgrStudy', study.value);
		try {
			const page = await get(`/api/v1/participants?study=${esc(study.value)}&limit=200${cursor ? `&cursor=${esc(cursor)}` : ''}`);
			items = items.concat(page.items);
			cursor = page.next_cursor;
			draw();
		} catch (e) {
			ctx.fb.error(says(e));
		}
	};
	study.addEventListener('change', () => load(true));
	q.addEventListener('input', draw);
	more.addEventListener('click', () => load(false));
	/* Enter on an exact code opens it, even on a page not loaded yet. */
	const search = h('form.card.row', { role: 'search', 'aria-label': t('mgr.people.title') }, field('people-study', 'mgr.people.study', study),
		field('people-q', 'mgr.people.search', q), h('button', { type: 'submit' }, t('mgr.people.open')));
	search.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const code = q.value.trim();
		if (code) ctx.go(`#/mgr/people/${esc(study.value)}/${esc(code)}`);
	});

	const create = createForm(ctx, all, diag);
	fill(main, h('section.mgr.people',
		h('h1', t('mgr.people.title')), search, results, more, create));
	await load(true);
}

function consentWords(c) {
	const b = c?.biobank;
	return b ? t(`mgr.people.cs.${b}`) : t('mgr.people.cs.none');
}

function createForm(ctx, all, diag) {
	const study = h('select', all.map((s) => h('option', { value: s.code }, s.code)));
	study.value = sessionStorage.getItem('biobank.mgrStudy') || all[0]?.code || '';
	const code = h('input', { required: true, autocomplete: 'off', maxlength: 40 });
	const sex = choice(SEXES, 'mgr.people.sex.', 'unknown');
	const born = h('input', { type: 'number', min: 1900, max: new Date().getUTCFullYear(), inputmode: 'numeric' });
	const dx = diagnosisSelect(diag);
	const form = h('form.card#people-create',
		h('h2', t('mgr.people.create')),
		h('div.grid2', h('div', field('pc-study', 'mgr.people.study', study)), h('div', field('pc-code', 'mgr.people.th.code', code)),
			h('div', field('pc-sex', 'mgr.people.th.sex', sex)), h('div', field('pc-born', 'mgr.people.th.born', born)),
			h('div', field('pc-dx', 'mgr.people.th.diagnosis', dx))),
		h('p.hint', t('mgr.people.pseudonymous')),
		h('button.primary', { type: 'submit' }, t('mgr.people.createBtn')));
	onSubmit(form, async (ev, key) => {
		formMessage(form, '');
		try {
			const p = await post('/api/v1/participants', { study: study.value, code: code.value.trim(), sex: sex.value,
				birth_year: born.value ? Number(born.value) : null, diagnosis: dx.value }, { key });
			form.reset();
			ctx.fb.ok(t('mgr.people.created', { code: p.code }), { focus: false });
			ctx.go(`#/mgr/people/${esc(p.study)}/${esc(p.code)}`);
		} catch (e) {
			const msg = e instanceof ApiError && e.problem.code === 'already-exists'
				? t('mgr.people.exists', { code: e.problem.existing || code.value }) : says(e);
			formMessage(form, msg);
			ctx.fb.error(msg, { focus: false });
		}
	});
	return form;
}

/* ---- one participant --------------------------------------------------- */

async function tubesOf(study, code) {
	return (await get(`/api/v1/specimens?study=${esc(study)}&participant=${esc(code)}&limit=1000`)).items;
}

/*
 * Where the participant's tubes are promised: the requests of the study that
 * hold tubes (allocated or shipped) and the draft shipments. Map of tube →
 * [{kind: 'request'|'shipment', id, purpose}].
 */
async function promises(study, ids) {
	const held = new Map();
	const want = new Set(ids);
	const add = (id, v) => want.has(id) && held.set(id, [...(held.get(id) || []), v]);
	const lists = await Promise.all(['allocated', 'shipped'].map((s) => get(`/api/v1/requests?status=${s}&limit=200`)));
	const reqs = lists.flatMap((l) => l.items).filter((q) => q.criteria.study === study);
	for (const q of await Promise.all(reqs.map((r) => get(`/api/v1/requests/${r.id}`))))
		for (const s of q.specimens || [])
			if (s.state === 'reserved') add(s.id, { kind: 'request', id: q.id, purpose: q.purpose });
	const drafts = (await get('/api/v1/shipments?status=draft&limit=200')).items;
	for (const sh of await Promise.all(drafts.map((d) => get(`/api/v1/shipments/${d.id}`))))
		for (const s of sh.specimens) add(s.id, { kind: 'shipment', id: sh.id, request: sh.request });
	return held;
}

/* Does a withdrawal of scope take a tube off a promise of this kind? (api-requests.md) */
function releases(scope, p) {
	if (p.kind !== 'request') return scope === 'biobank';
	return scope === 'biobank' || (scope === 'genetic' && p.purpose === 'genetic') || (scope === 'commercial' && p.purpose === 'commercial');
}

function promiseWords(list) {
	return (list || []).map((p) => p.kind === 'request' ? t('mgr.people.onRequest', { id: p.id }) : t('mgr.people.onShipment', { id: p.id })).join(', ');
}

/* The effect of a withdrawal of scope on these tubes, before it is made. */
function effectBefore(scope, tubes, held) {
	const flags = scope === 'biobank';
	return tubes.map((s) => {
		const blocked = flags && !s.consent_withdrawn;
		const off = (held.get(s.id) || []).filter((p) => releases(scope, p));
		return { s, blocked, off, held: HELD.includes(s.status) };
	}).filter((x) => x.blocked || x.off.length);
}

function effectTable(rows, after) {
	return scroller(t('mgr.people.effect'), table('mgr-list.effect', ['mgr.people.th.tube', 'mgr.people.th.what', 'mgr.people.th.status',
		'mgr.people.th.place', after ? 'mgr.people.th.happened' : 'mgr.people.th.will'], rows.map((x) => [
		h('a', { href: `#/specimen/${esc(x.s.id)}` }, x.s.id),
		`${x.s.type} · ${x.s.timepoint}`, t(`status.${x.s.status}`),
		x.s.location ? `${x.s.location.box} ${x.s.location.position}` : '—',
		h('span', [x.blocked && h('strong.blocked', t(after ? 'mgr.people.wasBlocked' : 'mgr.people.willBlock')),
			x.off.length ? h('span', ' ', t(after ? 'mgr.people.wasReleased' : 'mgr.people.willRelease', { where: promiseWords(x.off) })) : null])]),
	(i) => ({ dataset: { specimen: rows[i].s.id } })));
}

async function personView(ctx, main, study, code) {
	if (!managersOnly(ctx, main)) return;
	fill(main, h('p.loading', t('mgr.people.loading')));
	let p, tubes, diag;
	try {
		[p, tubes, diag] = await Promise.all([get(`/api/v1/participants/${esc(study)}/${esc(code)}`), tubesOf(study, code), diagnoses()]);
	} catch (e) {
		fill(main, h('section.card', h('p.problem', e instanceof ApiError && e.status === 404
			? t('mgr.people.notFound', { code, study }) : says(e)), h('a', { href: '#/mgr/people' }, t('mgr.people.back'))));
		return;
	}
	const cs = p.consent || {};
	const facts = h('dl.facts',
		h('dt', t('mgr.people.th.sex')), h('dd#pp-sex', t(`mgr.people.sex.${p.sex}`)),
		h('dt', t('mgr.people.th.born')), h('dd#pp-born', p.birth_year ?? '—'),
		h('dt', t('mgr.people.th.diagnosis')), h('dd#pp-dx', p.diagnosis),
		p.enrolment_date && [h('dt', t('mgr.people.enrolled')), h('dd', day(p.enrolment_date))],
		h('dt', t('mgr.people.registered')), h('dd', when(p.created_at)),
		SCOPES.filter((s) => s in cs || s === 'commercial').map((s) => [h('dt', t(`mgr.people.scope.${s}`)),
			h('dd', { id: `pp-consent-${s}`, class: cs[s] === 'withdrawn' ? 'bad' : cs[s] ? 'good' : 'none' },
				cs[s] ? t(`mgr.people.cs.${cs[s]}`) : t('mgr.people.cs.none'))]));

	const edit = editForm(ctx, p, diag);
	const consents = h('section.card',
		h('h2', t('mgr.people.consents')),
		p.consents?.length ? scroller(t('mgr.people.consents'), table('mgr-list#pp-consents', ['mgr.people.th.scope', 'mgr.people.th.decision',
			'mgr.people.th.date', 'mgr.people.th.version', 'mgr.people.th.recorded'], p.consents.map((c) => [
			t(`mgr.people.scope.${c.scope}`), t(`mgr.people.cs.${c.status}`), day(c.date), c.version,
			t('mgr.people.recordedBy', { at: when(c.recorded_at), who: c.recorded_by })])))
			: h('p.dim', t('mgr.people.noConsent')),
		consentForm(ctx, p, tubes));
	const counts = h('section.card', h('h2', t('mgr.people.tubes', { n: tubes.length })),
		tubes.length ? scroller(t('mgr.people.tubesLabel'), table('mgr-list#pp-tubes', ['mgr.people.th.tube', 'mgr.people.th.what', 'mgr.people.th.status', 'mgr.people.th.place', 'mgr.people.th.flag'],
			tubes.map((s) => [h('a', { href: `#/specimen/${esc(s.id)}` }, s.id), `${s.type} · ${s.timepoint}`, t(`status.${s.status}`),
				s.location ? `${s.location.box} ${s.location.position}` : '—',
				s.consent_withdrawn ? h('strong.blocked', t('mgr.people.blocked')) : '']),
			(i) => ({ dataset: { specimen: tubes[i].id } }))) : h('p.dim', t('mgr.people.noTubes')));
	fill(main, h('section.mgr.person', { dataset: { study: p.study, code: p.code } },
		h('p', h('a', { href: '#/mgr/people' }, t('mgr.people.back'))),
		h('h1', t('mgr.people.heading', { code: p.code, study: p.study })),
		h('section.card', facts), edit, consents, counts));
}

function editForm(ctx, p, diag) {
	const sex = choice(SEXES, 'mgr.people.sex.', p.sex);
	const born = h('input', { type: 'number', min: 1900, max: new Date().getUTCFullYear(), value: p.birth_year ?? '' });
	const dx = diagnosisSelect(diag, p.diagnosis);
	const reason = h('textarea', { rows: 2, maxlength: 1000 });
	const form = h('form.card#pp-edit',
		h('h2', t('mgr.people.edit')),
		h('p.hint', t('mgr.people.editHint')),
		h('div.grid2', h('div', field('pe-sex', 'mgr.people.th.sex', sex)), h('div', field('pe-born', 'mgr.people.th.born', born)),
			h('div', field('pe-dx', 'mgr.people.th.diagnosis', dx))),
		field('pe-reason', 'mgr.people.reason', reason),
		h('button.primary', { type: 'submit' }, t('mgr.people.save')));
	onSubmit(form, async (ev, key) => {
		formMessage(form, '');
		const change = {};
		if (sex.value !== p.sex) change.sex = sex.value;
		const year = born.value ? Number(born.value) : null;
		if (year !== (p.birth_year ?? null)) change.birth_year = year;
		if (dx.value !== p.diagnosis) change.diagnosis = dx.value;
		if (!Object.keys(change).length) {
			formMessage(form, t('mgr.people.nothingChanged'));
			return;
		}
		if (!reason.value.trim()) {
			formMessage(form, t('mgr.people.reasonNeeded'));
			reason.focus();
			return;
		}
		try {
			await api('PATCH', `/api/v1/participants/${esc(p.study)}/${esc(p.code)}`, { ...change, reason: reason.value.trim() });
			ctx.fb.ok(t('mgr.people.saved', { code: p.code }), { focus: false });
			ctx.refresh();
		} catch (e) {
			const msg = e instanceof ApiError && e.problem.code === 'collected-before-birth'
				? t('mgr.people.beforeBirth', { ids: (e.problem.specimens || []).join(', ') }) : says(e);
			formMessage(form, msg);
			ctx.fb.error(msg, { focus: false });
		}
	});
	return form;
}

function consentForm(ctx, p, tubes) {
	const scope = choice(SCOPES, 'mgr.people.scope.', 'biobank');
	const status = choice(['given', 'withdrawn'], 'mgr.people.cs.', 'given');
	const date = h('input', { type: 'date', required: true });
	const version = h('input', { required: true, maxlength: 64, autocomplete: 'off' });
	const effect = h('div#pp-effect', { 'aria-live': 'polite' });
	const submit = h('button.primary#pp-record', { type: 'submit' }, t('mgr.people.record'));
	const form = h('form#pp-consent',
		h('h3', t('mgr.people.recordTitle')),
		h('div.grid2', h('div', field('pk-scope', 'mgr.people.th.scope', scope)), h('div', field('pk-status', 'mgr.people.th.decision', status)),
			h('div', field('pk-date', 'mgr.people.th.date', date)), h('div', field('pk-version', 'mgr.people.th.version', version))),
		submit, effect);
	let preview = null;
	/* Changing what the form says forgets the effect shown for the old values. */
	for (const el of [scope, status]) el.addEventListener('change', () => {
		preview = null;
		fill(effect);
		submit.textContent = t('mgr.people.record');
		submit.classList.remove('danger');
	});
	onSubmit(form, async (ev, key) => {
		formMessage(form, '');
		if (!date.value || !version.value.trim()) {
			formMessage(form, t('mgr.people.dateVersion'));
			return;
		}
		const body = { scope: scope.value, status: status.value, date: date.value, version: version.value.trim() };
		/* A withdrawal is shown with its effect first; the second press confirms it. */
		if (body.status === 'withdrawn' && !preview) {
			try {
				const held = await promises(p.study, tubes.map((s) => s.id));
				preview = { held, rows: effectBefore(body.scope, tubes, held) };
			} catch (e) {
				formMessage(form, says(e));
				return;
			}
			fill(effect, h('div.card.warnbox#pp-before',
				h('h4', t('mgr.people.beforeTitle')),
				h('p', preview.rows.length ? t('mgr.people.beforeSummary', { count: preview.rows.filter((x) => x.blocked).length,
					r: preview.rows.filter((x) => x.off.length).length }) : t('mgr.people.beforeNothing')),
				preview.rows.length ? effectTable(preview.rows, false) : null));
			submit.textContent = t('mgr.people.confirmWithdraw');
			submit.classList.add('danger');
			submit.focus();
			return;
		}
		try {
			const r = await post(`/api/v1/participants/${esc(p.study)}/${esc(p.code)}/consents`, body, { key });
			if (body.status !== 'withdrawn') {
				ctx.fb.ok(t('mgr.people.recorded'), { focus: false });
				ctx.refresh();
				return;
			}
			/* After: the tubes and the promises as the server now has them. */
			const now = await tubesOf(p.study, p.code);
			const heldAfter = await promises(p.study, now.map((s) => s.id));
			const rows = preview.rows.map((x) => {
				const s = now.find((n) => n.id === x.s.id) || x.s;
				const off = x.off.filter((o) => !(heldAfter.get(s.id) || []).some((a) => a.kind === o.kind && a.id === o.id));
				return { s, blocked: x.blocked && s.consent_withdrawn, off };
			});
			preview = null;
			form.reset();
			submit.textContent = t('mgr.people.record');
			submit.classList.remove('danger');
			fill(effect, h('div.card.donebox#pp-after',
				h('h4', t('mgr.people.afterTitle')),
				h('p', t('mgr.people.afterSummary', { count: r.specimens_flagged ?? 0, r: rows.filter((x) => x.off.length).length })),
				rows.length ? effectTable(rows, true) : null,
				h('button#pp-reload', { type: 'button', onclick: () => ctx.refresh() }, t('mgr.people.reload'))));
			ctx.fb.warn(t('mgr.people.withdrawn', { count: r.specimens_flagged ?? 0 }), { focus: false });
		} catch (e) {
			formMessage(form, says(e));
			ctx.fb.error(says(e), { focus: false });
		}
	});
	return form;
}

export async function render(ctx, main, [study, code]) {
	if (!managersOnly(ctx, main)) return null;
	if (study === undefined) await listView(ctx, main);
	else await personView(ctx, main, study, code);
	return null;
}
