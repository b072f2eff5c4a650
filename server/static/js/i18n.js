/* i18n.js — the page's words, dates and numbers in the reader's language.
 *
 * Every text a view shows comes from a message catalogue (js/i18n/<tag>.js:
 * a flat object of key → message, "{name}" for a value put in). The
 * language is the one chosen with the switch (kept in localStorage), else
 * the first of the browser's languages we have, else English. A key a
 * catalogue lacks falls back to English, so a view never shows a key.
 *
 * Times are shown in the site's time zone (GET /api/v1/site), one format
 * everywhere, with the zone named; numbers with the language's separators.
 * Problems from the API are told by their stable `code` (docs/api.md). */
import en from './i18n/en.js';
import fr from './i18n/fr.js';
import zhHans from './i18n/zh-Hans.js';

export const LANGUAGES = [
	{ tag: 'en', name: 'English', messages: en },
	{ tag: 'fr', name: 'Français', messages: fr },
	{ tag: 'zh-Hans', name: '简体中文', messages: zhHans },
];
const KEY = 'biobank.lang';

let current = LANGUAGES[0];
let zone = 'UTC';
const listeners = [];

/* The best of ours for a list of BCP 47 tags (navigator.languages). */
export function pick(tags) {
	for (const raw of tags || []) {
		const t = String(raw).toLowerCase();
		const exact = LANGUAGES.find((l) => l.tag.toLowerCase() === t);
		if (exact) return exact.tag;
		/* zh, zh-CN, zh-SG, zh-Hans-* read Simplified; zh-TW/HK/Hant do not. */
		if (t === 'zh' || /^zh-(cn|sg|hans)/.test(t)) return 'zh-Hans';
		const base = t.split('-')[0];
		if (base !== 'zh') {
			const l = LANGUAGES.find((x) => x.tag === base);
			if (l) return l.tag;
		}
	}
	return 'en';
}

export function lang() {
	return current.tag;
}

export function setLang(tag, remember = true) {
	current = LANGUAGES.find((l) => l.tag === tag) || LANGUAGES[0];
	if (remember) localStorage.setItem(KEY, current.tag);
	document.documentElement.lang = current.tag;
	for (const fn of listeners) fn(current.tag);
}

/* The language at start: the one chosen before, else the browser's. */
export function initLang() {
	const kept = localStorage.getItem(KEY);
	setLang(kept && LANGUAGES.some((l) => l.tag === kept) ? kept : pick(navigator.languages), false);
}

export function onLangChange(fn) {
	listeners.push(fn);
}

export function setZone(tz) {
	if (tz) zone = tz;
}

export function timeZone() {
	return zone;
}

/* The message key with values put in; plural keys choose "_one"/"_other" by params.n. */
export function t(key, params = {}) {
	let k = key;
	if (typeof params.n === 'number') {
		const form = new Intl.PluralRules(current.tag).select(params.n);
		const m = current.messages[`${key}_${form}`] ?? en[`${key}_${form}`];
		if (m !== undefined) k = `${key}_${form}`;
		/* A message with a count but no plural forms ("Imported: {n} specimens") is used as it is. */
		else if ((current.messages[`${key}_other`] ?? en[`${key}_other`]) !== undefined) k = `${key}_other`;
	}
	const msg = current.messages[k] ?? en[k] ?? key;
	return msg.replace(/\{(\w+)\}/g, (all, name) => {
		const v = params[name];
		if (v === undefined || v === null) return all;
		return typeof v === 'number' ? num(v) : String(v);
	});
}

/* Does the catalogue have key (in any language we fall back to)? */
export function has(key) {
	return key in current.messages || key in en;
}

export function num(v, opts) {
	return new Intl.NumberFormat(current.tag, opts).format(v);
}

const formats = new Map();
function formatter(kind) {
	const id = `${current.tag}|${zone}|${kind}`;
	if (!formats.has(id)) {
		const o = { timeZone: zone, hourCycle: 'h23' };
		if (kind !== 'time') Object.assign(o, { year: 'numeric', month: '2-digit', day: '2-digit' });
		if (kind !== 'date') Object.assign(o, { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
		formats.set(id, new Intl.DateTimeFormat(current.tag, o));
	}
	return formats.get(id);
}

/* A time from the API (RFC 3339) in the site's zone, to the minute, zone named. */
export function when(v) {
	if (!v) return '';
	const d = v instanceof Date ? v : new Date(v);
	if (Number.isNaN(d.getTime())) return String(v);
	return formatter('datetime').format(d);
}

/* A calendar date (YYYY-MM-DD, no time of day) in the reader's order. */
export function day(v) {
	if (!v) return '';
	const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
	if (!m) return String(v);
	return new Intl.DateTimeFormat(current.tag, { timeZone: 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' })
		.format(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])));
}

/* The wall-clock parts of d in the site's zone. */
function parts(d) {
	const f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric',
		month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
	const p = Object.fromEntries(f.formatToParts(d).map((x) => [x.type, x.value]));
	return { y: +p.year, mo: +p.month, d: +p.day, h: +p.hour % 24, mi: +p.minute, s: +p.second };
}

/* Now as a datetime-local value ("YYYY-MM-DDTHH:MM") on the site's clock. */
export function zonedNow() {
	const p = parts(new Date());
	const z = (n) => String(n).padStart(2, '0');
	return `${p.y}-${z(p.mo)}-${z(p.d)}T${z(p.h)}:${z(p.mi)}`;
}

/* A datetime-local value read on the site's clock, as an RFC 3339 UTC time
 * (null when it is not one). The zone's offset is found by asking Intl what
 * the wall clock says at a guess, twice, which settles across a DST change. */
export function zonedToUtc(local) {
	const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local || '');
	if (!m) return null;
	const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
	let guess = wall;
	for (let i = 0; i < 2; i++) {
		const p = parts(new Date(guess));
		const seen = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s);
		guess = wall - (seen - guess);
	}
	return new Date(guess).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/*
 * What an API error tells the reader: the catalogue's message for the
 * problem's code; in English the server's own detail, which names the
 * facts, is preferred. Field errors (400) name their field.
 */
export function problemText(e) {
	if (e?.status === 0) return t('problem.network');
	if (!e?.problem) return e?.message || String(e);
	const p = e.problem;
	const field = p.errors?.[0];
	const known = p.code && has(`problem.${p.code}`);
	if (current.tag === 'en' || !known) {
		if (field?.field && field.message) return `${field.field}: ${field.message}`;
		return p.detail || p.title || (known ? t(`problem.${p.code}`) : t('problem.http', { status: e?.status ?? '?' }));
	}
	const msg = t(`problem.${p.code}`);
	return field?.field ? `${field.field}: ${msg}` : msg;
}

/* Static markup (index.html): elements with data-i18n get their text,
 * data-i18n-attr="attr:key;attr:key" their attributes. */
export function translateStatic(root = document) {
	for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
	for (const el of root.querySelectorAll('[data-i18n-attr]'))
		for (const pair of el.dataset.i18nAttr.split(';')) {
			const [attr, key] = pair.split(':');
			el.setAttribute(attr, t(key));
		}
}
