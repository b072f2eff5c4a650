/* reports.js — the manager's reports: inventory, freeze–thaw, time out of
 * storage, audit coverage and exposures; each with its filters, a CSV of
 * what is shown, and a chart where one reads better than a table
 * (svgchart.js). Every figure comes from one of the API's reports:
 *   inventory      GET /reports/inventory (+ /reports/occupancy per freezer)
 *   freeze–thaw,
 *   time out,
 *   exposures      GET /reports/exposure (tubes past their type's limits)
 *   coverage       GET /reports/audit-coverage, at several windows for "over time" */
import { get, ApiError } from './api.js';
import { h, fill, esc } from './dom.js';
import { t, num, problemText, when } from './i18n.js';
import { barChart } from './svgchart.js';
import { dataTable, csvButton } from './tablecsv.js';

export const name = 'reports';

const KINDS = ['inventory', 'freeze-thaw', 'out-of-storage', 'coverage', 'exposure'];

/* The freezers of the site, for the location filters (from the occupancy report). */
async function freezers() {
	const occ = await get('/api/v1/reports/occupancy');
	return occ.items.filter((x) => x.kind === 'freezer');
}

function freezerSelect(id, list, value) {
	return h(`select#${id}`, h('option', { value: '' }, t('mgr.rep.anywhere')),
		list.map((f) => h('option', { value: f.id, selected: String(f.id) === value }, f.path.join(' › '))));
}

function filterForm(fields, onApply) {
	const form = h('form.card.filters', { 'aria-label': t('mgr.rep.filters') }, h('div.grid2', fields),
		h('button.primary#rep-apply', { type: 'submit' }, t('mgr.rep.apply')));
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		onApply();
	});
	return form;
}

const pct = (v) => num(v, { style: 'percent', maximumFractionDigits: 0 });

/* --- inventory --------------------------------------------------------------- */
async function inventory(ctx, out) {
	const [studies, frz] = await Promise.all([get('/api/v1/studies?limit=1000'), freezers()]);
	const study = h('select#rep-study', h('option', { value: '' }, t('mgr.rep.allStudies')),
		studies.items.map((s) => h('option', { value: s.code }, `${s.code} — ${s.name}`)));
	const loc = freezerSelect('rep-location', frz, '');
	const inErr = h('input#rep-inerror', { type: 'checkbox' });
	const body = h('div#rep-body');
	const cols = [
		{ key: 'study', label: t('mgr.rep.th.study') },
		{ key: 'type', label: t('mgr.rep.th.type') },
		{ key: 'timepoint', label: t('mgr.rep.th.timepoint') },
		{ key: 'status', label: t('mgr.rep.th.status'), cell: (r) => t(`status.${r.status}`) },
		{ key: 'count', label: t('mgr.rep.th.count'), cell: (r) => num(r.count) },
	];
	let rows = [];
	const load = async () => {
		const q = new URLSearchParams();
		if (study.value) q.set('study', study.value);
		if (loc.value) q.set('location', loc.value);
		if (inErr.checked) q.set('include_in_error', 'true');
		fill(body, h('p.loading', t('mgr.loading')));
		const r = await get(`/api/v1/reports/inventory?${q}`);
		rows = r.items;
		/* By type, stacked by status: what is held, at a glance. */
		const statuses = [...new Set(rows.map((x) => x.status))];
		const types = [...new Set(rows.map((x) => x.type))];
		const byType = types.map((ty) => ({ label: ty,
			values: statuses.map((st) => rows.filter((x) => x.type === ty && x.status === st).reduce((a, x) => a + x.count, 0)) }));
		fill(body,
			h('p#rep-total', t('mgr.rep.total', { n: r.total })),
			csvButton('rep-csv', t('mgr.rep.csv'), 'inventory.csv', cols, () => rows),
			rows.length ? dataTable('rep-table', cols, rows, t('mgr.rep.inventory')) : h('p', t('mgr.rep.nothing')),
			rows.length > 0 && barChart({ id: 'chart-types', title: t('mgr.rep.chart.types'), rowHead: t('mgr.rep.th.type'),
				series: statuses.map((st) => t(`status.${st}`)), rows: byType, tableLabel: t('mgr.rep.astable') }));
	};
	/* Tubes per freezer: the space is shared, so every study's tubes count (as on the freezers' page). */
	const perFreezer = frz.length > 0 && barChart({ id: 'chart-freezers', title: t('mgr.rep.chart.freezers'),
		rowHead: t('mgr.rep.th.freezer'), series: [t('mgr.rep.used'), t('mgr.rep.free')],
		rows: frz.map((f) => ({ label: f.path.join(' › '), values: [f.used, f.free] })), tableLabel: t('mgr.rep.astable') });
	fill(out,
		filterForm([
			h('div', h('label', { for: 'rep-study' }, t('mgr.rep.study')), study),
			h('div', h('label', { for: 'rep-location' }, t('mgr.rep.location')), loc),
			h('div', h('label.check', inErr, ' ', t('mgr.rep.inerror'))),
		], () => load().catch((e) => showError(ctx, body, e))),
		perFreezer, body);
	await load();
}

