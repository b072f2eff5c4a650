/* mgr-study.js — a study's protocol and its completeness
 * (docs/api-protocols.md): the timepoints and the tubes expected at each,
 * edited as a whole and saved as a new version (with the version read, so
 * two managers never overwrite each other); the completeness matrix as a
 * heat map, participant × timepoint, each state with its own colour and
 * its own sign (the legend does not rely on colour), a cell opening the
 * tubes it counts; filters and the CSV download. */
import { get, api, ApiError } from './api.js';
import { h, fill, esc, when } from './dom.js';
import { t, num, day } from './i18n.js';
import { onSubmit } from './forms.js';
import { says, table, scroller, field, studies, choice, formMessage, download, managersOnly } from './mgr-common.js';

export const name = 'mgr-study';

const STATES = ['complete', 'partial', 'overdue', 'missing', 'missed'];
/* The sign each state carries in a cell and in the legend. */
const SIGN = { complete: '✔', partial: '◐', overdue: '!', missing: '○', missed: '✕' };

async function listView(ctx, main) {
	try {
		const all = await studies();
		fill(main, h('section.mgr.studies', h('h1', t('mgr.study.title')),
			all.length ? h('ul.mgr-links', all.map((s) => h('li', h('a', { href: `#/mgr/study/${esc(s.code)}` }, `${s.code} — ${s.name}`))))
				: h('p.dim', t('mgr.study.none'))));
	} catch (e) {
		fill(main, h('p.problem', says(e)));
	}
}

/* ---- the protocol --------------------------------------------------------- */

function protocolSummary(pr) {
	return scroller(t('mgr.study.protocol'), table('mgr-list#st-protocol', ['mgr.study.th.timepoint', 'mgr.study.th.day', 'mgr.study.th.window', 'mgr.study.th.expected'],
		pr.timepoints.map((tp) => [h('span', h('strong', tp.code), ' ', tp.label), num(tp.day_offset), `± ${num(tp.window_days)}`,
			tp.specimens.length ? tp.specimens.map((s) => t('mgr.study.spec', { count: s.aliquots, type: s.type,
				q: s.quantity ? ` × ${num(Number(s.quantity.value))} ${s.quantity.unit}` : '' }) + (s.sprec ? ` (${s.sprec})` : '')).join('; ')
				: t('mgr.study.nothingExpected')])));
}

