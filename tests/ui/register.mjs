// register.mjs — a technician registers a serum tube with its processing
// times on the bench page's register form, in Debian's headless chromium
// driven by playwright-core, against a real biobankd in Paris: the times are
// typed on the site's clock, the centrifugation's end mistyped before its
// start (the server's refusal shown on that field, nothing registered), then
// corrected; the new tube's SPREC code is on the result and on its card.
// The form keeps one Idempotency-Key until it registers, then takes a new one.
//
// usage: node register.mjs URL ADMIN_TOKEN ARTIFACT_DIR FIXTURES_DIR
// Prints TAP and "# fact NAME=VALUE" lines that test_ui.c checks against
// the database (built as test_ui_register).
import { join } from 'node:path';
import { driverArgs, ok, fact, journey, crashed, apiOf, launchBrowser, consoleErrorsOf } from './driver.mjs';

const { url, adminToken, artifacts } = driverArgs('register.mjs');
const { api } = apiOf(url, adminToken);
const held = async () => (await api('GET', '/api/v1/specimens?study=MASC&participant=P002')).json.items.length;

async function main() {
	await api('POST', '/api/v1/users', { username: 'bench', password: 'bench-password-1', role: 'technician' });
	const browser = await launchBrowser();
	const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
	page.setDefaultTimeout(30000);
	const consoleErrors = consoleErrorsOf(page);
	const keys = [];
	page.on('request', (r) => {
		if (r.method() === 'POST' && r.url().endsWith('/api/v1/specimens')) keys.push(r.headers()['idempotency-key']);
	});
	const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
	const submit = async (want) => {
		const answered = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/specimens'));
		await page.click('#r-submit');
		const r = await answered;
		ok(r.status() === want, `  the server answers ${want}`, r.status());
	};

	await journey(async () => {
		await page.goto(url + '/');
		await page.fill('#user', 'bench');
		await page.fill('#pass', 'bench-password-1');
		await page.click('form.login button[type=submit]');
		await page.locator('#who').getByText('bench (technician)').waitFor();
		await page.click('#nav a[href="#/register"]');
		await page.locator('#r-spin-start').waitFor();
		ok(/Europe\/Paris/.test(await page.locator('label[for="r-spin-start"]').textContent()) &&
			/Europe\/Paris/.test(await page.locator('label[for="r-frozen"]').textContent()),
			'the processing times are asked in the site\'s zone, named');
		ok(await page.locator('#r-pre-temp').inputValue() === 'rt' && await page.locator('#r-spin-start').inputValue() === '',
			'  nothing said of a step not done; temperatures start at room temperature');

		await page.selectOption('#r-study', 'MASC');
		await page.fill('#r-participant', 'P002');
		await page.selectOption('#r-type', 'serum');
		await page.fill('#r-timepoint', 'baseline');
		await page.fill('#r-collected', '2026-03-01T10:00');
		await page.fill('#r-sprec', 'ser-sst-a-b-n-b-a');
		await page.focus('#r-spin-start');
		ok(await page.locator('#r-spin-start').inputValue() === '2026-03-01T10:00', 'an empty time starts from the step before it');
		await page.focus('#r-tube');
		ok(await page.locator('#r-spin-start').inputValue() === '', '  and, left as offered, is emptied again: a step tabbed past is not recorded');
		await page.fill('#r-spin-start', '2026-03-01T13:30');
		// Mistyped: the spin "ended" a quarter of an hour before it began.
		await page.fill('#r-spin-end', '2026-03-01T13:15');
		await page.fill('#r-frozen', '2026-03-01T14:50');
		await page.selectOption('#r-post-temp', 'cold');
		const before = await held();
		await submit(400);
		await page.locator('#r-spin-end-error:not([hidden])').waitFor();
		const said = await page.locator('#r-spin-end-error').textContent();
		ok(said === 'The centrifugation cannot end before it began', 'the centrifugation ending before it began: said on that field', said);
		ok(await page.locator('#r-spin-end').getAttribute('aria-invalid') === 'true' &&
			await page.evaluate(() => document.activeElement.id) === 'r-spin-end', '  marked, and the cursor put there');
		ok(await page.locator('#r-spin-start-error').isHidden() && await page.locator('#r-frozen-error').isHidden(), '  the other fields are not blamed');
		ok(await held() === before, '  nothing registered');
		await shot('register-processing-refused');

		await page.fill('#r-spin-end', '2026-03-01T13:55');
		await submit(201);
		await page.locator('#r-sprec-result').waitFor();
		const code = await page.locator('#r-sprec-result').textContent();
		// 3 h 30 at room temperature before the spin (C); 55 min cold after its end (A).
		ok(code === 'SER-SST-C-B-N-A-A', 'corrected: registered, its SPREC code on the result', code);
		ok(await page.locator('#r-spin-end-error').isHidden() && await page.locator('#r-spin-end').getAttribute('aria-invalid') === null, '  the field is no longer marked');
		ok(await held() === before + 1, '  one tube registered');
		const id = await page.locator('li.newid').first().getAttribute('data-id');
		fact('processed', id);
		ok(keys.length === 2 && keys[0] && keys[0] === keys[1], 'the refused and the corrected sending carried the form\'s one Idempotency-Key', keys.join(' '));
		ok(await page.locator('#r-spin-start').inputValue() === '' && await page.locator('#r-sprec').inputValue() === 'ser-sst-a-b-n-b-a' &&
			await page.locator('#r-post-temp').inputValue() === 'cold', '  the form is ready for the next tube: times cleared, code and temperatures kept');
		await shot('register-processing');

		// The next tube of the run, without processing times: a new form instance, a new key.
		await page.fill('#r-participant', 'P002');
		await page.fill('#r-collected', '2026-03-01T10:05');
		await page.fill('#r-sprec', '');
		await submit(201);
		ok(keys.length === 3 && keys[2] !== keys[0], '  the next registration has a key of its own', keys.join(' '));

		await page.evaluate((x) => { location.hash = `#/specimen/${x}`; }, id);
		await page.locator('#f-sprec').waitFor();
		ok(await page.locator('#f-sprec').textContent() === 'SER-SST-C-B-N-A-A', 'the tube\'s card shows its SPREC code');
	}, { consoleErrors, failureShot: () => shot('register-failure'), close: () => browser.close() });
}

main().catch(crashed);
