// mgrb.mjs — a biobank manager's afternoon on the manager's pages, in
// Debian's headless chromium driven by playwright-core, against a real
// biobankd: the reports (filters, a CSV downloaded and read, the charts and
// their tables), the audit list, the destruction worklist (Destroy pressed
// with nothing ticked, then with no reason, then confirm double-clicked),
// the accounts as an admin (a user made, disabled, a password reset, a
// service token issued, looked for again after its dialog closed, and
// revoked), an import whose file has a bad row, an import of 8,000 rows
// whose bar moves with the server's progress, and the capacity tree.
//
// usage: node mgrb.mjs URL ADMIN_TOKEN ARTIFACT_DIR FIXTURES_DIR
// Prints TAP and "# fact NAME=VALUE" lines that test_ui.c checks against
// the database (built as test_ui_mgrb).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { driverArgs, ok, fact, journey, crashed, apiOf, launchProfile, consoleErrorsOf, axe } from './driver.mjs';

const { url, adminToken, artifacts } = driverArgs('mgrb.mjs');
const { api, must } = apiOf(url, adminToken);

const PASSWORD = 'bench-password-1';

async function tube(code, barcode, box, position) {
	const id = (await must('POST', '/api/v1/specimens', {
		participant: { study: 'MASC', code }, type: 'serum', timepoint: 'baseline',
		collected_at: '2026-03-01T09:30:00Z', quantity: { value: 0.5, unit: 'mL' }, tube_barcode: barcode,
	}, 201)).id;
	if (box) await must('POST', `/api/v1/specimens/${id}/store`, { box, position }, 200);
	return id;
}

/* What the manager finds: tubes in two boxes, one thawed past serum's limit,
 * three of a donor who withdrew, a closed audit with a missing tube. */
async function world() {
	await must('POST', '/api/v1/users', { username: 'maud', password: PASSWORD, role: 'manager' }, 201);
	await must('POST', '/api/v1/users', { username: 'boss', password: PASSWORD, role: 'admin' }, 201);
	await must('POST', '/api/v1/users', { username: 'zebra9', password: PASSWORD, role: 'printer' }, 201);
	const stock = [];
	for (let i = 0; i < 4; i++) stock.push(await tube('P001', `TB-MB-${i}`, 'BOX-A', `C${i + 1}`));
	await must('PUT', '/api/v1/specimen-types/serum/limits', { max_freeze_thaw: 1, max_minutes_out: null, max_excursion_minutes: null }, 200);
	for (let k = 0; k < 2; k++) {
		await must('POST', `/api/v1/specimens/${stock[0]}/checkout`, { reason: 'assay' }, 200);
		await must('POST', `/api/v1/specimens/${stock[0]}/return`, { box: 'BOX-A', position: 'C1', thawed: true }, 200);
	}
	await must('POST', '/api/v1/participants', { study: 'MASC', code: 'P-MB-WD', sex: 'female', birth_year: 1970, diagnosis: 'DM' }, 201);
	await must('POST', '/api/v1/participants/MASC/P-MB-WD/consents', { scope: 'biobank', status: 'given', date: '2026-01-05', version: 'v2' }, 201);
	const withdrawn = [];
	for (let i = 0; i < 3; i++) withdrawn.push(await tube('P-MB-WD', `TB-WD-${i}`, 'BOX-B', `D${i + 1}`));
	await must('POST', '/api/v1/participants/MASC/P-MB-WD/consents', { scope: 'biobank', status: 'withdrawn', date: '2026-06-01', version: 'v2' }, 201);
	// An audit of TINY: its tube is not seen, and is marked lost at the close.
	const lostOne = await tube('P002', 'TB-TINY-001', 'TINY', 'A1');
	const audit = await must('POST', '/api/v1/audits', { box: 'TINY' }, 201);
	await must('POST', `/api/v1/audits/${audit.id}/scans`, { scans: [{ position: 'A1', barcode: null }, { position: 'A2', barcode: null }] }, 200);
	await must('POST', `/api/v1/audits/${audit.id}/close`, { resolutions: [{ specimen: lostOne, action: 'lost' }] }, 200);
	const open = await must('POST', '/api/v1/audits', { box: 'BOX-A' }, 201);
	return { stock, withdrawn, audit: audit.id, openAudit: open.id, lostOne };
}

