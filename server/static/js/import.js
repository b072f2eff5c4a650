/* import.js — bring an inventory file in (docs/import.md): choose the file
 * and how it was saved, upload it, follow the server's progress on a bar
 * (reading, checking, writing), read every problem by row and column, then
 * commit the same file. */
import { api, session, ApiError } from './api.js';
import { h, fill } from './dom.js';
import { t, num, problemText, timeZone, when } from './i18n.js';

export const name = 'import';

/*
 * Where each phase sits on the one bar, so that it only moves forward: a
 * share of the bar per phase, from the server's figures for 10^5 rows
 * (docs/performance.md): the commit's writing is most of its time, the
 * checks most of a dry run's. The words beside the bar give the phase's own
 * numbers.
 */
const SPANS = {
	dry: { uploading: [0, 0.2], reading: [0.2, 0.45], checking: [0.45, 1] },
	commit: { uploading: [0, 0.1], reading: [0.1, 0.2], checking: [0.2, 0.35], writing: [0.35, 1] },
};
const POLL_MS = 250;
/* The words (a live region) change at most this often within a phase: a screen reader
 * reads each change, and a sentence every 250 ms would never let it finish. */
const SAY_MS = 3000;

const size = (bytes) => num(bytes / 1e6, { style: 'unit', unit: 'megabyte', maximumFractionDigits: 1 });

