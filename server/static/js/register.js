/* register.js — register a collection: participant, type, timepoint,
 * collection time, quantity and number of aliquots, and the bench's
 * processing times that set its SPREC code (docs/sprec.md); then the new
 * IDs with their code, label previews, printing, and filling a box with
 * them. */
import { get, post } from './api.js';
import { h, fill, esc } from './dom.js';
import { t, has, problemText, zonedNow, zonedToUtc, timeZone } from './i18n.js';
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
	/* Processing at the bench (POST /api/v1/specimens "processing"): each time
	 * in the site's zone, as the collection time; each temperature sent with
	 * its time only. Left empty, nothing is said about that step. */
	const sprec = h('input#r-sprec', { name: 'sprec', autocomplete: 'off', spellcheck: 'false',
		autocapitalize: 'characters', placeholder: t('reg.sprec.fromProtocol') });
	const spinStart = h('input#r-spin-start', { name: 'centrifuged_at', type: 'datetime-local' });
	const spinEnd = h('input#r-spin-end', { name: 'centrifugation_ended_at', type: 'datetime-local' });
	const frozen = h('input#r-frozen', { name: 'frozen_at', type: 'datetime-local' });
	const temps = (list) => list.map((v) => h('option', { value: v }, t(`reg.temp.${v}`)));
	const preTemp = h('select#r-pre-temp', { name: 'pre_centrifugation_temperature' }, temps(['rt', 'cold', 'body']));
	const postTemp = h('select#r-post-temp', { name: 'post_centrifugation_temperature' }, temps(['rt', 'cold']));
	/* An empty time starts from the step before it (only the hour and minutes
	 * differ, as a rule); left as it was offered, it is emptied again, so that
	 * tabbing past a step not done never records it. */
	const chain = [collected, spinStart, spinEnd, frozen];
	for (let i = 1; i < chain.length; i++) {
		let offered = '';
		chain[i].addEventListener('focus', () => {
			if (chain[i].value) return;
			const prev = chain.slice(0, i).reverse().find((x) => x.value);
			if (prev) chain[i].value = offered = prev.value;
		});
		chain[i].addEventListener('blur', () => {
			if (offered && chain[i].value === offered) chain[i].value = '';
			offered = '';
		});
	}
	/* The server's refusal naming a field is shown on that field. */
	const fields = {
		collected_at: collected,
		sprec,
		processing: sprec,
		'processing.centrifuged_at': spinStart,
		'processing.centrifugation_ended_at': spinEnd,
		'processing.frozen_at': frozen,
		'processing.pre_centrifugation_temperature': preTemp,
		'processing.post_centrifugation_temperature': postTemp,
	};

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
		h('fieldset.processing',
			h('legend', t('reg.processing'), ' ', h('abbr', { title: t('card.sprecTitle') }, 'SPREC')),
			h('p.hint', t('reg.processing.hint')),
			h('div.grid2',
				field('r-sprec', t('reg.sprec'), sprec),
				field('r-spin-start', t('reg.spin.start', { zone: timeZone() }), spinStart),
				field('r-spin-end', t('reg.spin.end', { zone: timeZone() }), spinEnd),
				field('r-pre-temp', t('reg.temp.pre'), preTemp),
				field('r-frozen', t('reg.frozen', { zone: timeZone() }), frozen),
				field('r-post-temp', t('reg.temp.post'), postTemp))),
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
		if (sprec.value.trim()) body.sprec = sprec.value.trim();
		const processing = {};
		if (spinStart.value) {
			processing.centrifuged_at = zonedToUtc(spinStart.value);
			processing.pre_centrifugation_temperature = preTemp.value;
		}
		if (spinEnd.value) processing.centrifugation_ended_at = zonedToUtc(spinEnd.value);
		if (frozen.value) {
			processing.frozen_at = zonedToUtc(frozen.value);
			processing.post_centrifugation_temperature = postTemp.value;
		}
		if (Object.keys(processing).length) body.processing = processing;
		clearFieldErrors(form);
		try {
			const s = await post('/api/v1/specimens', body, { key });
			/* The next collection is a new one: the form is reset (a new key),
			 * keeping what a run of collections shares. */
			const keep = [study, type, timepoint, unit, sprec, preTemp, postTemp].map((x) => [x, x.value]);
			form.reset();
			for (const [x, v] of keep) x.value = v;
			collected.value = zonedNow();
			ctx.fb.ok(n ? t('reg.doneAliquots', { id: s.id, n }) : t('reg.done', { id: s.id }));
			await showResult(ctx, result, s);
		} catch (e) {
			if (!showFieldErrors(e, fields)) ctx.fb.error(problemText(e));
			else ctx.fb.error(t('reg.fixFields'), { focus: false });
		}
	});
	fill(main, form, result);
	participant.focus();
}

/* A labelled input with a slot for the server's word on it. */
function field(id, label, input) {
	return h('div', h('label', { for: id }, label), input, h(`p.fielderror#${id}-error`, { hidden: true }));
}

function clearFieldErrors(form) {
	for (const p of form.querySelectorAll('p.fielderror')) {
		p.hidden = true;
		p.textContent = '';
	}
	for (const x of form.querySelectorAll('[aria-invalid]')) {
		x.removeAttribute('aria-invalid');
		x.removeAttribute('aria-describedby');
	}
}

/* What the server said of one field, in the page's language where it has the words. */
function fieldText(err, code) {
	const key = `reg.err.${code}.${err.field}`;
	if (has(key)) return t(key);
	return err.message || problemText({ problem: { code } });
}

/*
 * A 400 naming fields of this form: each message under its field, the first
 * such field focused. False when the refusal names none of them.
 */
function showFieldErrors(e, fields) {
	const p = e?.problem;
	if (!p || e.status !== 400) return false;
	const errs = p.errors?.length ? p.errors : p.field ? [{ field: p.field, message: p.detail }] : [];
	let first = null;
	for (const err of errs) {
		const input = fields[err.field];
		if (!input) continue;
		const slot = document.getElementById(`${input.id}-error`);
		const text = fieldText(err, err.code || p.code);
		if (slot) {
			slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
			slot.hidden = false;
			input.setAttribute('aria-describedby', slot.id);
		}
		input.setAttribute('aria-invalid', 'true');
		first = first || input;
	}
	if (first) first.focus();
	return Boolean(first);
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
		s.sprec && h('p.sprec', h('abbr', { title: t('card.sprecTitle') }, 'SPREC'), ' ', h('code#r-sprec-result', s.sprec)),
		h('ol', rows),
		h('div.printslot'),
		fillForm));
	for (const li of slot.querySelectorAll('li.newid'))
		labelPreview(li.dataset.id).then((img) => img && li.querySelector('.preview').append(img));
	const print = printForm(ctx, ids);
	if (print) slot.querySelector('.printslot').append(print);
}
