// manager.mjs — a biobank manager at the manager views (js/mgr-*.js), in
// Debian's headless chromium driven by playwright-core, against a real
// biobankd. Four journeys, as the manager would act, mistakes included:
//   participants: a participant created (and again in another case: refused),
//     corrected (first without a reason: refused in the page), and a biobank
//     consent withdrawn for a donor with a tube reserved for a request — the
//     tubes it blocks shown before confirming, and what it did after;
//   requests: a rejection without a reason (refused), then with one; an
//     approval double-clicked (decided once); allocation; a tube dropped, a
//     swap refused (nothing dropped) and one made; the pick list's PDF; a
//     shipment made from the picked tube (first without a destination);
//   shipments: one opened, its tubes scanned out (a tube whose donor withdrew
//     consent refused in its own colour), dispatched, received back with a
//     tube missing and one not on the manifest;
//   protocol and completeness: the protocol edited (first without a reason),
//     the heat map read, filtered, clicked through and downloaded as CSV.
//
// usage: node manager.mjs URL ADMIN_TOKEN ARTIFACT_DIR FIXTURES_DIR
// Prints TAP and "# fact NAME=VALUE" lines that test_ui.c checks against the
// database (built as test_ui_manager).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { driverArgs, ok, fact, journey, crashed, apiOf, launchProfile, consoleErrorsOf } from './driver.mjs';

const { url, adminToken, artifacts } = driverArgs('manager.mjs');
const { api, must } = apiOf(url, adminToken);

const PASSWORD = 'bench-password-1';

/* Donors P-MG-1..5 with serum at "pk" (two tubes each, three for the fifth,
 * plus one of its tubes registered and never stored); P-MG-6 with plasma,
 * which no request asks for, for the shipment scanned out by hand. */
async function world() {
	await must('POST', '/api/v1/users', { username: 'mgr1', password: PASSWORD, role: 'manager' }, 201);
	await must('POST', '/api/v1/users', { username: 'rhea', password: PASSWORD, role: 'researcher' }, 201);
	const tubes = [];
	const reg = async (code, barcode, type, box, position) => {
		const id = (await must('POST', '/api/v1/specimens', { participant: { study: 'MASC', code }, type, timepoint: 'pk',
			collected_at: '2026-03-01T09:30:00Z', quantity: { value: 0.5, unit: 'mL' }, tube_barcode: barcode }, 201)).id;
		if (box) await must('POST', `/api/v1/specimens/${id}/store`, { box, position }, 200);
		tubes.push({ id, barcode, donor: code, type });
		return id;
	};
	for (let i = 1; i <= 6; i++) {
		const code = `P-MG-${i}`;
		await must('POST', '/api/v1/participants', { study: 'MASC', code, sex: i % 2 ? 'female' : 'male', birth_year: 1960 + i, diagnosis: 'DM' }, 201);
		await must('POST', `/api/v1/participants/MASC/${code}/consents`, { scope: 'biobank', status: 'given', date: '2026-01-05', version: 'v2' }, 201);
		const k = i === 5 ? 3 : 2;
		for (let j = 0; j < k; j++)
			await reg(code, `TB-MG-${i}${j}`, i === 6 ? 'plasma' : 'serum', 'BOX-A', `${'BCDEFG'[i - 1]}${j + 1}`);
	}
	const unstored = await reg('P-MG-5', 'TB-MG-NS', 'serum', null, null);
	const rhea = (await must('POST', '/api/v1/sessions', { username: 'rhea', password: PASSWORD }, 201)).token;
	const ask = (title, participants) => must('POST', '/api/v1/requests', { title, project: 'CYTO', ethics_ref: 'EPN 2026-0101',
		mta_ref: 'MTA-9', purpose: 'non-genetic', criteria: { study: 'MASC', timepoints: ['pk'], types: ['serum'],
			quantity: { value: 0.2, unit: 'mL' }, participants } }, 201, rhea);
	const r1 = (await ask('Serum for a cytokine panel', 3)).id;
	const r2 = (await ask('Serum for a pilot', 1)).id;
	return { tubes, unstored, r1, r2 };
}

