/* box.js — a box as a picture: every position at a glance (free, occupied,
 * consent withdrawn, home of a checked-out tube), and fill mode: scan the
 * box, then tubes one after another, each into the next free position in
 * fill order (or into a position scanned just before it). Conflicts stay
 * listed under the grid.
 *
 * Fill mode never records what did not happen at the bench: a tube already
 * in this box is named with its position and left alone (a double scan must
 * not move it to the next free position), a tube stored in another box moves
 * only after the technician confirms from → to, and an occupied position is
 * refused on the scan that names it. */
import { get, post } from './api.js';
import { h, fill, esc, bar, when } from './dom.js';
import { readId } from './ids.js';
import { t, problemText } from './i18n.js';

export const name = 'box';

const ROW = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/* What happened in fill mode, per box, for as long as the page is open. */
const logs = new Map();

/* "b3", "B03" → "B3" when the box has that position, else null. */
export function positionName(box, value) {
	const m = /^([A-Za-z])0*([1-9][0-9]?)$/.exec(value.trim());
	if (!m) return null;
	const r = ROW.indexOf(m[1].toUpperCase()), c = Number(m[2]);
	return r >= 0 && r < box.rows && c <= box.cols ? `${ROW[r]}${c}` : null;
}

/*
 * The grid of box; decorate(cell, position) may add classes and text.
 * onPick(position) is called when a cell is chosen.
 */
export function drawGrid(box, decorate, onPick) {
	const grid = h('div.grid', { role: 'group', 'aria-label': t('box.title', { box: box.barcode }),
		style: { '--cols': box.cols, '--rows': box.rows } });
	grid.append(h('div.corner'));
	for (let c = 1; c <= box.cols; c++) grid.append(h('div.colhead', String(c)));
	box.positions.forEach((p, i) => {
		if (i % box.cols === 0) grid.append(h('div.rowhead', p.position[0]));
		const cell = h('button.cell', { type: 'button', dataset: { pos: p.position },
			title: p.position, tabindex: -1, onclick: () => onPick?.(p) },
			h('span.pos', p.position));
		if (p.occupied) {
			cell.classList.add('occ');
			cell.append(h('span.sid', p.specimen || t('box.otherstudy')));
			if (p.type) cell.title = `${p.position}: ${p.specimen} ${p.type} (${t(`status.${p.status}`)})`;
			if (p.consent_withdrawn) cell.classList.add('withdrawn');
			if (p.status === 'checked_out') cell.classList.add('out');
		} else {
			cell.classList.add('free');
		}
		decorate?.(cell, p);
		grid.append(cell);
	});
	/* Arrow keys move between cells; Enter opens one. */
	grid.addEventListener('keydown', (ev) => {
		const cells = [...grid.querySelectorAll('.cell')];
		const i = cells.indexOf(document.activeElement);
		const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: box.cols, ArrowUp: -box.cols }[ev.key];
		if (i < 0 || !step) return;
		ev.preventDefault();
		cells[Math.min(cells.length - 1, Math.max(0, i + step))].focus();
	});
	const first = grid.querySelector('.cell');
	if (first) first.tabIndex = 0;
	return grid;
}

/* Which custody action puts a tube of this status into a box position. */
function placingAction(s) {
	return { registered: 'store', in_storage: 'move', lost: 'found' }[s.status] || null;
}

/* Where the checked-out tubes of the box belong, by position (GET .../grid). */
function homesOf(box) {
	return new Map((box.checked_out || []).map((c) => [c.position, c]));
}

/* The box and everything its grid shows, in one request (docs/api-ui.md). */
const grid = (barcode) => get(`/api/v1/boxes/${esc(barcode)}/grid`);

