/* audit.js — audit a box: start it, upload the rack scanner's file, see
 * the discrepancies coloured on the box grid, choose resolutions and close. */
import { get, post, api, ApiError } from './api.js';
import { h, fill, esc, when } from './dom.js';
import { drawGrid } from './box.js';

export const name = 'audit';

const UNAVAILABLE = 'Audits are not available on this server.';

/* Resolutions a discrepancy may take; '' leaves it flagged (audit_flagged). */
const CHOICES = {
	missing: [['lost', 'mark lost']],
	misplaced: [['accept_scan', 'accept where scanned'], ['confirm', 'confirm database position']],
	unexpected: [['accept_scan', 'accept where scanned'], ['found', 'found (was lost)']],
	moved: [['confirm', 'confirm']],
	unreadable: [],
};

function unavailable(main, ctx) {
	fill(main, h('section.card', h('h1', 'Audit'), h('p.problem#audit-unavailable', UNAVAILABLE)));
	ctx.fb.error(UNAVAILABLE, { sound: false });
}

function start(ctx, main) {
	const boxIn = h('input#audit-box', { required: true, autocomplete: 'off',
		value: sessionStorage.getItem('biobank.auditBox') || '' });
	const idIn = h('input#audit-id', { inputmode: 'numeric', autocomplete: 'off' });
	const form = h('form.card',
		h('h1', 'Audit a box'),
		h('p.hint', 'Scan or type the box barcode, then upload the rack scanner\'s file.'),
		h('label', { for: 'audit-box' }, 'Box'), boxIn,
		h('button.primary#audit-start', { type: 'submit' }, 'Start audit'));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		try {
			const a = await post('/api/v1/audits', { box: boxIn.value.trim() });
			sessionStorage.removeItem('biobank.auditBox');
			ctx.fb.ok(`Audit ${a.id} started: ${a.expected} tubes expected`);
			ctx.go(`#/audit/${a.id}`);
		} catch (e) {
			if (e instanceof ApiError && e.missing) unavailable(main, ctx);
			else ctx.fb.error(e.message);
		}
	});
	const open = h('form.card', h('h2', 'Open an audit'), h('label', { for: 'audit-id' }, 'Audit number'), idIn,
		h('button', { type: 'submit' }, 'Open'));
	open.addEventListener('submit', (ev) => {
		ev.preventDefault();
		ctx.go(`#/audit/${esc(idIn.value.trim())}`);
	});
	fill(main, form, open);
	/* A scanned box barcode fills the form. */
	return async (value) => {
		if (document.activeElement === boxIn) return false;
		boxIn.value = value;
		ctx.fb.ok(`Box ${value}`, { ms: 2000 });
		return true;
	};
}

function classify(report, barcode) {
	const cls = new Map();
	const mark = (pos, c, d) => pos && cls.set(pos, { c, d });
	for (const d of report.discrepancies) {
		if (d.box && d.box !== barcode) continue;
		if (d.kind === 'missing') mark(d.expected, 'a-missing', d);
		else if (d.kind === 'unexpected') mark(d.found, 'a-unexpected', d);
		else if (d.kind === 'unreadable') mark(d.found, 'a-unreadable', d);
		else if (d.kind === 'misplaced') {
			if (!cls.has(d.expected)) mark(d.expected, 'a-vacated', d);
			mark(d.found, 'a-misplaced', d);
		} else if (d.kind === 'moved') mark(d.expected || d.found, 'a-moved', d);
		/* a tube of a study the audit does not cover: neither checked nor named */
		else if (d.kind === 'other_study') mark(d.found, 'a-other', d);
	}
	return cls;
}

