// sweep.mjs — every view of the bench page in every language: the message
// catalogues complete, the language chosen from the browser's and by the
// switch, dates, numbers and the API's problems in that language; axe-core
// over each view (0 serious or critical violations); every action of the
// specimen card reachable with Tab, with a visible focus; no view wider
// than a 320 px handheld or broken at 1920 px.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { axe } from './driver.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const catalogues = join(here, '..', '..', 'server', 'static', 'js', 'i18n');
const LANGS = ['en', 'fr', 'zh-Hans'];

/* The views to sweep, each opened from the page as a person would. */
function views(T) {
	const { page, scan, STOCK } = T;
	return [
		['home', async () => {
			await page.click('a.brand');
			await page.locator('section.home').waitFor();
		}],
		['register', async () => {
			await page.click('#nav a[href="#/register"]');
			await page.locator('#r-participant').waitFor();
		}],
		['specimen', async () => {
			await scan(STOCK);
			await page.locator('article.specimen .timeline').waitFor();
		}],
		['box', async () => {
			await scan('FULL96');
			await page.locator('section.boxview .cell.out').first().waitFor();
		}],
		['freezers', async () => {
			await page.click('#nav a[href="#/freezers"]');
			await page.locator('section.tree details.loc .occtext').first().waitFor();
		}],
		['audit', async () => {
			await page.click('#nav a[href="#/audit"]');
			await page.locator('#audit-box').waitFor();
		}],
		['import', async () => {
			await page.click('#nav a[href="#/import"]');
			await page.locator('section.importview').waitFor();
		}],
		/* Manager views, part A (SSC is given a protocol for its heat map in sweep()). */
		['mgr-people', async () => {
			await page.click('#nav a[href="#/mgr/people"]');
			await page.locator('section.people #people-results table').waitFor();
		}],
		['mgr-person', async () => {
			await page.click('section.people a[href="#/mgr/people/MASC/P001"]');
			await page.locator('section.person #pp-consent').waitFor();
		}],
		['mgr-study', async () => {
			await page.click('#nav a[href="#/mgr/studies"]');
			await page.click('a[href="#/mgr/study/SSC"]');
			await page.locator('#st-heat').waitFor();
		}],
		['mgr-requests', async () => {
			await page.click('#nav a[href="#/mgr/requests"]');
			await page.locator('section.requests #req-list :is(table, p.dim)').first().waitFor();
		}],
		['mgr-shipments', async () => {
			await page.click('#nav a[href="#/mgr/shipments"]');
			await page.locator('section.shipments #ship-list :is(table, p.dim)').first().waitFor();
		}],
		/* manager views, part B */
		['reports', async () => {
			await page.click('#nav a[href="#/reports"]');
			await page.locator('#chart-freezers').waitFor();
		}],
		['coverage', async () => {
			await page.click('#nav a[href="#/reports"]');
			await page.click('nav.tabs a[href="#/reports/coverage"]');
			await page.locator('section.reports[data-report="coverage"] #rep-total').waitFor();
		}],
		['audits', async () => {
			await page.click('#nav a[href="#/audits"]');
			await page.locator('#audits-list').waitFor();
		}],
		['destroy', async () => {
			await page.click('#nav a[href="#/destroy"]');
			await page.locator('section.destroyview').waitFor();
		}],
		['capacity', async () => {
			await page.click('#nav a[href="#/capacity"]');
			await page.locator('#cap-tree').waitFor();
		}],
	];
}

async function setLang(page, tag) {
	await page.selectOption('#lang', tag);
	await page.locator(`html[lang="${tag}"]`).waitFor({ state: 'attached' });
}