/* A name for this import that its progress is asked by (docs/import.md, "Progress"). */
function importName() {
	return crypto.randomUUID ? crypto.randomUUID()
		: Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/*
 * The bar and its words, fed by the upload's bytes and then by the
 * server's progress (GET /api/v1/imports/{name}/progress).
 */
function tracker(bar, words, doCommit) {
	const spans = doCommit ? SPANS.commit : SPANS.dry;
	let phase = '', said = 0;
	const show = (p, fraction, text) => {
		const span = spans[p];
		if (span) {
			const v = span[0] + (span[1] - span[0]) * Math.min(1, Math.max(0, fraction));
			if (v >= bar.value) bar.value = v;
		}
		bar.dataset.state = p;
		const now = Date.now();
		if (p !== phase || now - said >= SAY_MS) {
			words.textContent = text;
			phase = p;
			said = now;
		}
	};
	return {
		uploaded(loaded, total) {
			show('uploading', total ? loaded / total : 0, t('imp.phase.uploading', { done: size(loaded), total: size(total) }));
		},
		waiting() {
			show('uploading', 1, t('imp.phase.waiting'));
		},
		/* One answer of the progress route. */
		server(pr) {
			const frac = pr.total ? pr.done / pr.total : 0;
			if (pr.phase === 'reading') {
				show('reading', frac, t('imp.phase.reading', { done: size(pr.done), total: size(pr.total ?? 0), n: pr.rows ?? 0 }));
			} else if (pr.phase === 'checking') {
				show('checking', frac, t('imp.phase.checking', { done: pr.done, total: pr.total, n: pr.rows ?? 0 }));
			} else if (pr.phase === 'writing') {
				show('writing', frac, t('imp.phase.writing', { done: pr.done, n: pr.total }));
			}
			bar.dataset.done = String(pr.done ?? '');
		},
		end(ok, why) {
			bar.value = ok ? 1 : bar.value;
			bar.dataset.state = ok ? 'done' : 'failed';
			words.textContent = ok ? t('imp.phase.done') : t('imp.phase.failed', { why });
			phase = '';
		},
	};
}

/*
 * POST the file to /api/v1/imports?query, its upload and then the server's
 * progress on track; resolves to {status, body}. fetch() tells nothing of an
 * upload's progress: XMLHttpRequest does (upload.onprogress). Once the file
 * is sent the server's progress is polled until the answer comes.
 */
function upload(file, query, name, track) {
	return new Promise((resolve, reject) => {
		const x = new XMLHttpRequest();
		x.open('POST', `/api/v1/imports?${query}&progress=${encodeURIComponent(name)}`);
		const s = session();
		if (s?.token) x.setRequestHeader('Authorization', `Bearer ${s.token}`);
		x.setRequestHeader('Content-Type', /\.tsv$|\.tab$/i.test(file.name) ? 'text/tab-separated-values' : 'text/csv');
		let polling = null, answered = false;
		const poll = async () => {
			try {
				const pr = await api('GET', `/api/v1/imports/${encodeURIComponent(name)}/progress`);
				if (!answered) track.server(pr);
			} catch {
				/* Not begun yet (404), or a poll lost: the next one tells. */
			}
			if (!answered) polling = setTimeout(poll, POLL_MS);
		};
		x.upload.onprogress = (ev) => {
			if (ev.lengthComputable) track.uploaded(ev.loaded, ev.total);
		};
		x.upload.onload = () => track.waiting();
		const stop = () => {
			answered = true;
			clearTimeout(polling);
		};
		x.onload = () => {
			stop();
			let body = null;
			try {
				body = JSON.parse(x.responseText);
			} catch {
				body = { title: x.statusText };
			}
			resolve({ status: x.status, body });
		};
		x.onerror = () => {
			stop();
			reject(new ApiError(0, { title: 'Network error', detail: 'the server cannot be reached' }));
		};
		x.send(file);
		/* From the start: the server answers 404 until the whole file is there. */
		polling = setTimeout(poll, POLL_MS);
	});
}

function problemsTable(problems) {
	return h('table#import-problems',
		h('thead', h('tr', h('th', t('imp.th.row')), h('th', t('imp.th.key')), h('th', t('imp.th.column')), h('th', t('imp.th.problem')))),
		h('tbody', problems.map((p) => h('tr', { dataset: { code: p.code } },
			h('td', String(p.row ?? '')), h('td', p.key || ''), h('td', p.column || ''), h('td', p.message)))));
}

function warningsTable(warnings) {
	return h('table#import-warnings',
		h('thead', h('tr', h('th', t('imp.th.row')), h('th', t('imp.th.column')), h('th', t('mgr.imp.th.warning')))),
		h('tbody', warnings.map((w) => h('tr', { dataset: { code: w.code } },
			h('td', String(w.row ?? '')), h('td', w.column || ''), h('td', w.message)))));
}

function existingTable(existing) {
	return h('table#import-existing',
		h('thead', h('tr', h('th', t('imp.th.row')), h('th', t('imp.th.key')), h('th', t('mgr.imp.th.specimen')))),
		h('tbody', existing.map((x) => h('tr', h('td', String(x.row ?? '')), h('td', x.key || ''),
			h('td', x.specimen ? h('a', { href: `#/specimen/${encodeURIComponent(x.specimen)}` }, x.specimen) : '')))));
}

function summary(r) {
	const s = r.summary || {};
	return h('p#import-summary', t(r.dry_run ? 'imp.summary.dry' : 'imp.summary.done', {
		rows: r.rows, encoding: r.encoding, separator: r.separator, specimens: s.specimens ?? 0, stored: s.stored ?? 0,
		participants: s.participants ?? 0, boxes: s.boxes ?? 0, locations: s.locations ?? 0,
	}), r.existing_count ? t('imp.existing', { n: r.existing_count }) : '');
}

export function render(ctx, main) {
	const file = h('input#import-file', { type: 'file', accept: '.csv,.tsv,.txt,text/csv' });
	const enc = h('select#import-encoding',
		h('option', { value: '' }, t('imp.enc.utf8')),
		h('option', { value: 'windows-1252' }, t('imp.enc.cp1252')),
		h('option', { value: 'iso-8859-1' }, 'ISO-8859-1'),
		h('option', { value: 'iso-8859-15' }, 'ISO-8859-15'));
	const locale = h('select#import-locale',
		h('option', { value: '' }, t('imp.loc.iso')),
		h('option', { value: 'fr-FR' }, t('imp.loc.fr')),
		h('option', { value: 'en-GB' }, t('imp.loc.gb')),
		h('option', { value: 'en-US' }, t('imp.loc.us')));
	/* The site's zone, not the bench PC's: the file's times were written there. */
	const tz = h('input#import-timezone', { value: timeZone(), autocomplete: 'off' });
	const bar = h('progress#import-progress', { max: 1, value: 0, 'aria-label': t('imp.progress'), 'aria-describedby': 'import-phase' });
	/* The phase and its numbers, read out politely as they change (tracker()). */
	const words = h('p#import-phase', { role: 'status', 'aria-live': 'polite' });
	const result = h('div#import-result');
	const check = h('button.primary#import-check', { type: 'submit' }, t('imp.check'));
	const commit = h('button#import-commit', { type: 'button' }, t('imp.commit'));
	/* Shown only after a clean check (style.css gives buttons a display that [hidden] loses to). */
	const offer = (yes) => (commit.style.display = yes ? '' : 'none');
	offer(false);
	const query = (doCommit) => {
		const q = new URLSearchParams();
		if (enc.value) q.set('encoding', enc.value);
		if (locale.value) q.set('locale', locale.value);
		q.set('timezone', tz.value.trim() || 'UTC');
		if (file.files[0]) q.set('filename', file.files[0].name);
		if (doCommit) q.set('commit', 'true');
		return q.toString();
	};
	const send = async (doCommit) => {
		const f = file.files[0];
		if (!f) return ctx.fb.error(t('imp.choose'));
		offer(false);
		bar.value = 0;
		bar.dataset.state = 'uploading';
		delete bar.dataset.done;
		fill(result);
		const track = tracker(bar, words, doCommit);
		let r;
		try {
			r = await upload(f, query(doCommit), importName(), track);
		} catch (e) {
			track.end(false, problemText(e));
			return ctx.fb.error(problemText(e));
		}
		const b = r.body || {};
		track.end(r.status < 400, problemText({ status: r.status, problem: b }));
		main.querySelector('section.importview').dataset.outcome =
			r.status === 201 ? 'committed' : b.already_imported ? 'already' : b.problems?.length ? 'problems' : r.status === 200 ? 'clean' : 'refused';
		if (r.status >= 400 && !b.problems) {
			const msg = problemText({ status: r.status, problem: b });
			fill(result, h('p.problem#import-refused', msg));
			return ctx.fb.error(msg);
		}
		if (b.already_imported && b.import) {
			fill(result, h('p#import-summary', t('imp.already', { id: b.import.id, at: when(b.import.imported_at) })));
			return ctx.fb.ok(t('imp.alreadyShort'));
		}
		const parts = [summary(b)];
		if (b.encoding_warning) parts.push(h('p.hint', b.encoding_warning));
		/* The rest of the dry-run report: rows that only warn, and rows already imported. */
		if (b.warnings?.length) parts.push(h('h2', t('mgr.imp.warnings', { n: b.warnings.length })), h('div.tablewrap', warningsTable(b.warnings)));
		if (b.existing?.length) parts.push(h('h2', t('mgr.imp.existing', { n: b.existing_count })), h('div.tablewrap', existingTable(b.existing)));
		if (b.problem_count) {
			parts.push(h('p.problem', t('imp.problems', { n: b.problem_count })), h('div.tablewrap', problemsTable(b.problems)));
			ctx.fb.error(t('imp.problemsShort', { n: b.problem_count }));
		} else if (r.status === 201) {
			ctx.fb.ok(t('imp.imported', { n: b.import.summary.specimens }));
		} else {
			offer(b.summary?.specimens > 0);
			ctx.fb.ok(t('imp.clean'));
		}
		fill(result, ...parts);
	};
	/* The template needs the token: fetched, then handed to the browser as a file. */
	const template = h('button#import-template', { type: 'button' }, t('imp.template'));
	template.addEventListener('click', async () => {
		try {
			const blob = await api('GET', '/api/v1/imports/template', undefined, { blob: true });
			const a = h('a', { href: URL.createObjectURL(blob), download: 'biobank-import-template.csv' });
			a.click();
			setTimeout(() => URL.revokeObjectURL(a.href), 1000);
		} catch (e) {
			ctx.fb.error(problemText(e));
		}
	});
	const form = h('form.card',
		h('h1', t('imp.title')),
		h('p.hint', t('imp.hint')),
		template,
		h('label', { for: 'import-file' }, t('imp.file')), file,
		h('label', { for: 'import-encoding' }, t('imp.encoding')), enc,
		h('label', { for: 'import-locale' }, t('imp.locale')), locale,
		h('label', { for: 'import-timezone' }, t('imp.timezone')), tz,
		check, commit, bar, words);
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		send(false);
	});
	commit.addEventListener('click', () => send(true));
	fill(main, h('section.importview', form, result));
}
