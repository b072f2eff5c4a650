/* import.js — bring an inventory file in (docs/import.md): choose the file
 * and how it was saved, upload it with a progress bar for a dry run, read
 * every problem by row and column, then commit the same file. */
import { api, session, ApiError } from './api.js';
import { h, fill } from './dom.js';

export const name = 'import';

/*
 * POST the file to /api/v1/imports?query with the upload's progress on bar;
 * resolves to {status, body}. fetch() tells nothing of an upload's progress:
 * XMLHttpRequest does (upload.onprogress).
 */
function upload(file, query, bar) {
	return new Promise((resolve, reject) => {
		const x = new XMLHttpRequest();
		x.open('POST', `/api/v1/imports?${query}`);
		const s = session();
		if (s?.token) x.setRequestHeader('Authorization', `Bearer ${s.token}`);
		x.setRequestHeader('Content-Type', /\.tsv$|\.tab$/i.test(file.name) ? 'text/tab-separated-values' : 'text/csv');
		x.upload.onprogress = (ev) => {
			if (ev.lengthComputable) bar.value = ev.loaded / ev.total;
		};
		x.upload.onload = () => {
			bar.value = 1;
			bar.dataset.state = 'checking';
		};
		x.onload = () => {
			let body = null;
			try {
				body = JSON.parse(x.responseText);
			} catch {
				body = { title: x.statusText };
			}
			resolve({ status: x.status, body });
		};
		x.onerror = () => reject(new ApiError(0, { title: 'Network error', detail: 'the server cannot be reached' }));
		x.send(file);
	});
}

function problemsTable(problems) {
	return h('table#import-problems',
		h('thead', h('tr', h('th', 'Row'), h('th', 'Key'), h('th', 'Column'), h('th', 'Problem'))),
		h('tbody', problems.map((p) => h('tr', { dataset: { code: p.code } },
			h('td', String(p.row ?? '')), h('td', p.key || ''), h('td', p.column || ''), h('td', p.message)))));
}

function summary(r) {
	const s = r.summary || {};
	return h('p#import-summary',
		`${r.rows} rows read as ${r.encoding} (separator ${r.separator}): `,
		`${s.specimens ?? 0} specimens, ${s.stored ?? 0} of them at a position, ${s.participants ?? 0} participants, `,
		`${s.boxes ?? 0} boxes and ${s.locations ?? 0} locations ${r.dry_run ? 'would be created' : 'were created'}`,
		r.existing_count ? `; ${r.existing_count} rows already exist` : '');
}

export function render(ctx, main) {
	const file = h('input#import-file', { type: 'file', accept: '.csv,.tsv,.txt,text/csv' });
	const enc = h('select#import-encoding',
		h('option', { value: '' }, 'UTF-8 (or say it is not)'),
		h('option', { value: 'windows-1252' }, 'Windows-1252 (Excel on Windows)'),
		h('option', { value: 'iso-8859-1' }, 'ISO-8859-1'),
		h('option', { value: 'iso-8859-15' }, 'ISO-8859-15'));
	const locale = h('select#import-locale',
		h('option', { value: '' }, 'ISO dates (2016-03-14), decimal point'),
		h('option', { value: 'fr-FR' }, 'Day first (14/03/2016), decimal comma'),
		h('option', { value: 'en-GB' }, 'Day first (14/03/2016), decimal point'),
		h('option', { value: 'en-US' }, 'Month first (03/14/2016), decimal point'));
	const tz = h('input#import-timezone', { value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', autocomplete: 'off' });
	const bar = h('progress#import-progress', { max: 1, value: 0 });
	const result = h('div#import-result');
	const check = h('button.primary#import-check', { type: 'submit' }, 'Check the file');
	const commit = h('button#import-commit', { type: 'button' }, 'Import it');
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
		if (!f) return ctx.fb.error('Choose a file first');
		offer(false);
		bar.value = 0;
		bar.dataset.state = 'uploading';
		fill(result);
		let r;
		try {
			r = await upload(f, query(doCommit), bar);
		} catch (e) {
			bar.dataset.state = 'failed';
			return ctx.fb.error(e.message);
		}
		const b = r.body || {};
		bar.dataset.state = 'done';
		main.querySelector('section.importview').dataset.outcome =
			r.status === 201 ? 'committed' : b.already_imported ? 'already' : b.problems?.length ? 'problems' : r.status === 200 ? 'clean' : 'refused';
		if (r.status >= 400 && !b.problems) {
			fill(result, h('p.problem#import-refused', b.detail || b.title || `HTTP ${r.status}`));
			return ctx.fb.error(b.detail || b.title || `HTTP ${r.status}`);
		}
		if (b.already_imported && b.import) {
			fill(result, h('p#import-summary', `This file was already imported (import ${b.import.id}, ${b.import.imported_at}): nothing changed.`));
			return ctx.fb.ok('Already imported: nothing changed');
		}
		const parts = [summary(b)];
		if (b.encoding_warning) parts.push(h('p.hint', b.encoding_warning));
		if (b.problem_count) {
			parts.push(h('p.problem', `${b.problem_count} problem${b.problem_count === 1 ? '' : 's'}: fix the file and check it again. Nothing was written.`),
				problemsTable(b.problems));
			ctx.fb.error(`${b.problem_count} problems in the file`);
		} else if (r.status === 201) {
			ctx.fb.ok(`Imported: ${b.import.summary.specimens} specimens`);
		} else {
			offer(b.summary?.specimens > 0);
			ctx.fb.ok('No problem: check the summary, then import it');
		}
		fill(result, ...parts);
	};
	/* The template needs the token: fetched, then handed to the browser as a file. */
	const template = h('button#import-template', { type: 'button' }, 'Download the template (CSV)');
	template.addEventListener('click', async () => {
		try {
			const blob = await api('GET', '/api/v1/imports/template', undefined, { blob: true });
			const a = h('a', { href: URL.createObjectURL(blob), download: 'biobank-import-template.csv' });
			a.click();
			setTimeout(() => URL.revokeObjectURL(a.href), 1000);
		} catch (e) {
			ctx.fb.error(e.message);
		}
	});
	const form = h('form.card',
		h('h1', 'Import an inventory'),
		h('p.hint', 'A spreadsheet of tubes in the import template. It is checked first; nothing is written until you import it.'),
		template,
		h('label', { for: 'import-file' }, 'File'), file,
		h('label', { for: 'import-encoding' }, 'Saved as'), enc,
		h('label', { for: 'import-locale' }, 'Dates and numbers'), locale,
		h('label', { for: 'import-timezone' }, 'Time zone of times without one'), tz,
		check, commit, bar);
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		send(false);
	});
	commit.addEventListener('click', () => send(true));
	fill(main, h('section.importview', form, result));
}
