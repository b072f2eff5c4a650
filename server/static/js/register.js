/* register.js — register a collection: participant, type, timepoint,
 * collection time, quantity and number of aliquots; then the new IDs with
 * their label previews, printing, and filling a box with them. */
import { get, post } from './api.js';
import { h, fill, esc } from './dom.js';
import { t, problemText, zonedNow, zonedToUtc, timeZone } from './i18n.js';
import { onSubmit } from './forms.js';
import { labelPreview, printForm } from './labels.js';

export const name = 'register';

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
		fill(main, h('p.problem', t('reg.forbidden')));
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
	const collected = h('input#r-collected', { name: 'collected_at', type: 'datetime-local', required: true, value: zonedNow() });
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
		h('h1', t('reg.title')),
		h('div.grid2',
			h('div', h('label', { for: 'r-study' }, t('reg.study')), study),
			h('div', h('label', { for: 'r-participant' }, t('reg.participant')), participant, plist),
			h('div', h('label', { for: 'r-type' }, t('reg.type')), type),
			h('div', h('label', { for: 'r-timepoint' }, t('reg.timepoint')), timepoint, tlist),
			h('div', h('label', { for: 'r-collected' }, t('reg.collected', { zone: timeZone() })), collected),
			h('div', h('label', { for: 'r-qty' }, t('reg.quantity')), h('div.row', qty, h('label.sr', { for: 'r-unit' }, t('reg.unit')), unit)),
			h('div', h('label', { for: 'r-tube' }, t('reg.tube')), tube),
			h('div', h('label', { for: 'r-aliquots' }, t('reg.aliquots')), aliquots)),
		h('button.primary#r-submit', { type: 'submit' }, t('reg.submit')));

	/* One Idempotency-Key for this form until it is reset after a success
	 * (forms.js): a double click, or a retry after a timeout, registers once. */
	onSubmit(form, async (ev, key) => {
		const body = {
			participant: { study: study.value, code: participant.value.trim() },
			type: type.value,
			timepoint: timepoint.value.trim(),
			/* typed on the site's clock, whatever the bench PC's zone */
			collected_at: zonedToUtc(collected.value),
		};
		if (qty.value !== '') body.quantity = { value: Number(qty.value), unit: unit.value };
		if (tube.value.trim()) body.tube_barcode = tube.value.trim();
		const n = Number(aliquots.value || 0);
		if (n > 0) body.aliquots = n;
		try {
			const s = await post('/api/v1/specimens', body, { key });
			/* The next collection is a new one: the form is reset (a new key),
			 * keeping what a run of collections shares. */
			const keep = { study: study.value, type: type.value, timepoint: timepoint.value, unit: unit.value };
			form.reset();
			Object.assign(study, { value: keep.study });
			Object.assign(type, { value: keep.type });
			Object.assign(timepoint, { value: keep.timepoint });
			Object.assign(unit, { value: keep.unit });
			collected.value = zonedNow();
			ctx.fb.ok(n ? t('reg.doneAliquots', { id: s.id, n }) : t('reg.done', { id: s.id }));
			await showResult(ctx, result, s);
		} catch (e) {
			ctx.fb.error(problemText(e));
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
		h('span', ' ', t(x === s ? 'reg.collection' : 'reg.aliquot', { type: x.type })),
		h('span.preview')));
	const fillBox = h('input#r-fillbox', { autocomplete: 'off', required: true });
	const fillForm = h('form.row', h('label', { for: 'r-fillbox' }, t('reg.fillbox')), fillBox,
		h('button', { type: 'submit' }, t('fill.start')));
	fillForm.addEventListener('submit', (ev) => {
		ev.preventDefault();
		sessionStorage.setItem('biobank.fill', JSON.stringify({ box: fillBox.value.trim(), expect: tubes }));
		ctx.go(`#/box/${esc(fillBox.value.trim())}`);
	});
	fill(slot, h('section.card.newids',
		h('h2', t('reg.newids', { n: ids.length })),
		h('ol', rows),
		h('div.printslot'),
		fillForm));
	for (const li of slot.querySelectorAll('li.newid'))
		labelPreview(li.dataset.id).then((img) => img && li.querySelector('.preview').append(img));
	const print = printForm(ctx, ids);
	if (print) slot.querySelector('.printslot').append(print);
}
