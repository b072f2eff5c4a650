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
import { get, post, ApiError } from './api.js';
import { h, fill, esc, bar, when } from './dom.js';
import { readId } from './ids.js';

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
	const grid = h('div.grid', { role: 'grid', 'aria-label': `box ${box.barcode}`,
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
			cell.append(h('span.sid', p.specimen || 'other study'));
			if (p.type) cell.title = `${p.position}: ${p.specimen} ${p.type} (${p.status})`;
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

/* Where the checked-out tubes of this box belong: the "from" of their last check-out. */
async function checkedOutHomes(barcode) {
	const homes = new Map();
	let list;
	try {
		list = await get('/api/v1/specimens?status=checked_out&limit=200');
	} catch {
		return homes;
	}
	const queue = [...list.items];
	const worker = async () => {
		for (let s; (s = queue.shift());) {
			try {
				const ev = await get(`/api/v1/specimens/${esc(s.id)}/events`);
				const last = ev.items.filter((e) => e.type === 'checked_out').pop();
				if (last?.from?.box === barcode) homes.set(last.from.position, { id: s.id, at: last.at, actor: last.actor });
			} catch {
				/* one unreadable history does not hide the others */
			}
		}
	};
	await Promise.all([worker(), worker(), worker(), worker()]);
	return homes;
}

/* Which custody action puts a tube of this status into a box position. */
function placingAction(s) {
	return { registered: 'store', in_storage: 'move', lost: 'found' }[s.status] || null;
}

export async function render(ctx, main, [barcode]) {
	let box;
	try {
		box = await get(`/api/v1/boxes/${esc(barcode)}`);
	} catch (e) {
		fill(main, h('p.problem', e.status === 404 ? `No box ${barcode}` : e.message));
		ctx.fb.error(e.status === 404 ? `No box ${barcode}` : e.message);
		return;
	}
	const pending = JSON.parse(sessionStorage.getItem('biobank.fill') || 'null');
	let fillMode = ctx.can('bench') && pending?.box === box.barcode;
	let target = null;     /* a position scanned for the next tube */
	let lastPlaced = null; /* the position that just took a tube */
	let conflictAt = null;
	let confirming = null; /* { id, from: {box, position}, to } awaiting the technician */
	let homes = new Map();
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
			cell.append(h('span.sid', `out: ${home.id}`));
			cell.title = `${p.position}: ${home.id} checked out ${when(home.at)} by ${home.actor}`;
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
		toggle.textContent = fillMode ? 'Stop fill mode' : 'Fill mode';
		toggle.setAttribute('aria-pressed', String(fillMode));
		main.classList.toggle('filling', fillMode);
		status.textContent = fillMode
			? `FILL MODE — scan tubes one after another; ${target ? `next goes to ${target}` : 'each goes to the next free position'}. Scan a position (e.g. B3) to choose it.`
			: '';
		fill(logList, log.map((l) => h('li', { class: l.ok ? 'ok' : 'error' }, l.text)));
		fill(confirmSlot, confirming && h('div#fill-confirm.confirm', { role: 'alertdialog',
			'aria-label': 'confirm the move' },
			h('p', `${confirming.id} is stored in box ${confirming.from.box} at ${confirming.from.position}. `
				+ `Move it to ${box.barcode} ${confirming.to}?`),
			h('button#fill-confirm-move', { type: 'button', onclick: () => confirmMove() },
				`Move ${confirming.from.box} ${confirming.from.position} → ${box.barcode} ${confirming.to}`),
			h('button#fill-confirm-cancel', { type: 'button', onclick: () => cancelMove('cancelled') },
				'Leave it where it is')));
	};
	const reload = async () => {
		box = await get(`/api/v1/boxes/${esc(box.barcode)}`);
		draw();
	};
	const setTarget = (pos) => {
		const p = box.positions.find((x) => x.position === pos);
		if (p?.occupied) {
			/* Refused now, on the scan that names it, not when the next tube hits it. */
			target = null;
			conflictAt = pos;
			const msg = `${box.barcode} ${pos} holds ${p.specimen || 'a tube of another study'}: choose a free position`;
			note(false, msg);
			draw();
			ctx.fb.error(msg);
			return;
		}
		target = pos;
		conflictAt = null;
		draw();
		ctx.fb.ok(`Next tube goes to ${pos}`, { ms: 3000 });
	};
	const note = (ok, text) => {
		log.unshift({ ok, text: `${new Date().toLocaleTimeString()} ${text}` });
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
			note(false, `${value}: ${r.why}`);
			draw();
			ctx.fb.error(`${value}: ${r.why}`);
			return;
		}
		let found;
		try {
			found = await get(`/api/v1/scan/${esc(r.id || value)}`);
		} catch (e) {
			const msg = e.status === 404 ? `Nothing is known by ${value}` : e.message;
			note(false, msg);
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
			ctx.fb.error(`${value} is a location, not a tube`);
			return;
		}
		const s = found.item;
		const action = placingAction(s);
		if (!action) {
			const msg = s.status === 'checked_out'
				? `${s.id} is checked out: return it from its card, saying whether it thawed`
				: `${s.id} is ${s.status.replace('_', ' ')} and cannot go into a box`;
			note(false, msg);
			draw();
			ctx.fb.error(msg);
			return;
		}
		if (s.location?.box === box.barcode) {
			/* A double scan, or a tube put back: it is here already. Nothing happened, nothing is recorded. */
			const msg = `${s.id} is already in this box, at ${s.location.position}: nothing recorded`;
			note(false, msg);
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
				note(false, `${s.id}: box ${box.barcode} is full`);
				draw();
				ctx.fb.error(`Box ${box.barcode} is full`);
				return;
			}
		}
		if (s.location) {
			/* Stored elsewhere: the technician confirms from → to before anything is recorded. */
			confirming = { id: s.id, from: { box: s.location.box, position: s.location.position }, to: pos };
			draw();
			ctx.fb.warn(`${s.id} is in box ${s.location.box} at ${s.location.position}: confirm the move to ${pos}, or leave it`);
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
			note(true, from ? `${id} ${from.box} ${from.position} → ${pos}` : `${id} → ${pos}`);
			await reload();
			ctx.fb.ok(from ? `${id} moved from ${from.box} ${from.position} → ${pos}` : `${id} → ${pos}`);
		} catch (e) {
			conflictAt = e.status === 409 ? pos : null;
			note(false, `${id} → ${pos}: ${e.message}`);
			await reload().catch(() => draw());
			ctx.fb.error(`${e.status === 409 ? 'CONFLICT' : 'Refused'}: ${e.message}`);
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
		note(false, `${confirming.id}: move from ${confirming.from.box} ${confirming.from.position} ${why}; nothing recorded`);
		confirming = null;
		draw();
		ctx.focusScan();
	};

	const hook = async (value) => {
		/* Any scan while a move waits for confirmation leaves the tube where it is. */
		if (confirming) cancelMove(`cancelled by the scan of ${value.trim()}`);
		const pos = positionName(box, value);
		if (pos) {
			if (fillMode) {
				setTarget(pos);
			} else {
				target = pos;
				draw();
				const p = box.positions.find((x) => x.position === pos);
				ctx.fb.ok(`${box.barcode} ${pos}: ${p.occupied ? p.specimen || 'occupied' : 'free'}`, { ms: 3000 });
			}
			return true;
		}
		if (!fillMode) return false;
		if (value.trim() === box.barcode) {
			ctx.fb.ok(`Filling box ${box.barcode}`, { ms: 2000 });
			return true;
		}
		await placeTube(value.trim());
		return true;
	};

	fill(main, h('section.boxview', { dataset: { box: box.barcode } },
		h('header.boxhead',
			h('h1', `Box ${box.barcode}`),
			h('p.path', box.path.slice(0, -1).join(' › ')),
			occ,
			ctx.can('bench') && toggle,
			ctx.can('manager') && h('a.button', { href: '#/audit', onclick: (ev) => {
				ev.preventDefault();
				sessionStorage.setItem('biobank.auditBox', box.barcode);
				ctx.go('#/audit');
			} }, 'Audit this box')),
		status,
		confirmSlot,
		gridSlot,
		h('div.legend',
			h('span.cell.free', 'free'), h('span.cell.occ', 'occupied'),
			h('span.cell.occ.withdrawn', 'consent withdrawn'), h('span.cell.out', 'checked out'),
			h('span.cell.target', 'next'), h('span.cell.conflict', 'conflict')),
		h('h2', 'Fill log'), logList));
	draw();
	checkedOutHomes(box.barcode).then((m) => {
		homes = m;
		if (m.size) draw();
	});
	return hook;
}
