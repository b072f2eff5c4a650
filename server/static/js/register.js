/* register.js — register a collection: participant, type, timepoint,
 * collection time, quantity and number of aliquots; then the new IDs with
 * their label previews, printing, and filling a box with them. */
import { get, post } from './api.js';
import { h, fill, esc } from './dom.js';
import { labelPreview, printAvailable, printForm } from './specimen.js';

export const name = 'register';

function localNow() {
	const d = new Date();
	d.setSeconds(0, 0);
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

async function options(path, value, label) {
	try {
		const res = await get(path);
		return res.items.map((x) => h('option', { value: value(x) }, label(x)));
	} catch {
		return [];
	}
}

export async function render(ctx, main) {
	if (!ctx.can('bench')) {
		fill(main, h('p.problem', 'Your role may not register specimens.'));
		return;
	}
	const [studies, types] = await Promise.all([
		options('/api/v1/studies', (s) => s.code, (s) => `${s.code} — ${s.name}`),
		options('/api/v1/specimen-types', (t) => t.code, (t) => t.name ? `${t.code} — ${t.name}` : t.code),
	]);
	const study = h('select#r-study', { name: 'study', required: true }, studies);
	const participant = h('input#r-participant', { name: 'participant', required: true, list: 'r-participants', autocomplete: 'off' });
	const plist = h('datalist#r-participants');
	const type = h('select#r-type', { name: 'type', required: true }, types);
	const timepoint = h('input#r-timepoint', { name: 'timepoint', required: true, list: 'r-timepoints', value: 'baseline' });
	const tlist = h('datalist#r-timepoints', ['baseline', 'm6', 'm12', 'm24', 'y5', 'flare'].map((t) => h('option', { value: t })));
	const collected = h('input#r-collected', { name: 'collected_at', type: 'datetime-local', required: true, value: localNow() });
	const qty = h('input#r-qty', { name: 'quantity', type: 'number', min: '0', step: 'any', value: '' });
	const unit = h('select#r-unit', { name: 'unit' }, ['mL', 'µL', 'mg', 'g', 'µg', 'cells'].map((u) => h('option', u)));
	const tube = h('input#r-tube', { name: 'tube_barcode', autocomplete: 'off' });
	const aliquots = h('input#r-aliquots', { name: 'aliquots', type: 'number', min: '0', max: '500', value: '0' });
	const result = h('div#r-result');

	const loadParticipants = async () => {
		fill(plist, await options(`/api/v1/participants?study=${esc(study.value)}&limit=1000`, (p) => p.code, (p) => p.diagnosis || ''));
	};
	study.addEventListener('change', loadParticipants);
	loadParticipants();

	const form = h('form.card.register',
		h('h1', 'Register a collection'),
		h('div.grid2',
			h('div', h('label', { for: 'r-study' }, 'Study'), study),
			h('div', h('label', { for: 'r-participant' }, 'Participant code'), participant, plist),
			h('div', h('label', { for: 'r-type' }, 'Specimen type'), type),
			h('div', h('label', { for: 'r-timepoint' }, 'Timepoint'), timepoint, tlist),
			h('div', h('label', { for: 'r-collected' }, 'Collected at (local time)'), collected),
			h('div', h('label', { for: 'r-qty' }, 'Quantity'), h('div.row', qty, unit)),
			h('div', h('label', { for: 'r-tube' }, 'Tube barcode (optional, scan it)'), tube),
			h('div', h('label', { for: 'r-aliquots' }, 'Aliquots to make'), aliquots)),
		h('button.primary#r-submit', { type: 'submit' }, 'Register'));

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const body = {
			participant: { study: study.value, code: participant.value.trim() },
			type: type.value,
			timepoint: timepoint.value.trim(),
			collected_at: new Date(collected.value).toISOString().replace(/\.\d{3}Z$/, 'Z'),
		};
		if (qty.value !== '') body.quantity = { value: Number(qty.value), unit: unit.value };
		if (tube.value.trim()) body.tube_barcode = tube.value.trim();
		const n = Number(aliquots.value || 0);
		if (n > 0) body.aliquots = n;
		try {
			const s = await post('/api/v1/specimens', body);
			ctx.fb.ok(`Registered ${s.id}${n ? ` with ${n} aliquots` : ''}`);
			await showResult(ctx, result, s);
		} catch (e) {
			const field = e.problem?.errors?.[0]?.field;
			ctx.fb.error(field ? `${field}: ${e.problem.errors[0].message}` : e.message);
		}
	});
	fill(main, form, result);
	participant.focus();
}

async function showResult(ctx, slot, s) {
	const items = [s, ...(s.aliquots || [])];
	const ids = items.map((x) => x.id);
	const tubes = (s.aliquots?.length ? s.aliquots : [s]).map((x) => x.id);
	const rows = items.map((x) => h('li.newid', { dataset: { id: x.id } },
		h('a.idlink', { href: `#/specimen/${esc(x.id)}` }, x.id),
		h('span', x === s ? ` ${x.type} (collection)` : ` ${x.type} aliquot`),
		h('span.preview')));
	const fillBox = h('input#r-fillbox', { placeholder: 'box barcode', 'aria-label': 'box to fill', autocomplete: 'off' });
	const fillForm = h('form.row', h('label', { for: 'r-fillbox' }, 'Put the aliquots in box '), fillBox,
		h('button', { type: 'submit' }, 'Fill mode'));
	fillForm.addEventListener('submit', (ev) => {
		ev.preventDefault();
		sessionStorage.setItem('biobank.fill', JSON.stringify({ box: fillBox.value.trim(), expect: tubes }));
		ctx.go(`#/box/${esc(fillBox.value.trim())}`);
	});
	fill(slot, h('section.card.newids',
		h('h2', `New IDs (${ids.length})`),
		h('ol', rows),
		h('div.printslot'),
		fillForm));
	for (const li of slot.querySelectorAll('li.newid'))
		labelPreview(li.dataset.id).then((img) => img && li.querySelector('.preview').append(img));
	if (await printAvailable(ctx)) slot.querySelector('.printslot').append(printForm(ctx, ids));
}
