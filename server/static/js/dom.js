/* dom.js — building elements without innerHTML, so no scanned or stored
 * text is ever read as markup. */
import { t, num } from './i18n.js';

/*
 * h('button.primary#go', {onclick, type: 'button', dataset: {x: 1}}, 'text', child, [children])
 * Tag with optional .classes and #id; attributes; children (strings become text).
 */
export function h(spec, attrs, ...children) {
	const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
	const el = document.createElement(m[1] || 'div');
	for (const part of m[2].match(/[.#][\w-]+/g) || []) {
		if (part[0] === '.') el.classList.add(part.slice(1));
		else el.id = part.slice(1);
	}
	if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
		children.unshift(attrs);
		attrs = null;
	}
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
		else if (k === 'dataset') Object.assign(el.dataset, v);
		else if (k === 'class') el.className = v;
		else if (k === 'style') setStyle(el, v);
		else if (v === true) el.setAttribute(k, '');
		else el.setAttribute(k, String(v));
	}
	append(el, children);
	return el;
}

/* Styles through the CSSOM: the page's Content-Security-Policy refuses
 * style attributes written as markup. v: {prop: value, '--var': value}. */
function setStyle(el, v) {
	for (const [k, val] of Object.entries(v)) {
		if (k.startsWith('--')) el.style.setProperty(k, String(val));
		else el.style[k] = val;
	}
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false) continue;
		if (Array.isArray(c)) append(el, c);
		else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

/* Replace everything inside el. */
export function fill(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

/* Times, in the site's zone with the zone named: one format everywhere (i18n.js). */
export { when } from './i18n.js';

/* An occupancy bar: used of capacity. */
export function bar(occ, label) {
	const cap = occ?.capacity ?? 0, used = occ?.used ?? 0;
	const pct = cap > 0 ? Math.round((100 * used) / cap) : 0;
	const meter = h('div.bar', { role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': cap,
		'aria-valuenow': used, 'aria-label': label || t('occ.label') },
		h('div', { style: { width: `${pct}%` }, class: pct >= 90 ? 'fill full' : 'fill' }));
	return h('div.occ', meter, h('span.occtext', t('occ.text', { used, cap, pct: num(pct / 100, { style: 'percent' }) })));
}

export const esc = encodeURIComponent;
