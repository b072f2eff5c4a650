// signin.mjs — a nurse signs in to the bench page with the hospital account,
// in Debian's headless chromium driven by playwright-core, against a real
// biobankd and the real OpenID provider of the single sign-on tests
// (tests/sso/provider.mjs, oidc-provider), which this driver runs so that it
// can stop it. As a person would: the button, the provider's own login and
// consent pages, back signed in with the role of her group, a reload, the
// back button, logging out. And as people break it: the finished login
// opened again, two tabs each with a login under way, an account disabled
// at the provider, the callback URL opened by hand with a forged state, the
// provider down (said in French). A daemon without a provider shows no
// button.
//
// usage: node signin.mjs URL ADMIN_TOKEN ARTIFACT_DIR FIXTURES_DIR PLAIN_URL
// with BIOBANK_UI_PROVIDER_PORT: the port the daemon at URL expects its
// provider on. Prints TAP and "# fact NAME=VALUE" lines that test_ui.c checks
// against the database (built as test_ui_signin).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { driverArgs, ok, fact, finish, crashed, call, launchBrowser } from './driver.mjs';

const USAGE = 'BIOBANK_UI_PROVIDER_PORT=PORT node signin.mjs URL ADMIN_TOKEN ARTIFACT_DIR FIXTURES_DIR PLAIN_URL';
const providerPort = process.env.BIOBANK_UI_PROVIDER_PORT;
const { url, adminToken, artifacts, rest: [plainUrl] } = driverArgs('signin.mjs', { usage: USAGE });
if (!plainUrl || !providerPort) {
	console.error(`usage: ${USAGE}`);
	process.exit(2);
}
const issuer = `http://127.0.0.1:${providerPort}`;

/* The hospital's provider, on loopback: resolves once it serves. */
function startProvider() {
	const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'sso', 'provider.mjs');
	const callback = `http://127.0.0.1:${new URL(url).port}/api/v1/oidc/callback`;
	const child = spawn('node', [script, providerPort, callback], { stdio: ['ignore', 'pipe', 'pipe'] });
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('the provider did not start in 60 s')), 60000);
		child.stdout.on('data', (d) => {
			if (/listening/.test(String(d))) {
				clearTimeout(timer);
				resolve(child);
			}
		});
		child.stderr.on('data', (d) => process.stdout.write(`# provider: ${String(d).trim().replace(/\n/g, '\n# provider: ')}\n`));
		child.on('exit', (code) => reject(new Error(`the provider exited (${code})`)));
	});
}
const stopProvider = (child) => new Promise((resolve) => {
	if (child.exitCode !== null) return resolve();
	child.removeAllListeners('exit');
	child.on('exit', () => resolve());
	child.kill('SIGTERM');
});