/* One timepoint's inputs; its specimens a list of rows that can grow. */
function timepointBox(tp, types, n, onRemove) {
	const fs = h('fieldset.tp');
	const code = h('input.tp-code', { value: tp.code || '', required: true, maxlength: 40, autocomplete: 'off' });
	const label = h('input.tp-label', { value: tp.label || '', required: true, maxlength: 200 });
	const dayOff = h('input.tp-day', { type: 'number', value: tp.day_offset ?? 0, min: -3650, max: 36500 });
	const win = h('input.tp-window', { type: 'number', value: tp.window_days ?? 0, min: 0, max: 3650 });
	const rows = h('div.tp-specs');
	const addSpec = (s) => {
		const type = h('select.sp-type', types.map((x) => h('option', { value: x.code, selected: x.code === s.type }, x.code)));
		const aliq = h('input.sp-aliquots', { type: 'number', min: 1, max: 500, value: s.aliquots ?? 1 });
		const qty = h('input.sp-qty', { type: 'number', min: 0, step: 'any', value: s.quantity?.value ?? '' });
		const unit = h('input.sp-unit', { value: s.quantity?.unit ?? 'mL', maxlength: 16 });
		const sprec = h('input.sp-sprec', { value: s.sprec ?? '', maxlength: 40, autocomplete: 'off', spellcheck: 'false' });
		const k = rows.children.length;
		const id = (x) => `tp${n}-${x}${k}-${Math.random().toString(36).slice(2, 6)}`;
		const ids = ['type', 'aliq', 'qty', 'unit', 'sprec'].map(id);
		const row = h('div.sp-row',
			h('div', h('label', { for: ids[0] }, t('mgr.study.th.type')), Object.assign(type, { id: ids[0] })),
			h('div', h('label', { for: ids[1] }, t('mgr.study.th.aliquots')), Object.assign(aliq, { id: ids[1] })),
			h('div', h('label', { for: ids[2] }, t('mgr.study.th.quantity')), Object.assign(qty, { id: ids[2] })),
			h('div', h('label', { for: ids[3] }, t('mgr.study.th.unit')), Object.assign(unit, { id: ids[3] })),
			h('div', h('label', { for: ids[4] }, t('mgr.study.th.sprec')), Object.assign(sprec, { id: ids[4] })),
			h('button.sp-remove', { type: 'button', onclick: () => row.remove() }, t('mgr.study.removeSpec')));
		rows.append(row);
	};
	for (const s of tp.specimens || []) addSpec(s);
	const base = `tp${n}-${Math.random().toString(36).slice(2, 6)}`;
	fs.append(h('legend', t('mgr.study.timepoint', { count: n + 1 })),
		h('div.grid2', h('div', field(`${base}-code`, 'mgr.study.th.code', code)), h('div', field(`${base}-label`, 'mgr.study.th.label', label)),
			h('div', field(`${base}-day`, 'mgr.study.th.day', dayOff)), h('div', field(`${base}-win`, 'mgr.study.th.window', win))),
		rows,
		h('div.row', h('button.sp-add', { type: 'button', onclick: () => addSpec({ type: types[0]?.code, aliquots: 1 }) }, t('mgr.study.addSpec')),
			h('button.tp-remove', { type: 'button', onclick: onRemove }, t('mgr.study.removeTp'))));
	fs.read = (order) => ({
		code: code.value.trim(), label: label.value.trim(), order,
		day_offset: Number(dayOff.value || 0), window_days: Number(win.value || 0),
		specimens: [...rows.querySelectorAll('.sp-row')].map((r) => {
			const s = { type: r.querySelector('.sp-type').value, aliquots: Number(r.querySelector('.sp-aliquots').value || 1) };
			const q = r.querySelector('.sp-qty').value;
			if (q !== '') s.quantity = { value: Number(q), unit: r.querySelector('.sp-unit').value.trim() };
			const sp = r.querySelector('.sp-sprec').value.trim();
			if (sp) s.sprec = sp;
			return s;
		}),
	});
	return fs;
}

function protocolEditor(ctx, code, pr, types) {
	const list = h('div#pe-timepoints');
	let n = 0;
	const addTp = (tp) => {
		const box = timepointBox(tp, types, n++, () => box.remove());
		list.append(box);
	};
	for (const tp of pr?.timepoints || [{ code: 'baseline', label: 'Baseline', day_offset: 0, window_days: 14, specimens: [] }]) addTp(tp);
	const reason = h('textarea', { rows: 2, maxlength: 1000 });
	const form = h('form.card#st-edit',
		h('h2', pr ? t('mgr.study.editTitle', { v: pr.version }) : t('mgr.study.newTitle')),
		h('p.hint', t('mgr.study.editHint')),
		list,
		h('button#pe-add-tp', { type: 'button', onclick: () => addTp({ specimens: [] }) }, t('mgr.study.addTp')),
		field('pe-reason', 'mgr.study.reason', reason),
		h('button.primary#pe-save', { type: 'submit' }, t('mgr.study.save')));
	onSubmit(form, async () => {
		formMessage(form, '');
		if (!reason.value.trim()) {
			formMessage(form, t('mgr.study.reasonNeeded'));
			reason.focus();
			return;
		}
		const timepoints = [...list.querySelectorAll('fieldset.tp')].map((fs, i) => fs.read(i));
		try {
			const saved = await api('PUT', `/api/v1/studies/${esc(code)}/protocol`, { reason: reason.value.trim(),
				expected_version: pr ? pr.version : 0, timepoints });
			ctx.fb.ok(t('mgr.study.saved', { v: saved.version }), { focus: false });
			ctx.refresh();
		} catch (e) {
			const msg = e instanceof ApiError && e.problem.code === 'protocol-changed'
				? t('mgr.study.changed', { v: e.problem.current_version ?? '?' }) : says(e);
			formMessage(form, msg);
			ctx.fb.error(msg, { focus: false });
		}
	});
	return h('details.card#st-editor', h('summary', pr ? t('mgr.study.edit') : t('mgr.study.create')), form);
}