export async function render(ctx, main, [id]) {
	if (!ctx.can('manager')) {
		fill(main, h('p.problem', 'Audits are for managers.'));
		return;
	}
	if (!id) return start(ctx, main);
	let report;
	try {
		report = await get(`/api/v1/audits/${esc(id)}`);
	} catch (e) {
		if (e instanceof ApiError && e.missing) unavailable(main, ctx);
		else fill(main, h('p.problem', e.message));
		return;
	}
	const barcode = report.scope?.box || report.boxes?.[0]?.box;
	const scanned = (report.boxes || []).some((b) => b.scanned);
	const closed = report.status === 'closed';
	let box = null;
	try {
		box = barcode ? await get(`/api/v1/boxes/${esc(barcode)}`) : null;
	} catch {
		box = null;
	}
	const cls = classify(report, barcode);
	const sum = report.summary || {};

	const file = h('input#audit-file', { type: 'file', accept: '.csv,.txt,text/csv,text/plain' });
	const upload = h('form.row.upload', h('label', { for: 'audit-file' }, 'Rack-scanner file '), file,
		h('button.primary#audit-upload', { type: 'submit' }, 'Upload scans'));
	upload.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (!file.files.length) {
			ctx.fb.error('Choose the rack scanner\'s file first');
			return;
		}
		try {
			await api('POST', `/api/v1/audits/${esc(id)}/scans`, file.files[0], { type: 'text/csv' });
			ctx.fb.ok(`Scans of ${file.files[0].name} recorded`);
			ctx.refresh();
		} catch (e) {
			ctx.fb.error(e.message);
		}
	});

	const rows = report.discrepancies.map((d, i) => {
		const choices = d.specimen ? CHOICES[d.kind] || [] : [];
		const sel = h('select.resolution', { dataset: { i }, 'aria-label': `resolution of ${d.specimen || d.barcode || d.kind}`, disabled: closed || !choices.length },
			h('option', { value: '' }, 'leave flagged'), choices.map(([v, l]) => h('option', { value: v }, l)));
		return h('tr', { class: `k-${d.kind}` },
			h('td', h('span.kindtag', { class: `kindtag k-${d.kind}` }, d.kind)),
			h('td', d.specimen ? h('a', { href: `#/specimen/${esc(d.specimen)}` }, d.specimen) : (d.barcode || '—')),
			h('td', d.expected || '—'), h('td', d.found || '—'), h('td.dim', d.detail || ''), h('td', sel));
	});
	const closeBtn = h('button.primary#audit-close', { type: 'button' }, 'Close the audit');
	closeBtn.addEventListener('click', async () => {
		const resolutions = [];
		for (const sel of main.querySelectorAll('select.resolution')) {
			const d = report.discrepancies[Number(sel.dataset.i)];
			if (sel.value) resolutions.push({ specimen: d.specimen, action: sel.value });
		}
		try {
			await post(`/api/v1/audits/${esc(id)}/close`, { resolutions });
			ctx.fb.ok(`Audit ${id} closed (${resolutions.length} resolution${resolutions.length === 1 ? '' : 's'})`);
			ctx.refresh();
		} catch (e) {
			ctx.fb.error(e.message);
		}
	});

	fill(main, h('section.auditview', { dataset: { audit: id, status: report.status, scanned: scanned ? '1' : '0' } },
		h('h1', `Audit ${report.id} — box ${barcode || '?'}`),
		h('p', `Started ${when(report.started_at)} by ${report.started_by}; `,
			h('strong#audit-status', report.status), closed ? ` ${when(report.closed_at)} by ${report.closed_by}` : ''),
		h('ul.summary#audit-summary',
			['expected', 'found', 'missing', 'misplaced', 'unexpected', 'unreadable']
				.concat('other_study' in sum ? ['other_study'] : []).map((k) =>
					h('li', { class: `k-${k}` }, h('strong', String(sum[k] ?? 0)), ` ${k.replace('_', ' ')}`))),
		report.studies && h('p.hint#audit-studies', `This audit covers ${report.studies.join(', ')}: `
			+ 'tubes of other studies are shown as another study\'s, and closing leaves them alone.'),
		!closed && upload,
		!scanned && !closed && h('p.hint', 'No scans yet: the grid shows what the database expects.'),
		box && drawGrid(box, (cell, p) => {
			const c = cls.get(p.position);
			if (c) {
				cell.classList.add(c.c);
				cell.title = `${p.position}: ${c.d.kind} ${c.d.specimen || c.d.barcode || ''} ${c.d.detail || ''}`;
				if (!p.occupied && (c.d.specimen || c.d.barcode)) cell.append(h('span.sid', c.d.specimen || c.d.barcode));
			} else if (scanned && p.occupied) {
				cell.classList.add('a-ok');
			}
		}, (p) => p.specimen && ctx.go(`#/specimen/${esc(p.specimen)}`)),
		h('div.legend', h('span.cell.a-ok', 'as expected'), h('span.cell.a-missing', 'missing'),
			h('span.cell.a-misplaced', 'misplaced (found here)'), h('span.cell.a-vacated', 'misplaced (expected here)'),
			h('span.cell.a-unexpected', 'unexpected'), h('span.cell.a-unreadable', 'unreadable'),
			report.studies && h('span.cell.a-other', 'another study\'s tube')),
		h('h2', 'Discrepancies'),
		report.discrepancies.length
			? h('table.discrepancies#audit-table', h('thead', h('tr', h('th', 'Kind'), h('th', 'Tube'), h('th', 'Expected'),
				h('th', 'Found'), h('th', 'Detail'), h('th', 'Resolution'))), h('tbody', rows))
			: h('p', scanned ? 'None: the box holds what the database says.' : '—'),
		!closed && closeBtn));
}
