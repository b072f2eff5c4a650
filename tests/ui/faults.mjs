// faults.mjs — the bench faults of issue 19, each as a technician meets it:
// a double click and a retry after a timeout on Register, a full 96-tube
// box with tubes checked out, a wedge scan after an error in the card's Move
// form, times of a site in Paris, the custody history, consent never
// recorded, probing requests, the Print form with and without a printer.
// Each check failed on the page before issue 19.

export const FULL_BOX = 'FULL96';
const OUT = 4; /* tubes of FULL96 checked out */

/* The world for these checks: a full 8×12 box, four of its tubes checked out
 * (their homes drawn on the grid), and two participants of their own. */
export async function world96(must, rack, fact) {
	await must('POST', '/api/v1/boxes', { barcode: FULL_BOX, rows: 8, cols: 12, parent: rack.id }, 201);
	const ids = [];
	for (let i = 0; i < 96; i += 12) {
		const batch = await Promise.all(Array.from({ length: 12 }, (_, k) => must('POST', '/api/v1/specimens', {
			participant: { study: 'MASC', code: 'P002' }, type: 'plasma', timepoint: 'm6',
			collected_at: '2026-01-15T08:00:00Z', tube_barcode: `FULL-${String(i + k).padStart(2, '0')}`,
		}, 201)));
		ids.push(...batch.map((s) => s.id));
	}
	const rows = 'ABCDEFGH';
	await must('POST', `/api/v1/boxes/${FULL_BOX}/placements`, {
		placements: ids.map((id, i) => ({ position: `${rows[Math.floor(i / 12)]}${(i % 12) + 1}`, specimen: id })),
	}, 200);
	for (const id of ids.slice(0, OUT)) await must('POST', `/api/v1/specimens/${id}/checkout`, { reason: 'ELISA run' }, 200);
	fact('full_out', ids.slice(0, OUT).join(','));
	for (const code of ['P-UI-DBL', 'P-UI-RTY'])
		await must('POST', '/api/v1/participants', { study: 'MASC', code, sex: 'male', birth_year: 1980, diagnosis: 'DM' }, 201);
	await must('POST', '/api/v1/participants/MASC/P002/consents', { scope: 'biobank', status: 'given',
		date: '2025-11-03', version: 'v2' }, 201);
}

/* The shape of a formatted time: digits as 9, so that two times compare by format. */
const shape = (s) => s.trim().replace(/\d/g, '9');

/* Whether locator shows within ms (a check that fails says so instead of stopping the run). */
async function soon(locator, ms = 5000) {
	try {
		await locator.waitFor({ timeout: ms });
		return true;
	} catch {
		return false;
	}
}

