/* capacity.js — freezer capacity: the whole location tree in one answer
 * (GET /reports/occupancy, in tree order with each row's depth), a fill bar
 * for every location and every box, fullest boxes easy to spot; a freezer
 * (or any location) can be chosen to see only what is below it. */
import { get, ApiError } from './api.js';
import { h, fill, bar, esc } from './dom.js';
import { t, num, problemText } from './i18n.js';

export const name = 'capacity';

function line(x) {
	const occ = { capacity: x.capacity, used: x.used };
	const full = x.capacity > 0 && x.used / x.capacity >= 0.9;
	if (x.kind === 'box') {
		return h('li.capbox', { dataset: { box: x.barcode }, class: full ? 'capbox nearfull' : 'capbox' },
			h('a.boxlink', { href: `#/box/${esc(x.barcode)}` }, t('box.title', { box: x.barcode })),
			bar(occ, t('box.title', { box: x.barcode })));
	}
	return h('li.caploc', { dataset: { id: x.id, kind: x.kind } },
		h('span.kind', t(`loc.${x.kind}`)), ' ',
		h('a.locname', { href: `#/capacity/${x.id}` }, x.name),
		x.temperature_c !== null && x.temperature_c !== undefined && h('span.dim', ` ${num(Number(x.temperature_c))} °C`),
		h('span.dim', ` ${t('mgr.cap.boxes', { n: x.boxes ?? 0 })}`),
		bar(occ, `${t(`loc.${x.kind}`)} ${x.name}`));
}

/* Rows in tree order become nested lists; a box goes under its location's row. */
function tree(items) {
	const root = h('ul.captree#cap-tree');
	const stack = [{ depth: -1, ul: root }];
	const under = new Map();
	for (const x of items) {
		if (x.kind === 'box') {
			(under.get(x.location) || stack[stack.length - 1].ul).append(line(x));
			continue;
		}
		while (stack.length > 1 && stack[stack.length - 1].depth >= x.depth) stack.pop();
		const li = line(x);
		const ul = h('ul');
		li.append(ul);
		stack[stack.length - 1].ul.append(li);
		stack.push({ depth: x.depth, ul });
		under.set(x.id, ul);
	}
	return root;
}

export async function render(ctx, main, [id]) {
	if (!ctx.can('manager')) {
		fill(main, h('p.problem', t('mgr.managersOnly')));
		return;
	}
	fill(main, h('p.loading', t('mgr.loading')));
	let r, all;
	try {
		[r, all] = await Promise.all([get(`/api/v1/reports/occupancy${id ? `?location=${esc(id)}` : ''}`),
			id ? get('/api/v1/reports/occupancy') : null]);
	} catch (e) {
		if (e instanceof ApiError && e.status === 401) return;
		fill(main, h('p.problem#cap-error', problemText(e)));
		ctx.fb.error(problemText(e));
		return;
	}
	const freezers = (all || r).items.filter((x) => x.kind === 'freezer');
	const pick = h('select#cap-location', h('option', { value: '' }, t('mgr.cap.everything')),
		freezers.map((f) => h('option', { value: f.id, selected: String(f.id) === id }, f.path.join(' › '))));
	pick.addEventListener('change', () => ctx.go(pick.value ? `#/capacity/${pick.value}` : '#/capacity'));
	const boxes = r.items.filter((x) => x.kind === 'box');
	const nearFull = boxes.filter((b) => b.capacity > 0 && b.used / b.capacity >= 0.9).length;
	fill(main, h('section.mgr.capacity',
		h('h1', t('mgr.cap.title')),
		h('div.row', h('label', { for: 'cap-location' }, t('mgr.cap.show')), pick),
		h('p#cap-total', t('mgr.cap.total', { used: r.total.used, cap: r.total.capacity, free: r.total.free,
			pct: num(r.total.capacity ? r.total.used / r.total.capacity : 0, { style: 'percent' }) }),
		' ', t('mgr.cap.nearFull', { n: nearFull })),
		r.items.length ? tree(r.items) : h('p', t('loc.nothing'))));
}