export async function render(ctx, main, [barcode]) {
	let box;
	try {
		box = await grid(barcode);
	} catch (e) {
		const msg = e.status === 404 ? t('box.none', { box: barcode }) : problemText(e);
		fill(main, h('p.problem', msg));
		ctx.fb.error(msg);
		return;
	}
	const pending = JSON.parse(sessionStorage.getItem('biobank.fill') || 'null');
	let fillMode = ctx.can('bench') && pending?.box === box.barcode;
	let target = null;     /* a position scanned for the next tube */
	let lastPlaced = null; /* the position that just took a tube */
	let conflictAt = null;
	let confirming = null; /* { id, from: {box, position}, to } awaiting the technician */
	let homes = homesOf(box);
	const log = logs.get(box.barcode) || [];
	logs.set(box.barcode, log);

	const gridSlot = h('div.gridslot');
	const status = h('p#fill-status.fillstatus', { 'aria-live': 'polite' });
	const logList = h('ol#fill-log.filllog');
	const occ = h('div.boxocc');
	const toggle = h('button#fill-toggle', { type: 'button', 'aria-pressed': String(fillMode) });
	const confirmSlot = h('div.confirmslot');

	const decorate = (cell, p) => {
		const home = homes.get(p.position);
		if (!p.occupied && home) {
			cell.classList.add('out');
			cell.append(h('span.tag', t('box.out')), h('span.sid', home.specimen));
			cell.title = t('box.outTitle', { pos: p.position, id: home.specimen, at: when(home.at), who: home.actor });
		}
		if (p.position === target || p.position === confirming?.to) cell.classList.add('target');
		if (p.position === lastPlaced) cell.classList.add('placed');
		if (p.position === conflictAt) cell.classList.add('conflict');
	};
	const pick = (p) => {
		if (p.specimen) ctx.go(`#/specimen/${esc(p.specimen)}`);
		else if (fillMode) setTarget(p.position);
	};
	const draw = () => {
		fill(gridSlot, drawGrid(box, decorate, pick));
		fill(occ, bar({ capacity: box.capacity, used: box.used }, `box ${box.barcode}`));
		toggle.textContent = t(fillMode ? 'fill.stop' : 'fill.start');
		toggle.setAttribute('aria-pressed', String(fillMode));
		main.classList.toggle('filling', fillMode);
		status.textContent = fillMode ? t(target ? 'fill.statusTo' : 'fill.status', { pos: target }) : '';
		fill(logList, log.map((l) => h('li', { class: l.kind }, h('time', { datetime: l.at.toISOString() }, when(l.at)), ' ', l.text)));
		fill(confirmSlot, confirming && h('div#fill-confirm.confirm', { role: 'alertdialog',
			'aria-label': t('fill.confirmLabel') },
			h('p', t('fill.confirmAsk', { id: confirming.id, box: confirming.from.box, pos: confirming.from.position,
				to: `${box.barcode} ${confirming.to}` })),
			h('button#fill-confirm-move', { type: 'button', onclick: () => confirmMove() },
				t('fill.confirmMove', { from: `${confirming.from.box} ${confirming.from.position}`, to: `${box.barcode} ${confirming.to}` })),
			h('button#fill-confirm-cancel', { type: 'button', onclick: () => cancelMove(t('fill.cancelled')) },
				t('fill.leave'))));
	};
	const reload = async () => {
		box = await grid(box.barcode);
		homes = homesOf(box);
		draw();
	};
	const setTarget = (pos) => {
		const p = box.positions.find((x) => x.position === pos);
		if (p?.occupied) {
			/* Refused now, on the scan that names it, not when the next tube hits it. */
			target = null;
			conflictAt = pos;
			const msg = t('fill.occupied', { box: box.barcode, pos, id: p.specimen || t('box.otherstudyTube') });
			note('occupied', msg);
			draw();
			ctx.fb.occupied(msg);
			return;
		}
		target = pos;
		conflictAt = null;
		draw();
		ctx.fb.ok(t('fill.next', { pos }), { ms: 3000 });
	};
	/* kind: 'ok', or the refusal's kind (error, warn, occupied, elsewhere, consent). */
	const note = (kind, text) => {
		log.unshift({ kind, at: new Date(), text });
		if (log.length > 200) log.pop();
	};

	toggle.addEventListener('click', () => {
		fillMode = !fillMode;
		target = null;
		sessionStorage.setItem('biobank.fill', JSON.stringify(fillMode ? { box: box.barcode } : null));
		draw();
		ctx.focusScan();
	});

	/* One tube scanned in fill mode. */
	const placeTube = async (value) => {
		const r = readId(value);
		if (r.shaped && r.why) {
			const msg = t('scan.mistyped', { value });
			note('error', msg);
			draw();
			ctx.fb.error(msg);
			return;
		}
		let found;
		try {
			found = await get(`/api/v1/scan/${esc(r.id || value)}`);
		} catch (e) {
			const msg = e.status === 404 ? t('scan.unknown', { value }) : problemText(e);
			note('error', msg);
			draw();
			ctx.fb.error(msg);
			return;
		}
		if (found.kind === 'box') {
			sessionStorage.setItem('biobank.fill', JSON.stringify({ box: found.item.barcode }));
			ctx.go(`#/box/${esc(found.item.barcode)}`);
			return;
		}
		if (found.kind !== 'specimen') {
			ctx.fb.error(t('fill.location', { value }));
			return;
		}
		const s = found.item;
		const action = placingAction(s);
		if (!action) {
			const msg = s.status === 'checked_out'
				? t('fill.checkedout', { id: s.id })
				: t('fill.cannot', { id: s.id, status: t(`status.${s.status}`) });
			note('error', msg);
			draw();
			ctx.fb.error(msg);
			return;
		}
		if (s.consent_withdrawn) {
			/* Kept for destruction, not filed among usable tubes: it is moved from its card. */
			const msg = t('fill.consent', { id: s.id });
			note('consent', msg);
			draw();
			ctx.fb.consent(msg);
			return;
		}
		if (s.location?.box === box.barcode) {
			/* A double scan, or a tube put back: it is here already. Nothing happened, nothing is recorded. */
			const msg = t('fill.already', { id: s.id, pos: s.location.position });
			note('warn', msg);
			lastPlaced = s.location.position;
			draw();
			ctx.fb.warn(msg);
			return;
		}
		let pos = target;
		if (!pos) {
			const free = await get(`/api/v1/boxes/${esc(box.barcode)}/free?count=1`);
			pos = free.positions[0];
			if (!pos) {
				note('error', `${s.id}: ${t('box.full', { box: box.barcode })}`);
				draw();
				ctx.fb.error(t('box.full', { box: box.barcode }));
				return;
			}
		}
		if (s.location) {
			/* Stored elsewhere: the technician confirms from → to before anything is recorded. */
			confirming = { id: s.id, from: { box: s.location.box, position: s.location.position }, to: pos };
			const msg = t('fill.elsewhere', { id: s.id, box: s.location.box, pos: s.location.position, to: pos });
			note('elsewhere', msg);
			draw();
			ctx.fb.elsewhere(msg);
			return;
		}
		await place(s.id, action, pos, null);
	};

	/* Record one placement, as the API says; a 409 (taken meanwhile) is shown on the grid. */
	const place = async (id, action, pos, from) => {
		target = null;
		try {
			await post(`/api/v1/specimens/${esc(id)}/${action}`,
				from ? { box: box.barcode, position: pos, from } : { box: box.barcode, position: pos });
			lastPlaced = pos;
			conflictAt = null;
			note('ok', from ? `${id} ${from.box} ${from.position} → ${pos}` : `${id} → ${pos}`);
			await reload();
			ctx.fb.ok(from ? t('fill.moved', { id, from: `${from.box} ${from.position}`, pos }) : `${id} → ${pos}`);
		} catch (e) {
			const occupied = e.problem?.code === 'position-occupied';
			conflictAt = e.status === 409 ? pos : null;
			note(occupied ? 'occupied' : 'error', `${id} → ${pos}: ${problemText(e)}`);
			await reload().catch(() => draw());
			const msg = `${t(e.status === 409 ? 'fill.conflict' : 'fill.refused')}: ${problemText(e)}`;
			if (occupied) ctx.fb.occupied(msg);
			else ctx.fb.error(msg);
		}
	};

	const confirmMove = async () => {
		const c = confirming;
		if (!c) return;
		confirming = null;
		await place(c.id, 'move', c.to, c.from);
		ctx.focusScan();
	};

	const cancelMove = (why) => {
		if (!confirming) return;
		note('warn', t('fill.notmoved', { id: confirming.id, from: `${confirming.from.box} ${confirming.from.position}`, why }));
		confirming = null;
		draw();
		ctx.focusScan();
	};

	const hook = async (value) => {
		/* Any scan while a move waits for confirmation leaves the tube where it is. */
		if (confirming) cancelMove(t('fill.cancelledBy', { value: value.trim() }));
		const pos = positionName(box, value);
		if (pos) {
			if (fillMode) {
				setTarget(pos);
			} else {
				target = pos;
				draw();
				const p = box.positions.find((x) => x.position === pos);
				ctx.fb.ok(`${box.barcode} ${pos}: ${p.occupied ? p.specimen || t('box.occupied') : t('box.free')}`, { ms: 3000 });
			}
			return true;
		}
		if (!fillMode) return false;
		if (value.trim() === box.barcode) {
			ctx.fb.ok(t('fill.filling', { box: box.barcode }), { ms: 2000 });
			return true;
		}
		await placeTube(value.trim());
		return true;
	};

	fill(main, h('section.boxview', { dataset: { box: box.barcode } },
		h('header.boxhead',
			h('h1', t('box.title', { box: box.barcode })),
			h('p.path', box.path.slice(0, -1).join(' › ')),
			occ,
			ctx.can('bench') && toggle,
			ctx.can('manager') && h('a.button', { href: '#/audit', onclick: (ev) => {
				ev.preventDefault();
				sessionStorage.setItem('biobank.auditBox', box.barcode);
				ctx.go('#/audit');
			} }, t('box.audit'))),
		status,
		confirmSlot,
		gridSlot,
		h('div.legend', { 'aria-label': t('box.legend') },
			h('span.cell.free', t('box.free')), h('span.cell.occ', t('box.occupied')),
			h('span.cell.occ.withdrawn', t('box.withdrawn')), h('span.cell.out', t('box.checkedout')),
			h('span.cell.target', t('box.next')), h('span.cell.conflict', t('box.conflict'))),
		h('h2', t('fill.log')), logList));
	draw();
	return hook;
}
