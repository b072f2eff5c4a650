/* mgr-common.js — what the manager views (people, studies, requests,
 * shipments) share: problems told in the reader's language, downloads of
 * the API's CSV and PDF answers, small tables and the study list. */
import { session, ApiError, get } from './api.js';
import { h } from './dom.js';
import { t, has, lang, problemText } from './i18n.js';

/* The catalogue areas whose "mgr.<area>.p.<code>" keys translate a problem code. */
const AREAS = ['people', 'study', 'req', 'ship'];

/*
 * What an API error tells the manager. In English the server's detail,
 * which names the facts (the tubes, the request's state), is kept; in
 * another language the code's own message, naming the field when there is one.
 */
export function says(e) {
	const code = e?.problem?.code;
	if (!code || lang() === 'en') return problemText(e);
	const key = AREAS.map((a) => `mgr.${a}.p.${code}`).find((k) => has(k));
	if (!key) return problemText(e);
	const field = e.problem.errors?.[0]?.field;
	return field ? `${field}: ${t(key)}` : t(key);
}

/* A file the API writes (CSV, PDF), saved under name: the bearer token
 * goes in a header, so a plain link cannot fetch it. */
export async function download(path, accept, name) {
	const headers = { Accept: accept };
	const s = session();
	if (s?.token) headers.Authorization = `Bearer ${s.token}`;
	let res;
	try {
		res = await fetch(path, { headers, cache: 'no-store' });
	} catch {
		throw new ApiError(0, { title: 'Network error' });
	}
	if (!res.ok) {
		let problem = null;
		try {
			problem = await res.json();
		} catch {
			problem = { title: res.statusText };
		}
		throw new ApiError(res.status, problem);
	}
	const url = URL.createObjectURL(await res.blob());
	const a = h('a', { href: url, download: name, hidden: true });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/* A table: heads are catalogue keys, rows are arrays of cells (strings, numbers or nodes;
 * null attributes first, so that a 0 is a cell's text, not its attributes). */
export function table(cls, heads, rows, rowAttrs) {
	return h(`table.${cls}`,
		h('thead', h('tr', heads.map((k) => h('th', { scope: 'col' }, t(k))))),
		h('tbody', rows.map((cells, i) => h('tr', rowAttrs ? rowAttrs(i) : null, cells.map((c) => h('td', null, c))))));
}

/* A table that scrolls sideways on a narrow screen instead of widening the page. */
export const scroller = (label, el) => h('div.mgr-scroll', { role: 'region', tabindex: 0, 'aria-label': label }, el);

/* A labelled field: [label, control]. */
export function field(id, key, control) {
	control.id = id;
	return [h('label', { for: id }, t(key)), control];
}

/* The studies the caller may see (a handful: the list is not paged). */
export async function studies() {
	return (await get('/api/v1/studies')).items;
}

/* A select of the given values, each worded by prefix + value. */
export function choice(values, prefix, selected, extra) {
	return h('select', extra, values.map((v) => h('option', { value: v, selected: v === selected }, v === '' ? t(`${prefix}any`) : t(`${prefix}${v}`))));
}

/* A message inside a form, read out when it appears. */
export function formMessage(form, text) {
	let el = form.querySelector('.formerror');
	if (!el) {
		el = h('p.formerror', { role: 'alert' });
		form.append(el);
	}
	el.textContent = text;
	el.hidden = !text;
}

/* Gate for the manager views: other roles are told, not shown an empty page. */
export function managersOnly(ctx, main) {
	if (ctx.can('manager')) return true;
	main.replaceChildren(h('section.card', h('p.problem', t('mgr.people.managers'))));
	return false;
}