export async function sweep(T) {
	const { page, ok, url, login, STOCK, scan } = T;

	// --- the catalogues: every English key in every language, same values put in
	const msgs = {};
	for (const l of LANGS) msgs[l] = (await import(join(catalogues, `${l}.js`))).default;
	const holes = (m) => (m.match(/\{\w+\}/g) || []).sort().join();
	for (const l of LANGS.slice(1)) {
		const missing = Object.keys(msgs.en).filter((k) => !/_one$/.test(k) && !(k in msgs[l]));
		const unequal = Object.keys(msgs[l]).filter((k) => k in msgs.en && holes(msgs[l][k]) !== holes(msgs.en[k]) && !/_other$/.test(k));
		ok(missing.length === 0 && unequal.length === 0, `the ${l} catalogue has every message, with the same values put in`,
			`missing: ${missing.join(' ')}; different values: ${unequal.join(' ')}`);
	}

	// A count ({n}) is said in each language's plural forms ("1 problem", "2 problems"):
	// t() picks KEY_one or KEY_other by the number (Intl.PluralRules).
	const counted = Object.keys(msgs.en).filter((k) => /\{n\}/.test(msgs.en[k]) && !/_(one|other)$/.test(k));
	const noOne = Object.keys(msgs.en).filter((k) => /_one$/.test(k) && !(k in msgs.fr));
	ok(counted.length === 0 && noOne.length === 0, 'every message with a count has plural forms (en and fr: one, other)',
		`without: ${counted.join(' ')}; no French singular: ${noOne.join(' ')}`);

	// --- the language from the browser's, then the switch --------------------
	for (const [browser, want, word] of [['fr-FR', 'fr', 'Connexion'], ['zh-CN', 'zh-Hans', '登录'], ['de-DE', 'en', 'Log in']]) {
		const p = await page.context().newPage();
		await p.addInitScript((langs) => {
			Object.defineProperty(navigator, 'languages', { get: () => langs });
			localStorage.removeItem('biobank.lang');
		}, [browser, browser.split('-')[0]]);
		await p.goto(url + '/');
		await p.locator('#user').waitFor();
		const h1 = await p.locator('form.login h1').textContent();
		ok(await p.evaluate(() => document.documentElement.lang) === want && h1 === word,
			`a browser in ${browser} gets the page in ${want}`, h1);
		await p.close();
	}
	await login(page, url, 'mgr1');
	const stock = (await T.api('GET', `/api/v1/scan/${STOCK}`)).json.item.id;
	await setLang(page, 'fr');
	ok(await page.locator('#nav a[href="#/register"]').textContent() === 'Enregistrer', 'the switch to French: the header in French');
	await scan(STOCK);
	await page.locator(`article.specimen[data-id="${stock}"]`).waitFor();
	const frDate = await page.locator('#f-collected').textContent();
	ok(/01\/03\/2026 10:30/.test(frDate), '  dates as French write them, in the site\'s zone', frDate);
	ok(/aucun enregistré/.test(await page.locator('#f-consent').textContent()), '  the card in French', await page.locator('#f-consent').textContent());
	ok(/Rangé/.test(await page.locator('.timeline').textContent()), '  and the history', await page.locator('.timeline li').first().textContent());
	await T.shot('specimen-fr');
	await page.click('button[data-action="move"]');
	await page.fill('#act-box', 'BOX-A');
	await page.fill('#act-pos', 'A1');
	await page.press('#act-pos', 'Enter');
	await page.locator('#flash.error').waitFor();
	ok(/Cette position contient un autre tube/.test(await page.locator('#flash').textContent()),
		'  a refusal told by its problem code in French', await page.locator('#flash').textContent());
	await setLang(page, 'zh-Hans');
	await page.locator('article.specimen').waitFor();
	ok(await page.locator('#nav a[href="#/register"]').textContent() === '登记' &&
		/无记录/.test(await page.locator('#f-consent').textContent()), 'the switch to 简体中文: header and card in Chinese');
	ok(/2026\/03\/01/.test(await page.locator('#f-collected').textContent()) && /10:30/.test(await page.locator('#f-collected').textContent()),
		'  dates as Chinese write them',
		await page.locator('#f-collected').textContent());
	await T.shot('specimen-zh-Hans');
	await page.reload();
	await page.locator('article.specimen').waitFor();
	ok(await page.evaluate(() => document.documentElement.lang) === 'zh-Hans', '  the choice is kept after a reload');

	// The manager views' heat map needs a protocol: SSC gets one (nothing registers in SSC after this).
	if ((await T.api('GET', '/api/v1/studies/SSC/protocol')).status === 404)
		await T.api('PUT', '/api/v1/studies/SSC/protocol', { reason: 'sweep', expected_version: 0, timepoints: [
			{ code: 'baseline', label: 'Baseline', day_offset: 0, window_days: 14, specimens: [{ type: 'serum', aliquots: 2 }] }] });

	// --- axe over every view in every language ---------------------------------
	for (const l of LANGS) {
		await setLang(page, l);
		const bad = [];
		for (const [name, open] of views(T)) {
			await open();
			for (const v of await axe(page)) bad.push(`${name}: ${v}`);
		}
		ok(bad.length === 0, `axe: every view in ${l} has no serious or critical violation`, bad.join('\n'));
	}
	await setLang(page, 'en');
	const p = await page.context().newPage();
	await p.goto(url + '/');
	await p.locator('#user').waitFor();
	const loginBad = await axe(p);
	ok(loginBad.length === 0, 'axe: the login view has no serious or critical violation', loginBad.join('\n'));
	await p.close();

	// --- the keyboard: every action of the card reachable with Tab, focus visible
	await scan(STOCK);
	await page.locator('article.specimen .actions button').first().waitFor();
	await page.locator('article.specimen form.print button').waitFor(); /* the label and its form come last */
	const want = await page.locator('article.specimen .actions button, form.print button').evaluateAll((els) => els.map((e) => e.textContent));
	const reached = new Set();
	const invisible = [];
	await page.focus('#scan');
	for (let i = 0; i < 80 && reached.size < want.length; i++) {
		await page.keyboard.press('Tab');
		const f = await page.evaluate(() => {
			const el = document.activeElement;
			const cs = getComputedStyle(el);
			const shows = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) || cs.boxShadow !== 'none';
			const inCard = !!el.closest('article.specimen .actions, form.print');
			return { text: el.textContent, inCard, shows, tag: el.tagName };
		});
		if (f.inCard && f.tag === 'BUTTON' && want.includes(f.text)) {
			reached.add(f.text);
			if (!f.shows) invisible.push(f.text);
		}
	}
	ok(want.every((w) => reached.has(w)), 'every action of the card is reached with Tab', `want ${want.join(', ')}; reached ${[...reached].join(', ')}`);
	ok(invisible.length === 0, '  each with a visible focus ring', invisible.join(', '));
	await page.keyboard.press('Escape');

	// --- 320 px and 1920 px ------------------------------------------------------
	for (const width of [320, 1920]) {
		await page.setViewportSize({ width, height: width === 320 ? 640 : 1080 });
		const wide = [];
		for (const [name, open] of views(T)) {
			await open();
			const w = await page.evaluate(() => document.documentElement.scrollWidth);
			if (w > width) wide.push(`${name} ${w}px`);
		}
		ok(wide.length === 0, `at ${width} px no view is wider than the screen`, wide.join(', '));
		if (width === 320) {
			await scan('FULL96');
			await page.locator('section.boxview .cell').first().waitFor();
			await T.shot('handheld-320-box');
		}
	}
	await page.setViewportSize({ width: 1280, height: 800 });
}