/* ---- the completeness heat map ------------------------------------------ */

function legend() {
	return h('ul.heat-legend', { 'aria-label': t('mgr.study.legend') },
		STATES.map((s) => h('li', h('span', { class: `heat-cell st-${s}`, 'aria-hidden': 'true' }, SIGN[s]), ' ', t(`mgr.study.state.${s}`))));
}

function heatMap(report, onCell) {
	const tps = [];
	const people = [];
	const cells = new Map();
	for (const it of report.items) {
		if (!tps.some((x) => x.code === it.timepoint)) tps.push({ code: it.timepoint, label: it.label });
		if (!people.includes(it.participant)) people.push(it.participant);
		cells.set(`${it.participant}\u0000${it.timepoint}`, it);
	}
	return scroller(t('mgr.study.heat'), h('table.heat#st-heat',
		h('caption.sr', t('mgr.study.heatCaption')),
		h('thead', h('tr', h('th', { scope: 'col' }, t('mgr.study.th.participant')), tps.map((tp) => h('th', { scope: 'col', title: tp.label }, tp.code)))),
		h('tbody', people.map((p) => h('tr', h('th', { scope: 'row' }, p), tps.map((tp) => {
			const it = cells.get(`${p}\u0000${tp.code}`);
			if (!it) return h('td');
			const words = t('mgr.study.cell', { p, tp: tp.code, state: t(`mgr.study.state.${it.state}`), held: it.held, expected: it.expected });
			return h('td', h('button', { type: 'button', class: `heat-cell st-${it.state}`, 'aria-label': words, title: words,
				dataset: { participant: p, timepoint: tp.code, state: it.state }, onclick: () => onCell(it) },
			SIGN[it.state], h('span.heat-n', `${it.held}/${it.expected}`)));
		}))))));
}

async function tubesPanel(panel, study, it) {
	fill(panel, h('p.loading', t('mgr.people.loading')));
	try {
		const list = (await get(`/api/v1/specimens?study=${esc(study)}&participant=${esc(it.participant)}&timepoint=${esc(it.timepoint)}&limit=1000`)).items;
		fill(panel, h('h3', { tabindex: -1 }, t('mgr.study.tubesOf', { p: it.participant, tp: it.timepoint, state: t(`mgr.study.state.${it.state}`) })),
			h('p.dim', it.types.map((x) => t('mgr.study.typeHeld', { type: x.type, held: x.held, expected: x.expected })).join(' · ')),
			it.visit?.status ? h('p.dim', t('mgr.study.visit', { status: it.visit.status, date: it.visit.actual_date ? day(it.visit.actual_date) : '—' })) : null,
			list.length ? scroller(t('mgr.study.tubesLabel'), table('mgr-list#st-tubes', ['mgr.people.th.tube', 'mgr.people.th.what', 'mgr.people.th.status', 'mgr.people.th.place', 'mgr.study.th.collected'],
				list.map((s) => [h('a', { href: `#/specimen/${esc(s.id)}` }, s.id), `${s.type} · ${s.timepoint}`, t(`status.${s.status}`),
					s.location ? `${s.location.box} ${s.location.position}` : '—', when(s.collected_at)]),
				(i) => ({ dataset: { specimen: list[i].id } })))
				: h('p.dim', t('mgr.study.noTubes')),
			h('p', h('a', { href: `#/mgr/people/${esc(study)}/${esc(it.participant)}` }, t('mgr.study.openPerson', { p: it.participant }))));
		panel.querySelector('h3').focus();
	} catch (e) {
		fill(panel, h('p.problem', says(e)));
	}
}