async function main() {
	const w = await world();
	const { ctx, page, close } = await launchProfile({ downloads: true });
	ctx.setDefaultNavigationTimeout(90000);
	await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
	const consoleErrors = consoleErrorsOf(page);
	const posts = [];
	page.on('request', (r) => r.method() === 'POST' && posts.push(r.url()));
	const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`) });
	const flash = async () => ({ cls: await page.locator('#flash').getAttribute('class'), text: await page.locator('#flash').textContent() });
	const login = async (user) => {
		await page.goto(url + '/');
		await page.locator('body[data-ready="1"]').waitFor({ state: 'attached' });
		await page.evaluate(() => { sessionStorage.clear(); localStorage.setItem('biobank.lang', 'en'); });
		await page.reload();
		await page.locator('#user').waitFor();
		await page.fill('#user', user);
		await page.fill('#pass', PASSWORD);
		await page.click('form.login button[type=submit]');
		await page.locator('section.home').waitFor();
	};

	await journey(async () => {
		await login('maud');
		ok(await page.locator('#nav a[href="#/accounts"]').isHidden(), 'a manager has no Accounts link (admins only)');
		for (const href of ['#/reports', '#/audits', '#/destroy', '#/capacity'])
			ok(await page.locator(`a.tile[href="${href}"]`).count() === 1, `the home page has a ${href} tile for a manager`);

		// --- reports: inventory, with a study filter, its CSV and its charts ----
		await page.click('#nav a[href="#/reports"]');
		await page.locator('#rep-table').waitFor();
		const inv = (await api('GET', '/api/v1/reports/inventory')).json;
		ok((await page.locator('#rep-total').textContent()).includes(String(inv.total)), 'the inventory says the API\'s total', inv.total);
		await page.selectOption('#rep-study', 'MASC');
		await page.click('#rep-apply');
		await page.locator('#rep-table').waitFor();
		const dl = page.waitForEvent('download');
		await page.click('#rep-csv');
		const csv = readFileSync(await (await dl).path(), 'utf8');
		const invMasc = (await api('GET', '/api/v1/reports/inventory?study=MASC')).json;
		const lines = csv.trim().split('\r\n');
		ok(lines[0] === 'study,type,timepoint,status,count' && lines.length === invMasc.items.length + 1,
			'the CSV holds the filtered inventory, a header and a line per row', csv);
		ok(lines.slice(1).every((l) => l.startsWith('MASC,')), '  of MASC only');
		ok(await page.locator('#chart-freezers svg.chart rect').count() > 0, 'a chart of tubes per freezer');
		const alt = page.locator('#chart-freezers > div:has(table)');
		ok(await alt.locator('td').count() > 0 && (await alt.getAttribute('class')) === 'sr',
			'  its figures are also a table, there for a screen reader');
		await page.click('#chart-freezers button.linklike');
		ok(await alt.getAttribute('class') === 'tablewrap', '  which a sighted reader can show');
		await shot('ui-mgr-reports');

		await page.click('nav.tabs a[href="#/reports/freeze-thaw"]');
		await page.locator('#rep-table').waitFor();
		ok((await page.locator('#rep-table').textContent()).includes(w.stock[0]), 'the freeze–thaw report lists the tube thawed twice (serum: 1 allowed)');
		ok(/thawed 2 times \(limit 1\)/.test(await page.locator('#rep-table').textContent()), '  saying how far past', await page.locator('#rep-table').textContent());
		await page.click('nav.tabs a[href="#/reports/coverage"]');
		await page.locator('#chart-coverage').waitFor();
		ok(await page.locator('.smallmultiples .chartbox').count() > 0, 'audit coverage: a chart per freezer over 30, 90, 180 and 365 days');
		const gets = [];
		const onGet = (r) => r.url().includes('audit-coverage?days=0') && gets.push(r.url());
		page.on('request', onGet);
		await page.fill('#rep-days', '0');
		await page.click('#rep-apply');
		ok(await page.locator('#rep-days').evaluate((e) => !e.checkValidity()) && gets.length === 0,
			'  0 days is refused by the form, nothing sent');
		page.off('request', onGet);
		await page.fill('#rep-days', '30');
		await page.click('#rep-apply');
		await page.locator('#chart-coverage').waitFor();
		await shot('mgr-reports-coverage');

		// --- the audit list --------------------------------------------------
		await page.click('#nav a[href="#/audits"]');
		await page.locator(`details.auditrow[data-audit="${w.audit}"]`).waitFor();
		const order = await page.locator('details.auditrow').evaluateAll((els) => els.map((e) => Number(e.dataset.audit)));
		ok(order[0] === w.openAudit && order.includes(w.audit), 'the audit list shows both audits, newest first', order.join(','));
		await page.click(`details.auditrow[data-audit="${w.audit}"] summary`);
		await page.locator(`#audit-record-${w.audit}`).waitFor();
		const rec = await page.locator(`#audit-record-${w.audit}`).textContent();
		ok(rec.includes(w.lostOne) && /missing/.test(rec) && /mark lost/.test(rec),
			'  the closed audit opens to its missing tube and the resolution chosen', rec);
		await page.selectOption('#audits-status', 'open');
		await page.locator(`details.auditrow[data-audit="${w.audit}"]`).waitFor({ state: 'detached' });
		ok(await page.locator('details.auditrow').count() === 1, '  "open" shows the open audit only');
		await shot('ui-mgr-audits');

		// --- the destruction worklist -------------------------------------
		await page.click('#nav a[href="#/destroy"]');
		await page.locator('#destroy-table').waitFor();
		const listed = await page.locator('#destroy-table tbody tr').evaluateAll((els) => els.map((e) => e.dataset.id));
		ok(w.withdrawn.every((id) => listed.includes(id)), 'the worklist lists the withdrawn donor\'s 3 tubes', listed.join(','));
		const before = posts.length;
		await page.click('#destroy-review');
		ok((await flash()).cls === 'error' && /Select the tubes/.test((await flash()).text), 'Destroy with nothing ticked: told to select', (await flash()).text);
		await page.check(`#destroy-${w.withdrawn[0]}`);
		await page.check(`#destroy-${w.withdrawn[1]}`);
		ok(/2 tubes selected/.test(await page.locator('#destroy-count').textContent()), '  2 ticked, 2 counted');
		await page.click('#destroy-review');
		ok(/Give the reason/.test((await flash()).text) && await page.evaluate(() => document.activeElement.id) === 'destroy-reason',
			'Destroy with no reason: told so, the cursor in the reason', (await flash()).text);
		ok(posts.length === before, '  nothing was sent');
		await page.fill('#destroy-reason', 'consent withdrawn 2026-06-01, autoclaved');
		await page.click('#destroy-review');
		await page.locator('#destroy-confirm-yes').waitFor();
		ok(/Destroy 2 tubes/.test(await page.locator('#destroy-confirm-text').textContent()), '  the confirmation names the count and the reason');
		await shot('ui-mgr-destroy');
		await page.dblclick('#destroy-confirm-yes');
		await page.locator('#flash.ok', { hasText: 'destroyed' }).waitFor();
		ok(/2 tubes destroyed/.test((await flash()).text), 'confirm double-clicked: 2 tubes destroyed', (await flash()).text);
		ok(posts.filter((p) => p.endsWith('/consent-withdrawn/destroy')).length === 1, '  in one request');
		await page.locator(`#destroy-table tr[data-id="${w.withdrawn[0]}"]`).waitFor({ state: 'detached' });
		ok(await page.locator(`#destroy-table tr[data-id="${w.withdrawn[2]}"]`).count() === 1, '  the third tube stays on the list');
		fact('destroyed', `${w.withdrawn[0]},${w.withdrawn[1]}`);
		fact('kept', w.withdrawn[2]);

		// --- capacity --------------------------------------------------------
		await page.click('#nav a[href="#/capacity"]');
		await page.locator('#cap-tree li.capbox[data-box="BOX-A"]').waitFor();
		const used = (await api('GET', '/api/v1/reports/occupancy')).json.items.find((x) => x.barcode === 'BOX-A').used;
		ok(await page.locator('#cap-tree li.capbox[data-box="BOX-A"] [role="meter"]').getAttribute('aria-valuenow') === String(used),
			'the capacity tree fills BOX-A\'s bar with its tubes', used);
		const freezer = await page.locator('#cap-location option').nth(1).getAttribute('value');
		await page.selectOption('#cap-location', freezer);
		await page.waitForURL(new RegExp(`#/capacity/${freezer}$`));
		await page.locator('#cap-tree li.capbox').first().waitFor();
		ok(await page.locator('#cap-tree li.caploc[data-kind="site"]').count() === 0, '  one freezer chosen: its subtree only');
		await shot('ui-mgr-capacity');

		// --- an import whose file has a bad row, then fixed -------------------
		await page.click('#nav a[href="#/import"]');
		await page.locator('#import-file').waitFor();
		const head = 'study,participant_code,sex,birth_year,diagnosis,specimen_type,timepoint,collected_at,quantity,unit,tube_barcode\n';
		const good = 'MASC,P-IMP-1,F,1971,DM,serum,baseline,2026-02-01 09:00,0.5,mL,TB-IMP-1\n';
		const bad = 'MASC,P-IMP-1,F,1971,DM,serum,baseline,2026-02-31 09:00,0.5,mL,TB-IMP-2\n';
		await page.setInputFiles('#import-file', { name: 'mgr.csv', mimeType: 'text/csv', buffer: Buffer.from(head + good + bad) });
		await page.click('#import-check');
		await page.locator('#import-problems').waitFor();
		const prob = await page.locator('#import-problems tbody tr').first().textContent();
		ok(/^3/.test(prob) && /collected_at/.test(prob), 'the bad row is named by its row (3) and column', prob);
		ok(await page.locator('#import-commit').isHidden(), '  and Import is not offered');
		ok(await page.locator('#import-progress').evaluate((b) => b.value) === 1, '  the bar reached its end');
		await shot('ui-mgr-import');
		await page.setInputFiles('#import-file', { name: 'mgr-fixed.csv', mimeType: 'text/csv',
			buffer: Buffer.from(head + good + bad.replace('2026-02-31', '2026-02-28')) });
		await page.click('#import-check');
		await page.locator('#import-commit').waitFor({ state: 'visible' });
		await page.click('#import-commit');
		await page.locator('section.importview[data-outcome="committed"]').waitFor();
		ok(/Imported: 2 specimens/.test((await flash()).text), 'fixed, checked and imported: 2 specimens', (await flash()).text);

		// --- a large import: the bar follows the server, not a spinner ------------
		const BIG = 8000;
		const bigRows = [];
		for (let i = 0; i < BIG; i++)
			bigRows.push(`MASC,P-BIG-${Math.floor(i / 8)},F,1971,DM,serum,baseline,2026-02-01 09:00,0.5,mL,TB-BIG-${i}\n`);
		await page.setInputFiles('#import-file', { name: 'big.csv', mimeType: 'text/csv', buffer: Buffer.from(head + bigRows.join('')) });
		await page.click('#import-check');
		await page.locator('#import-commit').waitFor({ state: 'visible' });
		const phase = page.locator('#import-phase');
		ok(await phase.getAttribute('role') === 'status' && await phase.getAttribute('aria-live') === 'polite',
			'the words beside the bar are a polite live region');
		const samples = [];
		let shotWriting = false;
		const progressGets = [];
		const onProgress = (r) => /\/api\/v1\/imports\/[^/]+\/progress$/.test(r.url()) && progressGets.push(r.url());
		page.on('request', onProgress);
		await page.click('#import-commit');
		const bar = page.locator('#import-progress');
		for (const until = Date.now() + 180000; Date.now() < until;) {
			const v = await bar.evaluate((b) => ({ state: b.dataset.state, done: b.dataset.done, value: b.value }));
			samples.push({ ...v, words: await phase.textContent() });
			if (v.state === 'done' || v.state === 'failed') break;
			/* The user guide's picture: the bar part-way through the writing. */
			if (v.state === 'writing' && !shotWriting) {
				shotWriting = true;
				await page.locator('section.importview form').screenshot({ path: join(artifacts, 'ui-mgr-import-progress.png') });
			}
			await page.waitForTimeout(40);
		}
		page.off('request', onProgress);
		const fromServer = samples.filter((x) => ['reading', 'checking', 'writing'].includes(x.state));
		const distinct = new Set(fromServer.map((x) => `${x.state}:${x.done}`));
		ok(distinct.size >= 2, `the bar moved with the server's progress: ${distinct.size} distinct values`,
			JSON.stringify(samples.slice(-20)));
		ok(fromServer.some((x) => x.state === 'writing'), '  it showed the writing of the rows',
			[...distinct].join(' '));
		ok(samples.every((x, i) => i === 0 || x.value >= samples[i - 1].value), '  and never went back');
		ok(fromServer.some((x) => /^Writing: [\d,]+ of 8,000 rows$/.test(x.words) || /^Checking 8,000 rows: step \d+ of 10$/.test(x.words)),
			'  the words say the phase and its numbers', fromServer.map((x) => x.words).join(' | '));
		const ids = new Set(progressGets.map((u) => u.split('/').at(-2)));
		ok(progressGets.length >= 2 && ids.size === 1, `  polled by one name (${progressGets.length} polls)`);
		await page.locator('section.importview[data-outcome="committed"]').waitFor();
		ok(/Imported: 8,000 specimens/.test((await flash()).text) && await phase.textContent() === 'Finished',
			'  imported: 8,000 specimens, the words say finished', `${(await flash()).text} / ${await phase.textContent()}`);
		fact('big_import', BIG);

		// --- in French and in Chinese ----------------------------------------
		await page.selectOption('#lang', 'fr');
		await page.click('#nav a[href="#/destroy"]');
		await page.locator('#destroy-table').waitFor();
		ok(/Liste de destruction/.test(await page.locator('section.destroyview h1').textContent()) &&
			/1 tube sélectionné|0 tube sélectionné/.test(await page.locator('#destroy-count').textContent()),
			'the worklist in French', await page.locator('#destroy-count').textContent());
		await page.click('#nav a[href="#/import"]');
		await page.locator('#import-file').waitFor();
		await page.setInputFiles('#import-file', { name: 'mgr-fixed.csv', mimeType: 'text/csv',
			buffer: Buffer.from(head + good + bad.replace('2026-02-31', '2026-02-28')) });
		await page.click('#import-check');
		await page.locator('section.importview[data-outcome="already"]').waitFor();
		ok(await page.locator('#import-phase').textContent() === 'Terminé', 'the import\'s progress in French: « Terminé »',
			await page.locator('#import-phase').textContent());
		await page.selectOption('#lang', 'zh-Hans');
		await page.click('#nav a[href="#/reports"]');
		await page.locator('#rep-table').waitFor();
		ok(/库存/.test(await page.locator('section.reports').textContent()), 'the reports in Chinese');
		await shot('mgr-reports-zh-Hans');
		await page.selectOption('#lang', 'en');

		// --- accounts, as an admin ---------------------------------------------
		await login('boss');
		await page.click('#nav a[href="#/accounts"]');
		await page.locator('#acct-table').waitFor();
		await page.fill('#acct-new-user', 'newtech');
		await page.fill('#acct-new-pw', 'newtech-pass-1');
		await page.selectOption('#acct-new-role', 'technician');
		await page.click('#acct-new button[type=submit]');
		await page.locator('#acct-table tr[data-user="newtech"]').waitFor();
		ok(true, 'an admin creates an account from the page');
		await page.check('#acct-disabled-newtech');
		await page.click('tr[data-user="newtech"] button[data-action="save"]');
		await page.locator('#flash.ok', { hasText: 'newtech saved' }).waitFor();
		ok(/newtech saved/.test((await flash()).text), '  disables it', (await flash()).text);
		await page.click('tr[data-user="newtech"] button[data-action="reset"]');
		const puts = posts.length;
		await page.fill('#acct-pw-newtech', 'short');
		await page.click('tr.resetrow form button[type=submit]');
		ok(await page.locator('#acct-pw-newtech').evaluate((e) => !e.checkValidity()),
			'  a reset to a 5-character password is refused by the form');
		await page.fill('#acct-pw-newtech', 'temporary-pw-9');
		await page.click('tr.resetrow form button[type=submit]');
		await page.locator('#flash.ok', { hasText: 'Password of newtech reset' }).waitFor();
		ok(posts.length === puts, '  then its password reset (a PUT, no POST)');
		// A slip: the admin ticks their own "disabled". The server refuses, in words.
		await page.check('#acct-disabled-boss');
		await page.click('tr[data-user="boss"] button[data-action="save"]');
		await page.locator('#flash.error').waitFor();
		ok(/own/i.test((await flash()).text), 'disabling one\'s own account is refused with the server\'s reason', (await flash()).text);
		await page.uncheck('#acct-disabled-boss');
		await shot('ui-mgr-accounts');
		/* The admin's page is not in sweep.mjs (its manager sees "admins only"): axe here, in each language. */
		const axeBad = [];
		for (const l of ['fr', 'zh-Hans', 'en']) {
			await page.selectOption('#lang', l);
			await page.locator(`html[lang="${l}"]`).waitFor({ state: 'attached' });
			await page.locator('#acct-table').waitFor();
			for (const v of await axe(page)) axeBad.push(`${l}: ${v}`);
		}
		ok(axeBad.length === 0, 'axe: the accounts page has no serious or critical violation in en, fr, zh-Hans', axeBad.join('\n'));
		await page.selectOption('#token-user', 'zebra9');
		await page.fill('#token-label', 'bench printer 9');
		await page.dblclick('#token-issue');
		await page.locator('#token-dialog').waitFor();
		const secret = await page.locator('#token-secret').inputValue();
		ok(secret.length > 20, 'a service token issued (Issue double-clicked) is shown in a dialog');
		await shot('ui-mgr-token');
		const dlgBad = await axe(page);
		ok(dlgBad.length === 0, '  axe: the dialog has no serious or critical violation', dlgBad.join('\n'));
		await page.click('#token-copy');
		ok((await page.evaluate(() => navigator.clipboard.readText())) === secret, '  Copy puts it on the clipboard');
		await page.click('#token-close');
		await page.locator('#token-dialog').waitFor({ state: 'detached' });
		const html = await page.content();
		ok(!html.includes(secret) && await page.locator('#token-copy').count() === 0,
			'after the dialog closed, the token is nowhere on the page and there is nothing to copy it from');
		const zebraTokens = (await api('GET', '/api/v1/tokens?username=zebra9')).json.items;
		ok(zebraTokens.length === 1 && !JSON.stringify(zebraTokens).includes(secret),
			'  the double click issued one token, and the list does not hold its secret', JSON.stringify(zebraTokens));
		const viaToken = await api('GET', '/api/v1/sessions/current', undefined, secret);
		ok(viaToken.status === 200, '  the token copied works', viaToken.status);
		await page.locator(`#token-table tr[data-token="${zebraTokens[0].id}"] button`).click();
		await page.locator(`#token-table tr[data-token="${zebraTokens[0].id}"] button`, { hasText: 'Revoke “bench printer 9” now?' }).click();
		await page.locator(`#token-table tr[data-token="${zebraTokens[0].id}"]`).waitFor({ state: 'detached' });
		ok((await api('GET', '/api/v1/sessions/current', undefined, secret)).status === 401, 'revoked (asked twice): the token no longer works');
		fact('token', zebraTokens[0].id);

	}, { consoleErrors, failureShot: () => shot('mgrb-failure'), close });
}

main().catch(crashed);