/* --- tubes past their limits (freeze–thaw, time out of storage, exposures) --- */
const LIMIT_OF = { 'freeze-thaw': ['freeze-thaw'], 'out-of-storage': ['minutes-out'], exposure: null };

async function pastLimits(ctx, out, kind) {
	const frz = await freezers();
	const loc = freezerSelect('rep-location', frz, '');
	const type = h('input#rep-type', { autocomplete: 'off' });
	const body = h('div#rep-body');
	const only = LIMIT_OF[kind];
	const flagsOf = (r) => r.flags.filter((f) => !only || only.includes(f.limit));
	const flagText = (f) => t(`mgr.rep.limit.${f.limit}`, { value: f.value, max: f.max });
	const cols = [
		{ key: 'specimen', label: t('mgr.rep.th.specimen'), cell: (r) => h('a', { href: `#/specimen/${esc(r.specimen)}` }, r.specimen) },
		{ key: 'type', label: t('mgr.rep.th.type') },
		{ key: 'study', label: t('mgr.rep.th.study'), value: (r) => r.participant.study },
		{ key: 'participant', label: t('mgr.rep.th.participant'), value: (r) => r.participant.code },
		{ key: 'status', label: t('mgr.rep.th.status'), value: (r) => r.status, cell: (r) => t(`status.${r.status}`) },
		{ key: 'location', label: t('mgr.rep.th.location'),
			value: (r) => (r.location ? `${r.location.path.join(' / ')} ${r.location.position}` : '') },
		{ key: 'limits', label: t('mgr.rep.th.limits'), value: (r) => flagsOf(r).map((f) => `${f.limit}=${f.value}>${f.max}`).join(' '),
			cell: (r) => flagsOf(r).map(flagText).join('; ') },
	];
	let rows = [];
	const load = async () => {
		const q = new URLSearchParams();
		if (loc.value) q.set('location', loc.value);
		fill(body, h('p.loading', t('mgr.loading')));
		const r = await get(`/api/v1/reports/exposure?${q}`);
		const ty = type.value.trim().toLowerCase();
		rows = r.items.filter((x) => flagsOf(x).length && (!ty || x.type.toLowerCase() === ty));
		/* How far past: tubes by type, one bar per limit. */
		const limits = only || ['freeze-thaw', 'minutes-out', 'excursion-minutes'];
		const types = [...new Set(rows.map((x) => x.type))];
		fill(body,
			h('p#rep-total', t('mgr.rep.past', { n: rows.length })),
			csvButton('rep-csv', t('mgr.rep.csv'), `${kind}.csv`, cols, () => rows),
			rows.length ? dataTable('rep-table', cols, rows, t(`mgr.rep.k.${kind}`)) : h('p', t('mgr.rep.nonePast')),
			rows.length > 0 && barChart({ id: 'chart-limits', title: t('mgr.rep.chart.limits'), rowHead: t('mgr.rep.th.type'),
				series: limits.map((l) => t(`mgr.rep.lim.${l}`)),
				rows: types.map((tp) => ({ label: tp, values: limits.map((l) => rows.filter((x) => x.type === tp && x.flags.some((f) => f.limit === l)).length) })),
				tableLabel: t('mgr.rep.astable') }));
	};
	fill(out,
		h('p.hint', t(`mgr.rep.hint.${kind}`)),
		filterForm([
			h('div', h('label', { for: 'rep-location' }, t('mgr.rep.location')), loc),
			h('div', h('label', { for: 'rep-type' }, t('mgr.rep.type')), type),
		], () => load().catch((e) => showError(ctx, body, e))),
		body);
	await load();
}

/* --- audit coverage ------------------------------------------------------------ */
const WINDOWS = [30, 90, 180, 365];

