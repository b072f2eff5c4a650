/* pick.js — picking a specimen request's tubes at the bench
 * (docs/api-requests.md): the requests with tubes to pick, and one request's
 * pick list in freezer → rack → box → position order. While the list is
 * open every scan is a picked tube, checked by the server against the list
 * (POST /api/v1/requests/{id}/picks): the wrong tube is refused naming the
 * one expected, and nothing is recorded for it. */
import { get, post, ApiError } from './api.js';
import { h, fill, esc, when } from './dom.js';
import { readId } from './ids.js';

export const name = 'pick';

/* Requests whose reserved tubes may still be picked. */
const PICKABLE = ['allocated', 'shipped'];

async function requestList(ctx, main) {
	fill(main, h('p.loading', 'Loading the requests…'));
	try {
		const pages = await Promise.all(PICKABLE.map((s) => get(`/api/v1/requests?status=${s}&limit=200`)));
		const items = pages.flatMap((p) => p.items)
			.filter((q) => q.allocation.specimens > q.allocation.picked + q.allocation.shipped)
			.sort((a, b) => b.id - a.id);
		fill(main, h('section.picks',
			h('h1', 'Requests to pick'),
			items.length ? h('table.picklist',
				h('thead', h('tr', ['Request', 'Title', 'Study', 'Status', 'Picked'].map((c) => h('th', c)))),
				h('tbody', items.map((q) => h('tr', { dataset: { request: q.id } },
					h('td', h('a', { href: `#/request/${q.id}/pick` }, `#${q.id}`)),
					h('td', q.title), h('td', q.criteria.study), h('td', q.status),
					h('td', `${q.allocation.picked} of ${q.allocation.specimens - q.allocation.shipped}`)))))
				: h('p', 'No request has tubes waiting to be picked.')));
	} catch (e) {
		fill(main, h('p.problem', e.message));
		ctx.fb.error(e.message);
	}
}

/* A place as the bench reads it: "BOX-B B2", or the tube's status when it has none. */
function place(item) {
	return item.box ? `${item.box} ${item.position}` : 'not in a box';
}

function lineRow(item) {
	return h('tr', { dataset: { specimen: item.specimen, line: item.line }, class: item.picked ? 'picked' : '' },
		h('td', item.line), h('td', item.freezer || '—'), h('td', item.location || '—'),
		h('td.place', place(item)), h('td.id', item.specimen),
		h('td', item.tube_barcode || ''), h('td', `${item.type} ${item.timepoint}`),
		h('td.state', item.picked ? `picked ${when(item.picked)}` : ''));
}

async function pickList(ctx, main, id) {
	fill(main, h('p.loading', `Loading the pick list of request ${id}…`));
	let list;
	try {
		const [q, pl] = await Promise.all([get(`/api/v1/requests/${esc(id)}`), get(`/api/v1/requests/${esc(id)}/pick-list`)]);
		list = pl.items;
		const next = h('p.next#pick-next');
		const body = h('tbody', list.map(lineRow));
		fill(main, h('section.picks', { dataset: { request: id } },
			h('h1', `Pick request #${q.id}: ${q.title}`),
			h('p.dim', `${q.criteria.study} · ${q.status} · ${q.allocation.picked} picked, ${q.allocation.shipped} shipped`),
			h('p.hint', 'Scan each tube as you take it out; the list is sorted so that each freezer opens once.'),
			next,
			h('table.picklist',
				h('thead', h('tr', ['#', 'Freezer', 'Location', 'Place', 'Specimen', 'Tube', 'What', ''].map((c) => h('th', c)))),
				body),
			h('p', h('a', { href: '#/requests' }, 'All requests to pick'))));
		showNext(list);
	} catch (e) {
		fill(main, h('p.problem', e instanceof ApiError && e.status === 404 ? `No request ${id}` : e.message));
		ctx.fb.error(e.message);
		return null;
	}

	/* Every scan while the list is open is a pick: it never opens the tube's card. */
	return async (value) => {
		const r = readId(value);
		if (r.shaped && r.why) {
			ctx.fb.error(`${value}: ${r.why}`);
			return true;
		}
		try {
			const res = await post(`/api/v1/requests/${esc(id)}/picks`, { specimen: r.id || value });
			const item = list.find((x) => x.specimen === res.picked);
			if (item) {
				item.picked = new Date().toISOString();
				mark(item, 'picked');
			}
			showNext(list);
			ctx.fb.ok(res.remaining ? `${res.picked} picked: ${res.remaining} to go` : `${res.picked} picked: the list is done`);
		} catch (e) {
			if (!(e instanceof ApiError)) {
				ctx.fb.error(e.message);
			} else if (e.problem.code === 'wrong-tube' && e.problem.expected) {
				const x = e.problem.expected;
				markExpected(x.specimen);
				ctx.fb.error(`Wrong tube: ${value} is not the one expected. Take ${x.specimen}${x.tube_barcode ? ` (${x.tube_barcode})` : ''} from ${x.box} ${x.position}`);
			} else if (e.status !== 401) {
				ctx.fb.error(`${value}: ${e.message}`);
			}
		}
		return true;
	};
}

function mark(item, cls) {
	const row = document.querySelector(`section.picks tr[data-specimen="${CSS.escape(item.specimen)}"]`);
	if (!row) return;
	row.classList.add(cls);
	row.querySelector('td.state').textContent = `picked ${when(item.picked)}`;
}

function markExpected(specimen) {
	for (const row of document.querySelectorAll('section.picks tr.expected')) row.classList.remove('expected');
	document.querySelector(`section.picks tr[data-specimen="${CSS.escape(specimen)}"]`)?.classList.add('expected');
}

function showNext(list) {
	const el = document.getElementById('pick-next');
	const next = list.find((x) => !x.picked);
	if (!el) return;
	el.textContent = next
		? `Next: ${next.specimen}${next.tube_barcode ? ` (${next.tube_barcode})` : ''} from ${next.freezer || '—'}, ${place(next)}`
		: 'Every tube on the list is picked.';
	el.dataset.specimen = next ? next.specimen : '';
}

export async function render(ctx, main, [id]) {
	if (id === undefined) return requestList(ctx, main);
	return pickList(ctx, main, id);
}