async function main() {
	let provider = await startProvider();
	const accounts = (a) => call(issuer, 'POST', '/test/accounts', a);
	await accounts({ nurse: { password: 'nurse-pw', groups: ['lab-techs'] } });
	await call(url, 'POST', '/api/v1/users', { username: 'keeper', password: 'keeper-password-1', role: 'technician' }, adminToken);

	const browser = await launchBrowser();
	const consoleErrors = [];
	const callbacks = [];
	let last = null;
	async function tab(ctx) {
		const page = await ctx.newPage();
		page.setDefaultTimeout(30000);
		page.on('console', (m) => {
			if (m.type() === 'error' && m.location().url.startsWith(url) && !/Failed to load resource/.test(m.text()))
				consoleErrors.push(m.text());
		});
		page.on('pageerror', (e) => consoleErrors.push(String(e)));
		page.on('request', (r) => r.url().startsWith(`${url}/api/v1/oidc/callback`) && callbacks.push(r.url()));
		last = page;
		return page;
	}
	const fresh = async () => tab(await browser.newContext({ viewport: { width: 1280, height: 800 } }));
	const shot = (page, name) => page.screenshot({ path: join(artifacts, `${name}.png`) });
	const who = (page, text) => page.locator('#who').getByText(text).waitFor();
	/* At the provider's login page: the person's name and password. */
	const atProvider = async (page, user, pw) => {
		await page.locator('#idp-user').fill(user);
		await page.locator('#idp-pass').fill(pw);
		await page.locator('#idp-submit').click();
	};
	/* After the provider's login: its consent page, unless consent was given already. */
	const allowIfAsked = async (page) => {
		await page.locator('#idp-allow, #who:not(:empty)').first().waitFor();
		if (await page.locator('#idp-allow').count()) await page.locator('#idp-allow').click();
	};
	/* A click that loads another document, waited for to the end. */
	const clickAndLoad = async (page, what) => {
		const loaded = page.waitForEvent('load');
		await what.click();
		await loaded;
		await page.locator('body[data-ready="1"]').waitFor();
	};
	let logins = 0;

	try {
		// --- a daemon without a provider offers no such button ---------------
		let page = await fresh();
		await page.goto(plainUrl + '/');
		await page.locator('#user').waitFor();
		await page.locator('body[data-ready="1"]').waitFor();
		ok(await page.locator('#sso-login').count() === 0, 'a site without an OpenID provider: no hospital sign-in button');
		await page.context().close();

		// --- the whole code flow, as a nurse does it -------------------------
		page = await fresh();
		await page.goto(url + '/');
		const button = page.locator('#sso-login');
		await button.waitFor();
		ok((await button.textContent()) === 'Sign in with the hospital account', 'the login page offers "Sign in with the hospital account"');
		ok(await page.locator('#user').count() === 1, '  beside the local accounts\' form (break-glass)');
		await shot(page, 'signin-login');
		await button.click();
		await page.locator('#idp-user').waitFor();
		ok(page.url().startsWith(issuer), 'the button leads to the provider\'s own login page', page.url());
		await atProvider(page, 'nurse', 'not-her-password');
		await page.locator('#idp-error').waitFor();
		ok(/Wrong user name or password/.test(await page.locator('#idp-error').textContent()), 'a mistyped password is refused by the provider');
		await shot(page, 'signin-provider');
		await atProvider(page, 'nurse', 'nurse-pw');
		await page.locator('#idp-allow').waitFor();
		ok(/openid, profile, groups/.test(await page.locator('main').textContent()), 'the provider asks her consent for what the service asks');
		await shot(page, 'signin-consent');
		await page.locator('#idp-allow').click();
		await who(page, 'nurse (technician)');
		logins++;
		ok(true, 'back on the bench page signed in as nurse, a technician (her group lab-techs)');
		ok(new URL(page.url()).hash === '' && page.url() === `${url}/`, '  the session is gone from the address bar', page.url());
		ok(/Logged in as nurse/.test(await page.locator('#flash').textContent()), '  and the page welcomes her');
		const cur = await page.evaluate(() => fetch('/api/v1/sessions/current', {
			headers: { Authorization: `Bearer ${JSON.parse(sessionStorage.getItem('biobank.session')).token}` },
		}).then((r) => r.json()));
		ok(cur.user?.role === 'technician' && cur.user?.username === 'nurse', '  the server says so too', JSON.stringify(cur));
		ok(await page.locator('a.tile[href="#/register"]').count() === 1, '  a technician\'s home page (Register)');
		await shot(page, 'signin-done');

		await page.reload();
		await who(page, 'nurse (technician)');
		ok(true, 'a reload: still signed in');

		// --- the back button after login ---------------------------------------
		const before = callbacks.length;
		await page.goBack();
		await page.waitForLoadState();
		await shot(page, 'signin-back');
		ok(!page.url().startsWith(`${url}/api/v1/oidc/callback`), 'the back button does not lead to the finished login', page.url());
		ok(await page.locator('#idp-ended').count() === 1, '  but to the provider\'s page saying that sign-in has ended', page.url());
		await page.goForward();
		await who(page, 'nurse (technician)');
		ok(callbacks.length === before, '  nor does forward again: no login was replayed, still signed in');

		// --- the finished login's callback opened again, by hand ------------
		await page.goto(callbacks[0]);
		await page.locator('#flash.error').waitFor();
		ok(/already used, or is too old/.test(await page.locator('#flash').textContent()),
			'the finished login opened again: refused, said on the page', await page.locator('#flash').textContent());
		ok(page.url() === `${url}/`, '  on the page itself, not a bare error', page.url());
		await who(page, 'nurse (technician)');
		ok(true, '  and the tab keeps its own session');

		// --- log out ---------------------------------------------------------
		const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('biobank.session')).token);
		await page.locator('#logout').click();
		await page.locator('#sso-login').waitFor();
		ok(!(await page.locator('#nav').isVisible()), 'logged out: the login page again');
		ok((await call(url, 'GET', '/api/v1/sessions/current', undefined, token)).status === 401, '  the session ended at the server');
		await page.reload();
		await page.locator('#sso-login').waitFor();
		ok(!(await page.locator('#nav').isVisible()), '  and a reload does not bring it back');
		await page.context().close();

		// --- two tabs, each with a login under way ---------------------------
		const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
		const first = await tab(ctx);
		const second = await tab(ctx);
		for (const p of [first, second]) {
			await p.goto(url + '/');
			await p.locator('#sso-login').click();
			await p.locator('#idp-user').waitFor();
		}
		await atProvider(second, 'nurse', 'nurse-pw');
		await allowIfAsked(second);
		await who(second, 'nurse (technician)');
		logins++;
		ok(true, 'two tabs at the provider\'s login: the second signs in');
		await atProvider(first, 'nurse', 'nurse-pw');
		await allowIfAsked(first);
		await who(first, 'nurse (technician)');
		logins++;
		ok(true, '  and the first, begun earlier, finishes its own login too');
		await ctx.close();

		// --- an account disabled at the provider -------------------------------
		await accounts({ nurse: { password: 'nurse-pw', groups: ['lab-techs'], disabled: true } });
		page = await fresh();
		await page.goto(url + '/');
		await page.locator('#sso-login').click();
		await atProvider(page, 'nurse', 'nurse-pw');
		await page.locator('#idp-error').waitFor();
		ok(/disabled/.test(await page.locator('#idp-error').textContent()), 'her account disabled at the provider: it refuses her');
		await clickAndLoad(page, page.locator('#idp-cancel'));
		await page.locator('#sso-login').waitFor();
		const refused = await page.locator('p.formerror').textContent();
		ok(/did not let you in/.test(refused), '  "Cancel" brings her back to the page, which says why', refused);
		ok(!(await page.locator('#nav').isVisible()), '  not signed in');
		await shot(page, 'signin-refused');

		// --- the callback URL opened by hand with a forged state ------------
		await page.goto(`${url}/api/v1/oidc/callback?code=forged&state=${'A'.repeat(43)}`);
		await page.locator('#sso-login').waitFor();
		const forged = await page.locator('p.formerror').textContent();
		ok(/already used, or is too old/.test(forged) && page.url() === `${url}/`,
			'the callback opened by hand with a forged state: refused on the page, not signed in', `${page.url()} ${forged}`);

		// --- the provider down, in French ------------------------------------
		await stopProvider(provider);
		provider = null;
		await page.locator('#lang').selectOption('fr');
		await page.locator('#sso-login').getByText('Se connecter avec le compte de l’hôpital').waitFor();
		await clickAndLoad(page, page.locator('#sso-login'));
		await page.locator('p.formerror:not(:empty)').waitFor();
		const down = await page.locator('p.formerror').textContent();
		ok(/injoignable/.test(down) && page.url() === `${url}/`, 'the provider down: the page says so, in French, not a blank page', down);
		await shot(page, 'signin-provider-down-fr');
		await page.locator('#user').fill('keeper');
		await page.locator('#pass').fill('keeper-password-1');
		await page.locator('form.login button[type=submit]').click();
		await page.locator('#who').getByText('keeper').waitFor();
		ok(true, '  a local account still signs in meanwhile');
		await page.locator('#logout').click();
		await page.locator('#lang').selectOption('zh-Hans');
		ok((await page.locator('#sso-login').textContent()) === '使用医院账户登录', 'the button in Chinese too');
		await page.context().close();

		ok(consoleErrors.length === 0, 'no script errors and no Content-Security-Policy violations', consoleErrors.join('\n'));
		fact('logins', logins);
	} catch (e) {
		ok(false, `the browser run stopped: ${e.message.split('\n')[0]}`, e.stack);
		if (last) await shot(last, 'signin-failure').catch(() => {});
	} finally {
		await browser.close();
		if (provider) await stopProvider(provider);
	}
	finish();
}

main().catch(crashed);
