/* svgchart.js — the manager's charts: horizontal bars (stacked or not) as
 * inline SVG built element by element, with the same figures as a table
 * for a screen reader and for whoever would rather read them.
 *
 * Why our own and not a library: the page has no build step and a CSP with
 * no inline script or style attributes; the charts asked for are bars of
 * counts per freezer, which take ~100 lines here, while a charting library
 * would be ten times the page's code to audit and translate around. Colours
 * come from classes in style.css (.series-N), so the palette and its
 * contrast live with the rest of the page's. */
import { h } from './dom.js';
import { num } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
	const el = document.createElementNS(NS, tag);
	for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
	for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	return el;
}

/*
 * barChart({id, title, rows: [{label, values: [n, ...]}], series: [label, ...],
 *           max?, format?(v), unit?}) → a <figure>: the SVG (role img, named
 * by the title) and a table of the same figures in a <details>. Each row is
 * one bar; with several series the bar is stacked in their order. max fixes
 * the scale (a share: 1); format writes a value (default: a number).
 */
export function barChart(o) {
	const fmt = o.format || ((v) => num(v));
	const rows = o.rows || [];
	const total = (r) => r.values.reduce((a, b) => a + (b || 0), 0);
	const max = o.max || Math.max(1, ...rows.map(total));
	const W = 640, labelW = 190, barH = 22, gap = 8, top = 8;
	const plotW = W - labelW - 70;
	const H = top + rows.length * (barH + gap) + 24;
	const titleId = `${o.id}-title`;
	/* The picture is for the eye; a screen reader gets the table below, which is always there. */
	const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', 'aria-hidden': 'true', focusable: 'false',
		preserveAspectRatio: 'xMinYMin meet' });
	/* the axis: 0, half and the scale's end */
	for (const f of [0, 0.5, 1]) {
		const x = labelW + f * plotW;
		svg.append(s('line', { x1: x, x2: x, y1: top - 4, y2: H - 20, class: 'axis' }),
			s('text', { x, y: H - 6, 'text-anchor': 'middle', class: 'ticklabel' }, fmt(f * max)));
	}
	rows.forEach((r, i) => {
		const y = top + i * (barH + gap);
		const label = r.label.length > 26 ? `${r.label.slice(0, 25)}…` : r.label;
		svg.append(s('text', { x: labelW - 6, y: y + barH * 0.7, 'text-anchor': 'end', class: 'rowlabel' }, label));
		let x = labelW;
		r.values.forEach((v, k) => {
			const w = max > 0 ? (plotW * (v || 0)) / max : 0;
			if (w > 0) {
				svg.append(s('rect', { x, y, width: Math.max(w, 1), height: barH, class: `series-${k}` },
					s('title', {}, `${r.label} — ${o.series[k]}: ${fmt(v)}`)));
			}
			x += w;
		});
		svg.append(s('text', { x: x + 4, y: y + barH * 0.7, class: 'barvalue' }, fmt(total(r))));
	});
	const legend = o.series.length > 1 &&
		h('ul.chartlegend', { 'aria-hidden': 'true' }, o.series.map((name, k) => h('li', h('span', { class: `swatch series-${k}` }), name)));
	const table = h('table.charttable',
		h('caption', o.title),
		h('thead', h('tr', h('th', { scope: 'col' }, o.rowHead || ''), o.series.map((name) => h('th', { scope: 'col' }, name)))),
		h('tbody', rows.map((r) => h('tr', h('th', { scope: 'row' }, r.label), r.values.map((v) => h('td', fmt(v || 0)))))));
	/* Hidden from the eye only (.sr) until asked for: never from a screen reader.
	 * Shown, it scrolls sideways on a narrow screen, so it takes the focus
	 * (a keyboard can scroll it). */
	const wrap = h('div.sr', table);
	const toggle = h('button.linklike', { type: 'button', 'aria-expanded': 'false' }, o.tableLabel || '');
	toggle.addEventListener('click', () => {
		const shown = wrap.classList.contains('sr');
		wrap.className = shown ? 'tablewrap' : 'sr';
		if (shown) {
			wrap.setAttribute('tabindex', '0');
			wrap.setAttribute('role', 'region');
			wrap.setAttribute('aria-label', o.title);
		} else {
			for (const a of ['tabindex', 'role', 'aria-label']) wrap.removeAttribute(a);
		}
		toggle.setAttribute('aria-expanded', String(shown));
	});
	return h('figure.chartbox', { id: o.id },
		h('figcaption', { id: titleId }, o.title),
		rows.length ? svg : null,
		legend,
		toggle, wrap);
}
