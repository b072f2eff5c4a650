/* tablecsv.js — the manager's tables: one list of columns makes both the
 * table on the page and the CSV a manager downloads, so the file holds what
 * the screen shows (raw values, not the screen's formatting). */
import { h } from './dom.js';
import { get } from './api.js';

/*
 * columns: [{key, label, value?(row) → raw value for the CSV, cell?(row) → node or text}].
 */
export function dataTable(id, columns, rows, caption) {
	/* A table wider than a narrow screen scrolls in its box, which a keyboard reaches (tabindex). */
	return h('div.tablewrap', { tabindex: 0, role: 'region', 'aria-label': caption }, h(`table#${id}`,
		caption && h('caption.sr', caption),
		h('thead', h('tr', columns.map((c) => h('th', { scope: 'col' }, c.label)))),
		h('tbody', rows.map((r) => h('tr', columns.map((c) => h('td', c.cell ? c.cell(r) : String(raw(c, r) ?? ''))))))));
}

function raw(c, r) {
	return c.value ? c.value(r) : r[c.key];
}

/* A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) is made
 * text with a leading quote, as the daemon's own CSV does (docs/api-shipments.md). */
function field(v) {
	let x = v === null || v === undefined ? '' : String(v);
	if (/^[=+\-@\t\r]/.test(x) && !/^-?\d+(\.\d+)?$/.test(x)) x = `'${x}`;
	return /[",\r\n]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x;
}

/* RFC 4180: the column keys as the header, CRLF line ends. */
export function toCsv(columns, rows) {
	const lines = [columns.map((c) => field(c.key)).join(',')];
	for (const r of rows) lines.push(columns.map((c) => field(raw(c, r))).join(','));
	return `${lines.join('\r\n')}\r\n`;
}

/* A download button for what rowsNow() holds when it is pressed. */
export function csvButton(id, label, filename, columns, rowsNow) {
	const b = h(`button#${id}`, { type: 'button' }, label);
	b.addEventListener('click', () => {
		const blob = new Blob([toCsv(columns, rowsNow())], { type: 'text/csv;charset=utf-8' });
		const a = h('a', { href: URL.createObjectURL(blob), download: filename });
		document.body.append(a);
		a.click();
		a.remove();
		setTimeout(() => URL.revokeObjectURL(a.href), 1000);
	});
	return b;
}

/* Every page of a list (items, next_cursor), up to max items. */
export async function getAll(path, max = 5000) {
	const items = [];
	let cursor = null;
	do {
		const sep = path.includes('?') ? '&' : '?';
		const page = await get(`${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
		items.push(...page.items);
		cursor = page.next_cursor;
	} while (cursor && items.length < max);
	return items;
}
