// driver.mjs — what every browser-test driver shares (run.mjs, manager.mjs,
// mgrb.mjs, picking.mjs, register.mjs, signin.mjs, and sweep.mjs's axe-core):
// its arguments, the TAP it prints ("ok", and "# fact NAME=VALUE" lines that
// test_ui.c checks against the database), the API with the admin token,
// Debian's headless chromium, the page's script errors, axe-core, and the end
// of the run.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * The arguments test_ui.c passes: URL ADMIN_TOKEN ARTIFACT_DIR FIXTURES_DIR,
 * then what a driver adds (rest). Without the first three (or any of need,
 * names of the four), the usage line and exit status 2. The artifact folder
 * is made.
 */
export function driverArgs(name, { need = [], usage = '' } = {}) {
	const [url, adminToken, artifacts, fixtures, ...rest] = process.argv.slice(2);
	const given = { url, adminToken, artifacts, fixtures };
	if (!url || !adminToken || !artifacts || need.some((k) => !given[k])) {
		console.error(`usage: ${usage || `node ${name} URL ADMIN_TOKEN ARTIFACT_DIR FIXTURES_DIR`}`);
		process.exit(2);
	}
	mkdirSync(artifacts, { recursive: true });
	return { ...given, rest };
}

let n = 0;
let failed = 0;

/* One TAP check; diag is printed under a failure. */
export function ok(cond, desc, diag) {
	n++;
	if (!cond) failed++;
	console.log(`${cond ? '' : 'not '}ok ${n} - ${desc.replace(/[\r\n]+/g, ' ')}`);
	if (!cond && diag !== undefined) console.log(`#   ${String(diag).replace(/\n/g, '\n#   ')}`);
	return cond;
}

/* What the driver did, for test_ui.c to check in the database. */
export const fact = (name, value) => console.log(`# fact ${name}=${value}`);

/* The plan line and the exit status: the end of a run. */
export function finish() {
	console.log(`1..${n}`);
	process.exit(failed ? 1 : 0);
}

/*
 * The run of a driver's checks in the browser, and its end: the page's
 * script errors checked, a screenshot when a step threw (the rest of the
 * run is skipped, said as a failed check), the browser closed, the plan.
 */
export async function journey(body, { consoleErrors, failureShot, close }) {
	try {
		await body();
		ok(consoleErrors.length === 0, 'no script errors and no Content-Security-Policy violations', consoleErrors.join('\n'));
	} catch (e) {
		ok(false, `the browser run stopped: ${e.message.split('\n')[0]}`, e.stack);
		await failureShot().catch(() => {});
	} finally {
		await close();
	}
	finish();
}

/* main() threw before or outside its own checks. */
export function crashed(e) {
	console.log(`not ok ${n + 1} - the browser run could not start: ${e.message.split('\n')[0]}`);
	console.log(`1..${n + 1}`);
	process.exit(1);
}

/* One request to base, as token (none: without), JSON both ways: {status, json}. */
export async function call(base, method, path, body, token) {
	const res = await fetch(base + path, {
		method,
		headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
		body: body ? JSON.stringify(body) : undefined,
	});
	const json = /json/.test(res.headers.get('content-type') || '') ? await res.json() : null;
	return { status: res.status, json };
}

/*
 * The API of url as the admin (or as token), for the parts of the world the
 * page does not make: api answers {status, json}; must throws unless the
 * status is want, and answers the JSON.
 */
export function apiOf(url, adminToken) {
	const api = (method, path, body, token = adminToken) => call(url, method, path, body, token);
	const must = async (method, path, body, want, token) => {
		const r = await api(method, path, body, token);
		if (r.status !== want) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
		return r.json;
	};
	return { api, must };
}

const CHROMIUM = {
	executablePath: '/usr/bin/chromium',
	headless: true,
	args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
		'--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
};

/* A browser of fresh contexts (a driver that plays several people or tabs). */
export function launchBrowser() {
	return chromium.launch(CHROMIUM);
}

/*
 * One person's browser, with a profile of its own in a temporary folder
 * (close() removes it): sound lets the page beep without a gesture (the
 * scan's outcomes), downloads keeps what the page downloads. Waits for a
 * state are generous: the machine running the suites may be loaded.
 */
export async function launchProfile({ viewport = { width: 1280, height: 800 }, sound = false, downloads = false } = {}) {
	const profile = mkdtempSync(join(tmpdir(), 'biobank-ui-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		...CHROMIUM,
		viewport,
		...(downloads ? { acceptDownloads: true } : {}),
		args: [...CHROMIUM.args, ...(sound ? ['--autoplay-policy=no-user-gesture-required'] : [])],
	});
	ctx.setDefaultTimeout(60000);
	const page = ctx.pages()[0] || await ctx.newPage();
	const close = async () => {
		await ctx.close();
		rmSync(profile, { recursive: true, force: true });
	};
	return { ctx, page, close };
}

/* The page's script errors and Content-Security-Policy violations, as they come (a
 * resource answered 4xx on purpose is not one). */
export function consoleErrorsOf(page, into = []) {
	page.on('console', (m) => {
		if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) into.push(m.text());
	});
	page.on('pageerror', (e) => into.push(String(e)));
	return into;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/* axe-core's serious and critical violations on the page as it stands (evaluated
 * through the DevTools protocol: the page's CSP, which refuses inline scripts, is
 * left as it is). */
export async function axe(page) {
	if (!await page.evaluate(() => typeof window.axe === 'object')) await page.evaluate(axeSource);
	return page.evaluate(async () => {
		const r = await window.axe.run(document, { resultTypes: ['violations'] });
		return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
	});
}
