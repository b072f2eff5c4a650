// picking.mjs — a technician picks a specimen request's tubes at the bench
// page, in Debian's headless chromium driven by playwright-core, against a
// real biobankd: the request is filed by a researcher and approved and
// allocated by the admin through the API; the technician opens it from the
// home page, scans a tube that is not on the list (refused, naming the one
// expected), mistypes an ID, scans the right tubes by their barcodes, one of
// them twice, and finishes the list; then opens a tube's card, which shows
// its SPREC code.
//
// usage: node picking.mjs URL ADMIN_TOKEN ARTIFACT_DIR FIXTURES_DIR
// Prints TAP and "# fact NAME=VALUE" lines that test_ui.c checks against
// the database (built as test_ui_picking).
import { join } from 'node:path';
import { driverArgs, ok, fact, journey, crashed, apiOf, launchProfile, consoleErrorsOf } from './driver.mjs';

const { url, adminToken, artifacts } = driverArgs('picking.mjs');
const { api, must } = apiOf(url, adminToken);

const PASSWORD = 'bench-password-1';
const SPREC = 'SER-SST-A-B-N-B-A';

/* Three donors with two tubes each of serum at timepoint "pk": the second of
 * each is allocated (the first stays, so neither is a donor's last). */
async function world() {
	await must('POST', '/api/v1/users', { username: 'picker', password: PASSWORD, role: 'technician' }, 201);
	await must('POST', '/api/v1/users', { username: 'rhea', password: PASSWORD, role: 'researcher' }, 201);
	const tubes = [];
	for (let i = 1; i <= 3; i++) {
		const code = `P-PK-${i}`;
		await must('POST', '/api/v1/participants', { study: 'MASC', code, sex: i % 2 ? 'female' : 'male',
			birth_year: 1960 + i, diagnosis: 'DM' }, 201);
		await must('POST', `/api/v1/participants/MASC/${code}/consents`, { scope: 'biobank',
			status: 'given', date: '2026-01-05', version: 'v2' }, 201);
		for (let k = 0; k < 2; k++) {
			const barcode = `TB-PK-${i}${k}`;
			const id = (await must('POST', '/api/v1/specimens', {
				participant: { study: 'MASC', code }, type: 'serum', timepoint: 'pk',
				collected_at: '2026-03-01T09:30:00Z', quantity: { value: 0.5, unit: 'mL' },
				tube_barcode: barcode, ...(i === 1 && k === 1 ? { sprec: SPREC } : {}),
			}, 201)).id;
			// Donor 3's tubes in BOX-A, the others' in BOX-B: the list is sorted by box.
			await must('POST', `/api/v1/specimens/${id}/store`, { box: i === 3 ? 'BOX-A' : 'BOX-B',
				position: `${'CDE'[i - 1]}${k + 1}` }, 200);
			tubes.push({ id, barcode, donor: i });
		}
	}
	const rhea = (await must('POST', '/api/v1/sessions', { username: 'rhea', password: PASSWORD }, 201)).token;
	const q = await must('POST', '/api/v1/requests', { title: 'Serum for a cytokine panel', project: 'CYTO',
		ethics_ref: 'EPN 2026-0101', mta_ref: 'MTA-9', purpose: 'non-genetic',
		criteria: { study: 'MASC', timepoints: ['pk'], types: ['serum'], quantity: { value: 0.2, unit: 'mL' },
			participants: 3 } }, 201, rhea);
	await must('POST', `/api/v1/requests/${q.id}/approve`, { reason: 'ethics on file' }, 200);
	const alloc = await must('POST', `/api/v1/requests/${q.id}/allocate`, undefined, 200);
	return { request: q.id, tubes, reserved: alloc.specimens.map((s) => s.id) };
}

