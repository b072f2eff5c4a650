/* import.js — bring an inventory file in (docs/import.md): choose the file
 * and how it was saved, upload it with a progress bar for a dry run, read
 * every problem by row and column, then commit the same file. */
import { api, session, ApiError } from './api.js';
import { h, fill } from './dom.js';
import { t, problemText, timeZone, when } from './i18n.js';

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
	const bar = h('progress#import-progress', { max: 1, value: 0, 'aria-label': t('imp.progress') });
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
		fill(result);
		let r;
		try {
			r = await upload(f, query(doCommit), bar);
		} catch (e) {
			bar.dataset.state = 'failed';
			return ctx.fb.error(problemText(e));
		}
		const b = r.body || {};
		bar.dataset.state = 'done';
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
		check, commit, bar);
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		send(false);
	});
	commit.addEventListener('click', () => send(true));
	fill(main, h('section.importview', form, result));
}