export async function faults(T) {
	const { page, ok, api, scan, fact, url, plainUrl, requests, login, STOCK } = T;
	const flashKind = async () => ({
		cls: await page.locator('#flash').getAttribute('class'),
		beep: await page.locator('#flash').getAttribute('data-last-beep'),
		text: await page.locator('#flash').textContent(),
	});
	const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);

	await login(page, url, 'mgr1');

	// --- no probing: no request was made only to find out whether printing exists
	ok(!requests.some((u) => u.endsWith('/api/v1/print')), 'no card or registration sent a probing POST /api/v1/print',
		requests.filter((u) => u.endsWith('/api/v1/print')).length);

	// --- Register: a double click registers once --------------------------
	const registered = async (code) => {
		const p = (await api('GET', `/api/v1/participants/MASC/${code}`)).json;
		return (p.specimen_counts || []).reduce((n, c) => n + Number(c.count), 0);
	};
	await page.click('#nav a[href="#/register"]');
	await page.locator('#r-participant').waitFor();
	await page.selectOption('#r-study', 'MASC');
	await page.fill('#r-participant', 'P-UI-DBL');
	await page.selectOption('#r-type', 'serum');
	await page.fill('#r-timepoint', 'baseline');
	const posts = [];
	const onReq = (r) => {
		if (r.method() === 'POST' && r.url().endsWith('/api/v1/specimens')) posts.push(r.headers()['idempotency-key']);
	};
	page.on('request', onReq);
	await page.dblclick('#r-submit');
	await page.locator('li.newid').first().waitFor();
	await page.waitForTimeout(1500); /* a second registration, if one was sent, has landed */
	ok(await registered('P-UI-DBL') === 1, 'Register double-clicked: one specimen registered', `${await registered('P-UI-DBL')} registered, keys ${posts.join(' ')}`);
	ok(new Set(posts).size <= 1, '  every request of that form carried the same Idempotency-Key', posts.join(' '));

	// --- Register: a retry after a timeout registers once ------------------
	posts.length = 0;
	await page.fill('#r-participant', 'P-UI-RTY');
	let dropped = 0;
	await page.route('**/api/v1/specimens', async (route) => {
		if (dropped++ === 0) {
			await route.fetch(); /* the server registers it... */
			await route.abort('timedout'); /* ...and the answer never reaches the bench */
		} else {
			await route.continue();
		}
	});
	await page.click('#r-submit');
	await soon(page.locator('#flash.error'), 15000);
	ok(await registered('P-UI-RTY') === 1, 'a registration whose answer timed out was recorded by the server',
		await registered('P-UI-RTY'));
	ok(await focused() === 'scan', '  the error is said and the scan bar has the focus', await focused());
	await page.click('#r-submit');
	await page.locator('li.newid').first().waitFor();
	await page.waitForTimeout(500);
	await page.unroute('**/api/v1/specimens');
	ok(await registered('P-UI-RTY') === 1, '  pressing Register again after the timeout registers nothing more', await registered('P-UI-RTY'));
	ok(posts.length === 2 && posts[0] === posts[1], '  the retry sent the same Idempotency-Key', posts.join(' '));
	page.off('request', onReq);

	// --- a full 96-tube box in at most 3 requests ---------------------------
	const before = requests.length;
	await scan(FULL_BOX);
	await page.locator(`section.boxview[data-box="${FULL_BOX}"] .cell.out`).nth(OUT - 1).waitFor();
	await page.waitForTimeout(1500);
	const asked = requests.slice(before).filter((u) => u.includes('/api/v1/'));
	ok(asked.length <= 3, `a full 96-tube box with ${OUT} tubes checked out opens in at most 3 requests`, `${asked.length}: ${asked.join(' ')}`);
	ok(await page.locator('.grid .cell.occ').count() === 96 - OUT, `  its grid shows ${96 - OUT} tubes in place`);
	const cells = await page.locator('.cell.out .sid').evaluateAll((els) => els.map((el) => {
		const cs = getComputedStyle(el);
		return { text: el.textContent, lines: Math.round(el.getBoundingClientRect().height / parseFloat(cs.lineHeight || cs.fontSize)),
			clipped: el.scrollWidth > el.clientWidth + 1 };
	}));
	ok(cells.length === OUT && cells.every((c) => /^[0-9A-Z]{8}$/.test(c.text) && c.lines <= 1 && !c.clipped),
		'  each checked-out cell shows its tube\'s whole ID on one line', JSON.stringify(cells));
	const homes = T.factValue('full_out').split(',');
	ok(await page.locator(`.cell.out[data-pos="A1"] .sid`).textContent() === homes[0], '  the home of a checked-out tube names it (A1)');
	await T.shot('box-full');

	// --- focus after an error in the card's Move form ----------------------
	const stock = (await api('GET', `/api/v1/scan/${STOCK}`)).json.item.id;
	await scan(STOCK);
	await page.locator(`article.specimen[data-id="${stock}"]`).waitFor();
	await page.click('button[data-action="move"]');
	await page.fill('#act-box', 'BOX-A');
	await page.fill('#act-pos', 'A1');
	await page.press('#act-pos', 'Enter'); /* the technician submits from the field */
	await page.locator('#flash.error').waitFor();
	ok(/A1/.test(await page.locator('#flash').textContent()), 'Move to a taken position: refused, naming it', await page.locator('#flash').textContent());
	const after = await focused();
	ok(after === 'scan', '  the scan bar has the focus again', after);
	await page.keyboard.type(FULL_BOX);
	await page.keyboard.press('Enter');
	ok(await soon(page.locator(`section.boxview[data-box="${FULL_BOX}"]`), 10000),
		'  so the next wedge scan opens what it scanned instead of landing in Position',
		`Position holds "${after === 'act-pos' ? await page.inputValue('#act-pos') : ''}"`);

	// --- times of a site in Europe/Paris, one format, zone named ------------
	await scan(STOCK);
	await page.locator(`article.specimen[data-id="${stock}"]`).waitFor();
	const collected = await page.locator('#f-collected, .facts dt:has-text("Collected") + dd').first().textContent();
	ok(/10:30/.test(collected) && /(CET|GMT\+1|UTC\+1)/.test(collected),
		'collected 09:30 UTC is shown at 10:30, Paris time, with the zone named', collected);
	const histTimes = await page.locator('.timeline time').allTextContents();
	ok(histTimes.length > 0 && histTimes.every((x) => shape(x) === shape(collected)),
		'  the history\'s times in the same format', `${collected} | ${histTimes.join(' | ')}`);
	await scan(FULL_BOX);
	await page.locator(`section.boxview[data-box="${FULL_BOX}"]`).waitFor();
	await page.click('#fill-toggle');
	await scan('A5'); /* taken: the refusal is logged */
	await page.locator('#fill-log li').first().waitFor();
	const logTime = await soon(page.locator('#fill-log li time').first(), 2000)
		? await page.locator('#fill-log li time').first().textContent() : await page.locator('#fill-log li').first().textContent();
	ok(shape(logTime) === shape(collected), '  and the fill log\'s (not 12-hour, not without a zone)', `${logTime} vs ${collected}`);
	await page.click('#fill-toggle');
	ok(/Europe\/Paris/.test(await page.locator('#zone').textContent()), '  the page names the site\'s zone', await page.locator('#zone').textContent());

	// --- consent as recorded ------------------------------------------------
	await scan(STOCK);
	await page.locator(`article.specimen[data-id="${stock}"]`).waitFor();
	const none = page.locator('#f-consent');
	ok(await none.getAttribute('data-consent') === 'none' && /none recorded/.test(await none.textContent()) &&
		!/in force/.test(await none.textContent()), 'a participant with no consent recorded: "none recorded", not "in force"', await none.textContent());
	await scan('FULL-10');
	await soon(page.locator('article.specimen #f-consent[data-consent="given"]'));
	const given = await page.locator('#f-consent').textContent();
	ok(/given/.test(given) && /v2/.test(given) && /2025/.test(given), '  a recorded consent says given, with its version and date', given);

	// --- the Print form: this site has a printer ------------------------------
	if (ok(await soon(page.locator('form.print select')), 'a site with one printer: the card offers printing to it')) {
		const printed = await page.locator('article.specimen').getAttribute('data-id');
		await page.click('form.print button[type=submit]');
		ok(await soon(page.locator('#flash.ok', { hasText: 'bench-1' }), 15000), '  printing says where the label went',
			await page.locator('#flash').textContent());
		fact('printed', printed);
	}

	// --- a site without printers: no Print form, and no probe ---------------
	const plain = await page.context().newPage();
	const plainReqs = [];
	plain.on('request', (r) => plainReqs.push(`${r.method()} ${r.url()}`));
	await login(plain, plainUrl, 'mgr1');
	await plain.locator('#scan').fill('FULL-10');
	await plain.locator('#scan').press('Enter');
	await plain.locator('article.specimen img.label').waitFor();
	await plain.waitForTimeout(500);
	ok(await plain.locator('form.print').count() === 0, 'a site with no printer configured shows no Print form');
	ok(!plainReqs.some((r) => r.includes('/api/v1/print')), '  and sends no request to find out', plainReqs.filter((r) => r.includes('print')).join(' '));
	const utc = await plain.locator('#f-collected, .facts dt:has-text("Collected") + dd').first().textContent();
	ok(/08:00/.test(utc) && /UTC/.test(utc), '  its times are in its own zone, UTC, named', utc);
	await plain.close();
}