async function main() {
	const w = await world();
	const list = (await must('GET', `/api/v1/requests/${w.request}/pick-list`, undefined, 200)).items;
	const onList = list.map((x) => x.specimen);
	const stranger = w.tubes.find((t) => !onList.includes(t.id));
	fact('request', w.request);
	fact('picked', onList.join(','));
	fact('stranger', stranger.id);
	const sprecTube = w.tubes.find((t) => t.donor === 1 && t.barcode.endsWith('1'));
	fact('sprec', sprecTube.id);

	const { page, close } = await launchProfile({ sound: true });
	const consoleErrors = consoleErrorsOf(page);
	const posts = [];
	page.on('request', (r) => r.method() === 'POST' && posts.push(r.url()));
	const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`) });
	const scan = async (value) => {
		await page.locator('#scan').fill(value);
		await page.locator('#scan').press('Enter');
	};
	const beeps = async () => Number(await page.locator('#flash').getAttribute('data-beeps') || 0);
	/* Scan and wait for the banner the scan brings: each answer beeps once (a
	 * selector, not waitForFunction, which the page's CSP refuses to evaluate). */
	const scanFor = async (value) => {
		const b = await beeps();
		await scan(value);
		await page.locator(`#flash[data-beeps="${b + 1}"]`).waitFor();
		return {
			cls: await page.locator('#flash').getAttribute('class'),
			text: await page.locator('#flash').textContent(),
		};
	};
	const picked = async () => (await api('GET', `/api/v1/requests/${w.request}`)).json.allocation.picked;

	await journey(async () => {
		await page.goto(url + '/');
		await page.locator('#user').waitFor();
		await page.fill('#user', 'picker');
		await page.fill('#pass', PASSWORD);
		await page.click('form.login button[type=submit]');
		await page.locator('#who').getByText('picker (technician)').waitFor();

		// --- from the home page to the request's pick list -----------------
		await page.locator('a.tile[href="#/requests"]').click();
		await page.locator(`section.picks tr[data-request="${w.request}"]`).waitFor();
		ok(true, 'a technician sees the allocated request among the requests to pick');
		ok(/0 of 3/.test(await page.locator(`tr[data-request="${w.request}"]`).textContent()), '  with 0 of its 3 tubes picked');
		await page.locator(`tr[data-request="${w.request}"] a`).click();
		await page.locator('section.picks tbody tr').nth(2).waitFor();
		const rows = await page.locator('section.picks tbody tr').evaluateAll((els) => els.map((e) => e.dataset.specimen));
		ok(rows.join(',') === onList.join(','), 'the pick list shows the 3 reserved tubes in picking order', rows.join(','));
		ok((await page.locator('section.picks tbody tr td.place').first().textContent()).startsWith('BOX-A'),
			'  BOX-A\'s tube first (the box that sorts first in the one freezer)');
		ok((await page.locator('#pick-next').textContent()).includes(list[0].specimen), '  "Next:" names the first tube');
		await shot('pick-list');

		// --- the wrong tube --------------------------------------------------
		let f = await scanFor(stranger.barcode);
		ok(f.cls === 'error' && f.text.includes('Wrong tube') && f.text.includes(list[0].specimen),
			'a tube not on the list is refused, naming the one expected', f.text);
		ok(f.text.includes(`${list[0].box} ${list[0].position}`), '  and where to take it from', f.text);
		ok(await page.locator(`tr.expected[data-specimen="${list[0].specimen}"]`).count() === 1, '  the expected line is framed');
		ok(await picked() === 0, '  nothing was picked');
		await shot('pick-wrong-tube');

		// --- a misread ID: said by the page, nothing sent -------------------
		const before = posts.length;
		const bad = list[0].specimen.slice(0, 7) + (list[0].specimen[7] === '0' ? '1' : '0');
		f = await scanFor(bad);
		ok(f.cls === 'error' && /check character does not match/.test(f.text), 'a misread ID is refused by the page', f.text);
		ok(posts.length === before, '  before anything is sent');

		// --- the right tubes, by their barcodes -----------------------------
		const barcodeOf = (id) => w.tubes.find((t) => t.id === id).barcode;
		f = await scanFor(barcodeOf(list[0].specimen));
		ok(f.cls === 'ok' && f.text.includes('2 to go'), 'the expected tube scanned by its barcode: picked, 2 to go', f.text);
		await page.locator(`tr.picked[data-specimen="${list[0].specimen}"]`).waitFor();
		ok(true, '  its line is marked picked');
		ok((await page.locator('#pick-next').textContent()).includes(list[1].specimen), '  "Next:" moves on');
		f = await scanFor(barcodeOf(list[0].specimen));
		ok(f.cls === 'error' && /picked already/.test(f.text), 'the same tube scanned twice: "picked already"', f.text);
		// The third before the second: any tube of the list may come out first.
		f = await scanFor(barcodeOf(list[2].specimen));
		ok(f.cls === 'ok' && f.text.includes('1 to go'), 'a later tube of the list is taken out of order', f.text);
		f = await scanFor(list[1].specimen);
		ok(f.cls === 'ok' && /list is done/.test(f.text), 'the last tube, by its ID: the list is done', f.text);
		ok(/Every tube on the list is picked/.test(await page.locator('#pick-next').textContent()), '  and the page says so');
		ok(await picked() === 3, '  the request has its 3 tubes picked');
		await shot('pick-done');

		// --- the card shows the tube's SPREC code ---------------------------
		await page.evaluate((id) => { location.hash = `#/specimen/${id}`; }, sprecTube.id);
		await page.locator('#f-sprec').waitFor();
		ok(await page.locator('#f-sprec').textContent() === SPREC, 'the specimen card shows the SPREC code', SPREC);
		ok(await page.locator('abbr[title*="PREanalytical"]').count() === 1, '  under an explained SPREC heading');
		await shot('card-sprec');

	}, { consoleErrors, failureShot: () => shot('pick-failure'), close });
}

main().catch(crashed);
