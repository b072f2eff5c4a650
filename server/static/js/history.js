/* history.js — a specimen's custody ledger as a timeline in words: when,
 * who, what, where from → to, why, and the event's details said as
 * sentences (the value before and after a correction, whether a tube
 * thawed, the aliquots made...), never as JSON. */
import { h, esc } from './dom.js';
import { t, has, when, num } from './i18n.js';

const place = (p) => (p ? `${p.box} ${p.position}` : '');

function words(v) {
	if (v === null || v === undefined) return t('hist.none');
	if (typeof v === 'boolean') return t(v ? 'hist.yes' : 'hist.no');
	if (typeof v === 'number') return num(v);
	if (Array.isArray(v)) return v.map(words).join(', ');
	if (typeof v === 'object') {
		if ('value' in v && 'unit' in v) return `${num(Number(v.value))} ${v.unit}`;
		return Object.entries(v).map(([k, x]) => `${field(k)} ${words(x)}`).join(', ');
	}
	if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return when(v);
	return String(v);
}

/* A detail's name in words: the catalogue's when it has one. */
function field(k) {
	return has(`field.${k}`) ? t(`field.${k}`) : k.replace(/_/g, ' ');
}

/* The details of an event as a list of sentences. */
export function detailWords(d) {
	if (!d || typeof d !== 'object') return [];
	const out = [];
	for (const [k, v] of Object.entries(d)) {
		if (k === 'before' || k === 'after' || (k === 'children' && Array.isArray(v))) continue;
		if (k === 'thawed') out.push(t(v ? 'hist.thawed' : 'hist.frozen'));
		else out.push(`${field(k)}: ${words(v)}`);
	}
	/* A correction: each field changed, before → after. */
	if (d.before && d.after)
		for (const k of Object.keys({ ...d.before, ...d.after }))
			out.unshift(t('hist.changed', { field: field(k), before: words(d.before[k]), after: words(d.after[k]) }));
	return out;
}

/* The timeline of events, newest last as they happened. */
export function timeline(events) {
	return h('ol.timeline', { 'aria-label': t('hist.title') }, events.map((e) => {
		const what = has(`ev.${e.type}`) ? t(`ev.${e.type}`) : e.type.replace(/_/g, ' ');
		const from = place(e.from), to = place(e.to);
		const route = from && to ? t('hist.fromto', { from, to }) : from ? t('hist.from', { from }) : to ? t('hist.to', { to }) : '';
		const more = detailWords(e.details);
		return h('li', { dataset: { type: e.type, seq: e.seq } },
			h('time', { datetime: e.at }, when(e.at)),
			h('p.ev',
				h('strong.what', what), ' ',
				h('span.who', t('hist.by', { who: e.actor })),
				route && [' ', h('span.route', route)]),
			e.reason && h('p.reason', t('hist.reason', { reason: e.reason })),
			more.length > 0 && h('ul.details', more.map((m) => h('li', m))),
			Array.isArray(e.details?.children) && h('p.links', t('hist.children'), ' ', e.details.children.map((c) => h('a.chip', { href: `#/specimen/${esc(c)}` }, c))));
	}));
}