async function coverage(ctx, out) {
	const days = h('input#rep-days', { type: 'number', min: 1, max: 3650, value: 365, inputmode: 'numeric' });
	const body = h('div#rep-body');
	const cols = [
		{ key: 'freezer', label: t('mgr.rep.th.freezer'), value: (r) => r.location.path.join(' / ') },
		{ key: 'boxes', label: t('mgr.rep.th.boxes') },
		{ key: 'verified', label: t('mgr.rep.cov.verified') },
		{ key: 'stale', label: t('mgr.rep.cov.stale') },
		{ key: 'never', label: t('mgr.rep.cov.never') },
		{ key: 'oldest_unverified', label: t('mgr.rep.th.unverified'),
			value: (r) => r.unverified.map((u) => u.box).join(' ') },
	];
	let rows = [];
	const load = async () => {
		fill(body, h('p.loading', t('mgr.loading')));
		const want = days.value.trim();
		const r = await get(`/api/v1/reports/audit-coverage?days=${esc(want)}`);
		rows = r.items;
		/* Over time: the share of each freezer's boxes verified within 30, 90, 180 and 365 days. */
		const windows = await Promise.all(WINDOWS.map((d) => get(`/api/v1/reports/audit-coverage?days=${d}`)));
		const share = (w, id) => {
			const it = w.items.find((x) => x.location.id === id);
			return it && it.boxes ? it.verified / it.boxes : 0;
		};
		fill(body,
			h('p#rep-total', t('mgr.rep.cov.total', { days: r.days, boxes: r.totals.boxes, verified: r.totals.verified,
				stale: r.totals.stale, never: r.totals.never, at: when(r.as_of) })),
			csvButton('rep-csv', t('mgr.rep.csv'), 'audit-coverage.csv', cols, () => rows),
			rows.length ? barChart({ id: 'chart-coverage', title: t('mgr.rep.chart.coverage', { days: r.days }),
				rowHead: t('mgr.rep.th.freezer'),
				series: [t('mgr.rep.cov.verified'), t('mgr.rep.cov.stale'), t('mgr.rep.cov.never')],
				rows: rows.map((x) => ({ label: x.location.path.join(' › '), values: [x.verified, x.stale, x.never] })),
				tableLabel: t('mgr.rep.astable') }) : h('p', t('mgr.rep.nothing')),
			rows.length > 0 && h('div.smallmultiples', rows.map((x) => barChart({ id: `chart-trend-${x.location.id}`,
				title: t('mgr.rep.chart.trend', { freezer: x.location.path.join(' › ') }), rowHead: t('mgr.rep.th.window'),
				series: [t('mgr.rep.cov.share')], max: 1, format: pct,
				rows: WINDOWS.map((d, i) => ({ label: t('mgr.rep.within', { days: d }), values: [share(windows[i], x.location.id)] })),
				tableLabel: t('mgr.rep.astable') }))),
			rows.length > 0 && dataTable('rep-table', cols.map((c) => (c.key === 'oldest_unverified'
				? { ...c, cell: (r) => r.unverified.slice(0, 8).map((u) => h('a.chip', { href: `#/box/${esc(u.box)}` }, u.box)) } : c)), rows,
			t('mgr.rep.k.coverage')));
	};
	fill(out,
		filterForm([h('div', h('label', { for: 'rep-days' }, t('mgr.rep.days')), days)],
			() => load().catch((e) => showError(ctx, body, e))),
		body);
	await load();
}

function showError(ctx, el, e) {
	const msg = problemText(e);
	fill(el, h('p.problem#rep-error', msg));
	ctx.fb.error(msg);
}

export async function render(ctx, main, [kind]) {
	if (!ctx.can('manager')) {
		fill(main, h('p.problem', t('mgr.managersOnly')));
		return;
	}
	const k = KINDS.includes(kind) ? kind : 'inventory';
	const out = h('div#rep-view');
	fill(main, h('section.mgr.reports', { dataset: { report: k } },
		h('h1', t('mgr.rep.title')),
		h('nav.tabs', { 'aria-label': t('mgr.rep.which') }, KINDS.map((x) =>
			h('a', { href: `#/reports/${x}`, 'aria-current': x === k ? 'page' : false }, t(`mgr.rep.k.${x}`)))),
		h('h2', t(`mgr.rep.k.${k}`)),
		out));
	try {
		if (k === 'inventory') await inventory(ctx, out);
		else if (k === 'coverage') await coverage(ctx, out);
		else await pastLimits(ctx, out, k);
	} catch (e) {
		if (e instanceof ApiError && e.status === 401) return;
		showError(ctx, out, e);
	}
}