async function completeness(ctx, root, code, pr, types) {
	const tp = choice(['', ...pr.timepoints.map((x) => x.code)], 'mgr.study.tp.', '', null);
	for (const o of tp.options) if (o.value) o.textContent = o.value;
	const type = choice(['', ...new Set(pr.timepoints.flatMap((x) => x.specimens.map((s) => s.type)))], 'mgr.study.type.', '', null);
	for (const o of type.options) if (o.value) o.textContent = o.value;
	const state = choice(['', ...STATES], 'mgr.study.state.', '', null);
	const site = h('input', { autocomplete: 'off', placeholder: t('mgr.study.sitePh') });
	const summary = h('p#st-summary');
	const map = h('div#st-map');
	const panel = h('section.card#st-cell', { 'aria-live': 'polite' });
	panel.hidden = true;
	const query = () => {
		const q = new URLSearchParams();
		if (tp.value) q.set('timepoint', tp.value);
		if (type.value) q.set('type', type.value);
		if (state.value) q.set('state', state.value);
		if (site.value.trim()) q.set('site', site.value.trim());
		return q;
	};
	const load = async () => {
		try {
			const r = await get(`/api/v1/studies/${esc(code)}/completeness?${query()}`);
			summary.textContent = t('mgr.study.summary', { ...r.summary, asof: day(r.as_of), v: r.protocol_version });
			fill(map, r.items.length ? heatMap(r, (it) => {
				panel.hidden = false;
				tubesPanel(panel, code, it);
			}) : h('p.dim', t('mgr.study.empty')));
		} catch (e) {
			fill(map, h('p.problem', says(e)));
		}
	};
	const filters = h('form.row.filters#st-filters',
		h('div', field('sf-tp', 'mgr.study.th.timepoint', tp)), h('div', field('sf-type', 'mgr.study.th.type', type)),
		h('div', field('sf-state', 'mgr.study.th.state', state)), h('div', field('sf-site', 'mgr.study.th.site', site)),
		h('button', { type: 'submit' }, t('mgr.study.apply')),
		h('button#st-csv', { type: 'button', onclick: async () => {
			const q = query();
			q.set('format', 'csv');
			try {
				await download(`/api/v1/studies/${esc(code)}/completeness?${q}`, 'text/csv', `completeness-${code}.csv`);
			} catch (e) {
				ctx.fb.error(says(e), { focus: false });
			}
		} }, t('mgr.study.csv')));
	filters.addEventListener('submit', (ev) => {
		ev.preventDefault();
		load();
	});
	for (const el of [tp, type, state]) el.addEventListener('change', load);
	root.append(h('section.card', h('h2', t('mgr.study.completeness')), filters, legend(), summary, map), panel);
	await load();
}

async function studyView(ctx, main, code) {
	fill(main, h('p.loading', t('mgr.people.loading')));
	let st, pr = null, types;
	try {
		[st, types] = await Promise.all([get(`/api/v1/studies/${esc(code)}`), get('/api/v1/specimen-types').then((r) => r.items)]);
		pr = await get(`/api/v1/studies/${esc(code)}/protocol`).catch((e) => {
			if (e instanceof ApiError && e.problem.code === 'protocol-not-found') return null;
			throw e;
		});
	} catch (e) {
		fill(main, h('section.card', h('p.problem', says(e)), h('a', { href: '#/mgr/studies' }, t('mgr.study.back'))));
		return;
	}
	const root = h('section.mgr.study', { dataset: { study: code } },
		h('p', h('a', { href: '#/mgr/studies' }, t('mgr.study.back'))),
		h('h1', t('mgr.study.heading', { code, name: st.name })),
		h('section.card', h('h2', t('mgr.study.protocol')),
			pr ? [h('p.dim#st-version', t('mgr.study.version', { v: pr.version, at: when(pr.created_at), who: pr.created_by, reason: pr.reason || '—' })),
				protocolSummary(pr)] : h('p.dim#st-noprotocol', t('mgr.study.noProtocol'))),
		protocolEditor(ctx, code, pr, types));
	fill(main, root);
	if (pr) await completeness(ctx, root, code, pr, types);
}

export async function render(ctx, main, [code]) {
	if (!managersOnly(ctx, main)) return null;
	if (code === undefined) await listView(ctx, main);
	else await studyView(ctx, main, code);
	return null;
}