async function main() {
	const w = await world();
	fact('r1', w.r1);
	fact('r2', w.r2);
	const { page, close } = await launchProfile({ viewport: { width: 1280, height: 900 }, sound: true, downloads: true });
	const consoleErrors = consoleErrorsOf(page);
	const posts = [];
	page.on('request', (r) => ['POST', 'PATCH', 'PUT', 'DELETE'].includes(r.method()) && posts.push(`${r.method()} ${new URL(r.url()).pathname}`));
	/* A view's screenshot for the user guide: the part that shows the workflow, not the page around it.
	 * A tall window for it, scrolled to the top, so that the sticky header does not cover it. */
	const shot = async (name, sel) => {
		if (!sel) return page.screenshot({ path: join(artifacts, `${name}.png`) });
		await page.setViewportSize({ width: 1280, height: 2400 });
		await page.evaluate(() => window.scrollTo(0, 0));
		await page.locator(sel).first().screenshot({ path: join(artifacts, `${name}.png`) });
		await page.setViewportSize({ width: 1280, height: 900 });
	};
	const go = async (hash) => {
		await page.evaluate((h) => { location.hash = h; }, hash);
	};
	const scan = async (value) => {
		await page.locator('#scan').fill(value);
		await page.locator('#scan').press('Enter');
	};
	const beeps = async () => Number(await page.locator('#flash').getAttribute('data-beeps') || 0);
	const scanFor = async (value) => {
		const b = await beeps();
		await scan(value);
		await page.locator(`#flash[data-beeps="${b + 1}"]`).waitFor();
		return { cls: await page.locator('#flash').getAttribute('class'), text: await page.locator('#flash').textContent() };
	};
	const flashText = async (cls) => {
		await page.locator(`#flash.${cls}`).waitFor();
		return page.locator('#flash').textContent();
	};
	const tubeOf = (barcode) => w.tubes.find((t) => t.barcode === barcode).id;
	const request = async (id) => (await api('GET', `/api/v1/requests/${id}`)).json;

	await journey(async () => {
		await page.goto(url + '/');
		await page.locator('#user').waitFor();
		await page.fill('#user', 'mgr1');
		await page.fill('#pass', PASSWORD);
		await page.click('form.login button[type=submit]');
		await page.locator('#who').getByText('mgr1 (manager)').waitFor();
		for (const href of ['#/mgr/people', '#/mgr/studies', '#/mgr/requests', '#/mgr/shipments'])
			ok(await page.locator(`#nav a[href="${href}"]`).isVisible() && await page.locator(`a.tile[href="${href}"]`).count() === 1,
				`a manager has ${href} in the menu and on the home page`);

		// === participants: find, create, correct ==========================
		await page.click('#nav a[href="#/mgr/people"]');
		await page.locator('section.people tr[data-code="P-MG-1"]').waitFor();
		await page.fill('#people-q', 'mg-');
		ok(await page.locator('section.people tbody tr').count() === 6, 'the participant list filters as the manager types (6 of "mg-")',
			await page.locator('section.people tbody tr').count());
		await shot('mgr-people', 'section.people');
		await page.fill('#pc-code', 'P-MG-NEW');
		await page.selectOption('#pc-sex', 'female');
		await page.fill('#pc-born', '1970');
		await page.selectOption('#pc-dx', 'DM');
		await page.click('#people-create button[type=submit]');
		await page.locator('section.person[data-code="P-MG-NEW"]').waitFor();
		ok(await page.locator('#pp-consent-biobank').textContent() === 'none recorded', 'a new participant opens, its consent "none recorded"');
		await page.click('section.person a[href="#/mgr/people"]');
		await page.fill('#pc-code', 'p-mg-new');
		await page.click('#people-create button[type=submit]');
		const dup = await page.locator('#people-create .formerror', { hasText: /\S/ }).textContent();
		ok(/already has this participant, as P-MG-NEW/.test(dup), 'the same code in another case is refused, naming the one registered', dup);
		await go('#/mgr/people/MASC/P-MG-NEW');
		await page.locator('#pp-edit').waitFor();
		await page.fill('#pe-born', '1971');
		const before = posts.length;
		await page.click('#pp-edit button[type=submit]');
		ok(/Say why/.test(await page.locator('#pp-edit .formerror').textContent()) && posts.length === before,
			'a correction without a reason is refused in the page, nothing sent');
		await page.fill('#pe-reason', 'transcribed from the wrong consent form');
		await page.click('#pp-edit button[type=submit]');
		await page.locator('#pp-born', { hasText: '1971' }).waitFor();
		ok(true, '  with a reason it is saved: the record reads 1971');

		// === requests: reject, approve, allocate, review ==================
		await page.click('#nav a[href="#/mgr/requests"]');
		await page.locator(`#req-list tr[data-request="${w.r2}"]`).waitFor();
		ok(await page.locator(`#req-list tr[data-request="${w.r1}"]`).count() === 1, 'both submitted requests are listed under "submitted"');
		await page.click(`#req-list tr[data-request="${w.r2}"] a`);
		await page.locator('#rq-decide').waitFor();
		let sent = posts.length;
		await page.click('#rq-reject');
		ok(/needs a reason/.test(await page.locator('#rq-decide .formerror').textContent()) && posts.length === sent,
			'a rejection without a reason is refused in the page, nothing sent');
		ok((await request(w.r2)).status === 'submitted', '  the request is still submitted');
		await page.fill('#rq-reason', 'no ethics approval for serum');
		await page.click('#rq-reject');
		await page.locator('section.request[data-status="rejected"]').waitFor();
		ok(/no ethics approval/.test(await page.locator('#rq-decision').textContent()), '  with a reason it is rejected, the reason shown');
		await go(`#/mgr/request/${w.r1}`);
		await page.locator('#rq-approve').waitFor();
		sent = posts.filter((p) => p.endsWith('/approve')).length;
		await page.dblclick('#rq-approve');
		await page.locator('section.request[data-status="approved"]').waitFor();
		await page.waitForTimeout(300);
		ok(posts.filter((p) => p.endsWith('/approve')).length - sent === 1, 'approve double-clicked: one approval sent',
			posts.filter((p) => p.endsWith('/approve')).join(' '));
		ok(await page.locator('#flash.error').count() === 0, '  and no error shown');
		await page.click('#rq-allocate');
		await page.locator('section.request[data-status="allocated"] #rq-tubes').waitFor();
		let q = await request(w.r1);
		ok(q.specimens.filter((s) => s.state === 'reserved').length === 3, 'allocation reserves 3 tubes, one per donor');
		const [first, second, third] = q.specimens.map((s) => s.id);
		const onR1 = new Set(q.specimens.map((s) => s.participant));
		await shot('mgr-request-allocation', '#rq-allocation');
		// a swap refused: the replacement is not in storage; nothing is dropped
		await page.fill(`#rq-tubes tr[data-specimen="${second}"] .rq-swap-id`, 'TB-MG-NS');
		await page.press(`#rq-tubes tr[data-specimen="${second}"] .rq-swap-id`, 'Enter');
		const refused = await flashText('error');
		ok(/cannot replace/.test(refused) && /Nothing was changed/.test(refused), 'a swap for a tube that is not stored is refused', refused);
		q = await request(w.r1);
		ok(q.specimens.some((s) => s.id === second && s.state === 'reserved'), '  and the tube it was to replace is still reserved');
		// a swap made, with a tube of a donor the allocation left out (not P-MG-5, kept for later)
		const spare = w.tubes.find((t) => t.type === 'serum' && !onR1.has(t.donor) && t.donor !== 'P-MG-5' && t.barcode.endsWith('0'));
		await page.fill(`#rq-tubes tr[data-specimen="${second}"] .rq-swap-id`, spare.barcode);
		await page.press(`#rq-tubes tr[data-specimen="${second}"] .rq-swap-id`, 'Enter');
		await page.locator(`#rq-tubes tr[data-specimen="${spare.id}"]`).waitFor();
		ok(/replaces/.test(await page.locator('#flash').textContent()), `a swap for ${spare.barcode}: it replaces the old tube`);
		await page.click(`#rq-tubes tr[data-specimen="${first}"] button.rq-drop`);
		await page.locator(`#rq-tubes tr[data-specimen="${first}"]`).filter({ hasText: 'released' }).waitFor();
		q = await request(w.r1);
		ok(q.specimens.filter((s) => s.state === 'reserved').map((s) => s.id).sort().join() === [spare.id, third].sort().join(),
			'  one tube dropped: the request holds the swapped-in tube and the third', JSON.stringify(q.specimens.map((s) => [s.id, s.state])));
		fact('swapped_in', spare.id);
		fact('dropped', first);
		fact('swapped_out', second);

		// === participants: a withdrawal that blocks a reserved tube =========
		const donor = spare.donor;
		const sibling = w.tubes.find((t) => t.donor === donor && t.id !== spare.id);
		await go(`#/mgr/people/MASC/${donor}`);
		await page.locator('#pp-consent').waitFor();
		await page.selectOption('#pk-scope', 'biobank');
		await page.selectOption('#pk-status', 'withdrawn');
		await page.fill('#pk-date', '2026-11-30');
		await page.fill('#pk-version', 'v2');
		sent = posts.length;
		await page.click('#pp-record');
		await page.locator('#pp-before').waitFor();
		ok(posts.length === sent, 'recording a withdrawal first shows its effect, nothing sent');
		const beforeText = await page.locator('#pp-before').textContent();
		ok(/2 tubes will be blocked/.test(beforeText) && /1 will be taken off/.test(beforeText), '  2 tubes will be blocked, 1 taken off a request', beforeText);
		ok(new RegExp(`taken off request #${w.r1}`).test(await page.locator(`#pp-before tr[data-specimen="${spare.id}"]`).textContent()),
			`  the reserved tube is named, with request #${w.r1}`);
		await shot('mgr-withdraw-before', '#pp-consent');
		await page.click('#pp-record');
		await page.locator('#pp-after').waitFor();
		const afterText = await page.locator('#pp-after').textContent();
		ok(/2 tubes were blocked/.test(afterText) && /1 were taken off/.test(afterText), 'confirmed: 2 tubes blocked and 1 taken off, as the server did', afterText);
		ok(/blocked/.test(await page.locator(`#pp-after tr[data-specimen="${sibling.id}"]`).textContent()), '  each tube shown as blocked');
		await shot('mgr-withdraw-after', '#pp-after');
		fact('withdrawn_donor_tubes', `${spare.id},${sibling.id}`);

		// === requests: pick list, shipment from the allocation ===============
		await must('POST', `/api/v1/requests/${w.r1}/picks`, { specimen: third }, 200);
		await go(`#/mgr/request/${w.r1}`);
		await page.locator('#rq-notices').waitFor();
		ok(/taken off: a donor withdrew consent/.test(await page.locator('#rq-notices').textContent()), 'the request tells of the tube the withdrawal took off');
		const [pdf] = await Promise.all([page.waitForEvent('download'), page.click('#rq-pick-pdf')]);
		const pdfBytes = readFileSync(await pdf.path());
		ok(pdfBytes.subarray(0, 5).toString() === '%PDF-' && pdf.suggestedFilename() === `pick-list-${w.r1}.pdf`, 'the pick list downloads as a PDF to print',
			pdf.suggestedFilename());
		sent = posts.length;
		await page.click('#rq-ship button[type=submit]');
		ok(/destination/.test(await page.locator('#rq-ship .formerror').textContent()) && posts.length === sent, 'a shipment without a destination is refused in the page');
		await page.fill('#rq-dest', 'Proteomics core, Uppsala');
		await page.click('#rq-ship button[type=submit]');
		await page.locator('section.shipment[data-status="draft"]').waitFor();
		const fromRequest = await page.locator('section.shipment').getAttribute('data-shipment');
		ok(await page.locator(`#sh-manifest tr[data-specimen="${third}"]`).count() === 1, 'the picked tube is on a draft shipment naming the request');
		fact('request_shipment', fromRequest);

		// === shipments: open, scan out, dispatch, receive back ===============
		await page.click('#nav a[href="#/mgr/shipments"]');
		await page.locator('#ship-create').waitFor();
		await page.fill('#sc-dest', 'Genomics lab, Lund');
		await page.selectOption('#sc-cond', 'ln2_dry_shipper');
		await page.click('#ship-create button[type=submit]');
		await page.locator('section.shipment[data-status="draft"] #sh-scanout').waitFor();
		const shipment = await page.locator('section.shipment').getAttribute('data-shipment');
		let f = await scanFor('TB-MG-60');
		ok(f.cls === 'ok' && /added/.test(f.text), 'scanned out: a tube is added to the manifest', f.text);
		await page.locator(`#sh-manifest tr[data-specimen="${tubeOf('TB-MG-60')}"]`).waitFor();
		f = await scanFor(sibling.barcode);
		ok(f.cls === 'consent' && /withdrew/.test(f.text), 'a tube whose donor withdrew consent is refused, in the consent colour and sound', f.text);
		f = await scanFor('TB-MG-61');
		ok(f.cls === 'ok', 'a second tube is added', f.text);
		await page.locator('#sh-manifest tbody tr').nth(1).waitFor();
		ok(await page.locator('#sh-manifest tbody tr').count() === 2, '  the manifest has the 2 tubes, not the refused one');
		await page.click('#sh-dispatch');
		ok(/Press again/.test(await page.locator('#sh-dispatch').textContent()), 'dispatch asks to be pressed again');
		await page.click('#sh-dispatch');
		await page.locator('section.shipment[data-status="dispatched"]').waitFor();
		f = await scanFor('TB-MG-60');
		ok(f.cls === 'ok' && /1 to go/.test(f.text), 'received back: a tube that arrived is checked off', f.text);
		f = await scanFor('TB-MG-99');
		ok(f.cls === 'elsewhere' && /not on this shipment/.test(f.text), 'a tube not on the manifest is said so', f.text);
		const disc = await page.locator('#sh-discrepancies').textContent();
		ok(/1 not scanned, 1 not on the manifest/.test(disc) && disc.includes(tubeOf('TB-MG-61')), '  the discrepancies name the missing and the unexpected', disc);
		await page.selectOption('#sr-cond', 'thawed');
		await shot('mgr-shipment-receive', 'section.shipment');
		await page.click('#sh-receipt button[type=submit]');
		await page.locator('section.shipment[data-status="received"]').waitFor();
		ok(/missing/.test(await page.locator('#sh-receipt-notes').textContent()), 'the receipt is recorded with its discrepancies');
		fact('shipment', shipment);
		fact('missing', tubeOf('TB-MG-61'));

		// === protocol and completeness =======================================
		await must('PUT', '/api/v1/studies/MASC/protocol', { reason: 'first version', expected_version: 0, timepoints: [
			{ code: 'pk', label: 'Peak', order: 0, day_offset: 0, window_days: 7, specimens: [{ type: 'serum', aliquots: 2 }] },
			{ code: 'm6', label: 'Month 6', order: 1, day_offset: 182, window_days: 14, specimens: [{ type: 'serum', aliquots: 1 }] }] }, 200);
		await page.click('#nav a[href="#/mgr/studies"]');
		await page.click('a[href="#/mgr/study/MASC"]');
		await page.locator('#st-heat').waitFor();
		ok(/Version 1/.test(await page.locator('#st-version').textContent()), 'the study shows its protocol in force');
		ok(await page.locator('.heat-legend li').count() === 5 && /complete/.test(await page.locator('.heat-legend').textContent()),
			'the heat map has a legend naming each state beside its sign');
		const cell = page.locator('#st-heat button[data-participant="P-MG-5"][data-timepoint="pk"]');
		ok(await cell.getAttribute('data-state') === 'complete' && (await cell.textContent()).startsWith('✔'),
			'P-MG-5 at pk is complete, with its sign', await cell.textContent());
		ok(await page.locator('#st-heat button[data-participant="P-MG-6"][data-timepoint="pk"]').getAttribute('data-state') === 'missing',
			'P-MG-6 (plasma only) at pk is missing');
		await shot('mgr-study-heatmap', 'section.card:has(#st-map)');
		// from the keyboard: Tab onto the cell, a visible focus ring, Enter opens it
		await page.locator('#st-heat button').first().focus();
		let reached = false;
		for (let i = 0; i < 40 && !reached; i++) {
			reached = await cell.evaluate((el) => el === document.activeElement);
			if (!reached) await page.keyboard.press('Tab');
		}
		const ring = await cell.evaluate((el) => getComputedStyle(el).outlineStyle !== 'none' && parseFloat(getComputedStyle(el).outlineWidth) >= 2);
		ok(reached && ring, 'a heat-map cell is reached with Tab, with a visible focus ring');
		await page.keyboard.press('Enter');
		await page.locator('#st-tubes').waitFor();
		ok(await page.locator('#st-tubes tbody tr').count() === 4, 'a cell opens its tubes (3 stored, 1 never stored)', await page.locator('#st-tubes tbody tr').count());
		await page.selectOption('#sf-state', 'complete');
		await page.locator('#st-heat button[data-state="missing"]').first().waitFor({ state: 'detached' });
		ok(await page.locator('#st-heat button:not([data-state="complete"])').count() === 0, 'filtered by state: only complete cells');
		const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#st-csv')]);
		const csvText = readFileSync(await csv.path(), 'utf8');
		ok(csvText.startsWith('participant,timepoint,label') && csvText.includes('P-MG-5,pk') && !/,missing,/.test(csvText),
			'the CSV downloads with the same filter', csvText.split('\n').slice(0, 2).join(' | '));
		await page.click('#st-editor summary');
		const windows = page.locator('#st-edit fieldset.tp .tp-window');
		await windows.nth(1).fill('30');
		sent = posts.length;
		await page.click('#pe-save');
		ok(/Say why/.test(await page.locator('#st-edit .formerror').textContent()) && posts.length === sent, 'a protocol change without a reason is refused in the page');
		await page.fill('#pe-reason', 'amendment 1: wider month-6 window');
		await page.click('#pe-save');
		await page.locator('#st-version', { hasText: 'Version 2' }).waitFor();
		ok(/± 30/.test(await page.locator('#st-protocol').textContent()), '  with a reason it is saved as version 2, the new window shown');

		// --- in French, and two managers at once --------------------------------
		await page.selectOption('#lang', 'fr');
		await page.locator('html[lang="fr"]').waitFor();
		await page.locator('#st-heat').waitFor();
		ok(/complet/.test(await page.locator('.heat-legend').textContent()) && /Complétude/.test(await page.locator('section.card:has(#st-map) h2').textContent()),
			'in French the heat map and its legend are in French');
		await must('PUT', '/api/v1/studies/MASC/protocol', { reason: 'amendment 2 by another manager', expected_version: 2, timepoints: [
			{ code: 'pk', label: 'Peak', order: 0, day_offset: 0, window_days: 7, specimens: [{ type: 'serum', aliquots: 2 }] },
			{ code: 'm6', label: 'Month 6', order: 1, day_offset: 182, window_days: 21, specimens: [{ type: 'serum', aliquots: 1 }] }] }, 200);
		await page.click('#st-editor summary');
		await page.fill('#pe-reason', 'une modification faite sur la version 2');
		await page.click('#pe-save');
		const clash = await page.locator('#st-edit .formerror', { hasText: /\S/ }).textContent();
		ok(/Un autre responsable a enregistré la version 3/.test(clash), 'a save over another manager\'s version is refused, in French, naming it', clash);
		await shot('mgr-study-fr', 'section.card:has(#st-map)');

	}, { consoleErrors, failureShot: () => shot('mgr-failure'), close });
}

main().catch(crashed);
