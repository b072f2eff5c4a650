/* audit.js — audit a box: start it, upload the rack scanner's file, see
 * the discrepancies coloured on the box grid, choose resolutions and close. */
import { get, post, api, ApiError } from './api.js';
import { h, fill, esc, when } from './dom.js';
import { t, problemText } from './i18n.js';
import { drawGrid } from './box.js';

export const name = 'audit';

/* Resolutions a discrepancy may take (their words: audit.res.<value>); '' leaves it flagged (audit_flagged). */
const CHOICES = {
	missing: ['lost'],
	misplaced: ['accept_scan', 'confirm'],
	unexpected: ['accept_scan', 'found'],
	moved: ['confirm'],
	unreadable: [],
};

function unavailable(main, ctx) {
	fill(main, h('section.card', h('h1', t('audit.title')), h('p.problem#audit-unavailable', t('audit.unavailable'))));
	ctx.fb.error(t('audit.unavailable'), { sound: false });
}

function start(ctx, main) {
	const boxIn = h('input#audit-box', { required: true, autocomplete: 'off',
		value: sessionStorage.getItem('biobank.auditBox') || '' });
	const idIn = h('input#audit-id', { inputmode: 'numeric', autocomplete: 'off' });
	const form = h('form.card',
		h('h1', t('audit.start.title')),
		h('p.hint', t('audit.start.hint')),
		h('label', { for: 'audit-box' }, t('act.box')), boxIn,
		h('button.primary#audit-start', { type: 'submit' }, t('audit.start')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		try {
			const a = await post('/api/v1/audits', { box: boxIn.value.trim() });
			sessionStorage.removeItem('biobank.auditBox');
			ctx.fb.ok(t('audit.started', { id: a.id, n: a.expected }));
			ctx.go(`#/audit/${a.id}`);
		} catch (e) {
			if (e instanceof ApiError && e.missing) unavailable(main, ctx);
			else ctx.fb.error(problemText(e));
		}
	});
	const open = h('form.card', h('h2', t('audit.open.title')), h('label', { for: 'audit-id' }, t('audit.number')), idIn,
		h('button', { type: 'submit' }, t('audit.open')));
	open.addEventListener('submit', (ev) => {
		ev.preventDefault();
		ctx.go(`#/audit/${esc(idIn.value.trim())}`);
	});
	fill(main, form, open);
	/* A scanned box barcode fills the form. */
	return async (value) => {
		if (document.activeElement === boxIn) return false;
		boxIn.value = value;
		ctx.fb.ok(t('scan.box', { box: value }), { ms: 2000 });
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
		fill(main, h('p.problem', t('audit.managers')));
		return;
	}
	if (!id) return start(ctx, main);
	let report;
	try {
		report = await get(`/api/v1/audits/${esc(id)}`);
	} catch (e) {
		if (e instanceof ApiError && e.missing) unavailable(main, ctx);
		else fill(main, h('p.problem', problemText(e)));
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
	const upload = h('form.row.upload', h('label', { for: 'audit-file' }, t('audit.file')), file,
		h('button.primary#audit-upload', { type: 'submit' }, t('audit.upload')));
	upload.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (!file.files.length) {
			ctx.fb.error(t('audit.choose'));
			return;
		}
		try {
			await api('POST', `/api/v1/audits/${esc(id)}/scans`, file.files[0], { type: 'text/csv' });
			ctx.fb.ok(t('audit.recorded', { file: file.files[0].name }));
			ctx.refresh();
		} catch (e) {
			ctx.fb.error(problemText(e));
		}
	});

	const rows = report.discrepancies.map((d, i) => {
		const choices = d.specimen ? CHOICES[d.kind] || [] : [];
		const sel = h('select.resolution', { dataset: { i }, 'aria-label': t('audit.resolutionOf', { what: d.specimen || d.barcode || t(`audit.k.${d.kind}`) }), disabled: closed || !choices.length },
			h('option', { value: '' }, t('audit.res.flag')), choices.map((v) => h('option', { value: v }, t(`audit.res.${v}`))));
		return h('tr', { class: `k-${d.kind}`, dataset: { kind: d.kind } },
			h('td', h('span.kindtag', { class: `kindtag k-${d.kind}` }, t(`audit.k.${d.kind}`))),
			h('td', d.specimen ? h('a', { href: `#/specimen/${esc(d.specimen)}` }, d.specimen) : (d.barcode || '—')),
			h('td', d.expected || '—'), h('td', d.found || '—'), h('td.dim', d.detail || ''), h('td', sel));
	});
	const closeBtn = h('button.primary#audit-close', { type: 'button' }, t('audit.close'));
	closeBtn.addEventListener('click', async () => {
		const resolutions = [];
		for (const sel of main.querySelectorAll('select.resolution')) {
			const d = report.discrepancies[Number(sel.dataset.i)];
			if (sel.value) resolutions.push({ specimen: d.specimen, action: sel.value });
		}
		try {
			await post(`/api/v1/audits/${esc(id)}/close`, { resolutions });
			ctx.fb.ok(t('audit.closed', { id, n: resolutions.length }));
			ctx.refresh();
		} catch (e) {
			ctx.fb.error(problemText(e));
		}
	});

	fill(main, h('section.auditview', { dataset: { audit: id, status: report.status, scanned: scanned ? '1' : '0' } },
		h('h1', t('audit.heading', { id: report.id, box: barcode || '?' })),
		h('p', t('audit.startedBy', { at: when(report.started_at), who: report.started_by }), ' ',
			h('strong#audit-status', { dataset: { status: report.status } }, t(`audit.st.${report.status}`)),
			closed ? ` ${t('audit.closedBy', { at: when(report.closed_at), who: report.closed_by })}` : ''),
		h('ul.summary#audit-summary',
			['expected', 'found', 'missing', 'misplaced', 'unexpected', 'unreadable']
				.concat('other_study' in sum ? ['other_study'] : []).map((k) =>
					h('li', { class: `k-${k}` }, h('strong', String(sum[k] ?? 0)), ` ${t(`audit.k.${k}`)}`))),
		report.studies && h('p.hint#audit-studies', t('audit.covers', { studies: report.studies.join(', ') })),
		!closed && upload,
		!scanned && !closed && h('p.hint', t('audit.noscans')),
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
		h('div.legend', h('span.cell.a-ok', t('audit.lg.ok')), h('span.cell.a-missing', t('audit.k.missing')),
			h('span.cell.a-misplaced', t('audit.lg.misplaced')), h('span.cell.a-vacated', t('audit.lg.vacated')),
			h('span.cell.a-unexpected', t('audit.k.unexpected')), h('span.cell.a-unreadable', t('audit.k.unreadable')),
			report.studies && h('span.cell.a-other', t('audit.lg.other'))),
		h('h2', t('audit.discrepancies')),
		report.discrepancies.length
			? h('div.tablewrap', h('table.discrepancies#audit-table', h('thead', h('tr', h('th', t('audit.th.kind')), h('th', t('audit.th.tube')),
				h('th', t('audit.th.expected')), h('th', t('audit.th.found')), h('th', t('audit.th.detail')), h('th', t('audit.th.resolution')))),
			h('tbody', rows)))
			: h('p', scanned ? t('audit.none') : '—'),
		!closed && closeBtn));
}
