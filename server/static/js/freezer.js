/* freezer.js — the storage tree: sites, rooms, freezers, shelves and racks
 * with an occupancy bar each, boxes at the leaves; a branch opens on demand
 * (GET /api/v1/locations/{id}); a box opens its grid. */
import { get } from './api.js';
import { h, fill, bar, esc } from './dom.js';
import { t, num, problemText } from './i18n.js';

export const name = 'freezer';

function temp(c) {
	return c === null || c === undefined ? '' : ` ${num(Number(c))} °C`;
}

/* One location as an expandable branch; its children load when opened. */
function branch(ctx, loc, open) {
	const body = h('div.branch-body');
	const details = h('details.loc', { dataset: { id: loc.id, kind: loc.kind }, open },
		h('summary',
			h('span.kind', t(`loc.${loc.kind}`)), h('span.locname', loc.name + temp(loc.temperature_c)),
			bar(loc.occupancy, `${t(`loc.${loc.kind}`)} ${loc.name}`)),
		body);
	let loaded = false;
	const load = async () => {
		if (loaded) return;
		loaded = true;
		try {
			const full = await get(`/api/v1/locations/${loc.id}`);
			fill(body,
				full.children.map((c) => branch(ctx, c, full.children.length === 1)),
				full.boxes.length > 0 && h('ul.boxes', full.boxes.map((b) => h('li',
					h('a.boxlink', { href: `#/box/${esc(b.barcode)}` }, t('box.title', { box: b.barcode })),
					h('span.dim', ` ${b.rows}×${b.cols}`), bar(b.occupancy, t('box.title', { box: b.barcode }))))),
				!full.children.length && !full.boxes.length && h('p.dim', t('loc.empty')));
		} catch (e) {
			loaded = false;
			fill(body, h('p.problem', problemText(e)));
		}
	};
	details.addEventListener('toggle', () => details.open && load());
	if (open) load();
	return details;
}

export async function render(ctx, main, [id]) {
	fill(main, h('p.loading', t('loc.loading')));
	try {
		if (id) {
			const loc = await get(`/api/v1/locations/${id}`);
			fill(main, h('section.tree',
				h('h1', loc.path.join(' › ')),
				loc.parent && h('p', h('a', { href: `#/freezers/${loc.parent}` }, t('loc.up'))),
				h('p', h('a', { href: '#/freezers' }, t('loc.all'))),
				branch(ctx, loc, true)));
		} else {
			const sites = await get('/api/v1/locations?limit=1000');
			fill(main, h('section.tree',
				h('h1', t('loc.title')),
				sites.items.length ? sites.items.map((s) => branch(ctx, s, sites.items.length === 1)) : h('p', t('loc.nothing'))));
		}
	} catch (e) {
		fill(main, h('p.problem', problemText(e)));
		ctx.fb.error(problemText(e));
	}
}
