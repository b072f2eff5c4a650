// keyboard.mjs — the manager views with the keyboard alone on a 320 × 640
// screen, in French and in Chinese (issue 19: "every action reachable by
// keyboard; visible focus"; "the page works with a 320 px wide screen"), in
// Debian's headless chromium driven by playwright-core, against a real
// biobankd. In each language a manager signs in and does one workflow per
// view, with Tab, Shift+Tab, Enter, Space, the arrow keys and Escape only
// (text typed only into a field the keys put the focus in; a file chosen in
// the chooser that Space opened):
//   participants: a code searched and opened, a biobank consent withdrawn
//     (its effect shown, then confirmed);
//   requests: one opened from the list and approved;
//   destruction: a tube ticked, a reason given, the confirmation cancelled
//     (the focus back on its button), then confirmed;
//   import: a file chosen, checked, imported, its bar followed to the end;
// and an admin disables an account on the accounts page. Each is checked
// through the API, and test_ui.c checks it in the database. At every focus
// stop: the focused element is in the viewport and not under anything else,
// it has a focus ring (a computed outline or box-shadow), and nothing makes
// the page scroll sideways.
//
// usage: node keyboard.mjs URL ADMIN_TOKEN ARTIFACT_DIR FIXTURES_DIR
// Prints TAP and "# fact NAME=VALUE" lines (built as test_ui_keyboard).
import { join } from 'node:path';
import { driverArgs, ok, fact, journey, crashed, apiOf, launchProfile, consoleErrorsOf } from './driver.mjs';

const { url, adminToken, artifacts } = driverArgs('keyboard.mjs');
const { api, must } = apiOf(url, adminToken);

const PASSWORD = 'bench-password-1';
const LANGS = ['fr', 'zh-Hans'];
const WIDTH = 320;
const HEIGHT = 640;

/* Per language: a donor whose consent is withdrawn, a request to approve, a
 * tube of a withdrawn donor to destroy, an account to disable. */
async function world() {
	await must('POST', '/api/v1/users', { username: 'kbm', password: PASSWORD, role: 'manager' }, 201);
	await must('POST', '/api/v1/users', { username: 'kba', password: PASSWORD, role: 'admin' }, 201);
	await must('POST', '/api/v1/users', { username: 'kbr', password: PASSWORD, role: 'researcher' }, 201);
	const researcher = (await must('POST', '/api/v1/sessions', { username: 'kbr', password: PASSWORD }, 201)).token;
	const tube = async (code, barcode, position) => {
		const id = (await must('POST', '/api/v1/specimens', { participant: { study: 'MASC', code }, type: 'serum',
			timepoint: 'baseline', collected_at: '2026-03-01T09:30:00Z', quantity: { value: 0.5, unit: 'mL' },
			tube_barcode: barcode }, 201)).id;
		await must('POST', `/api/v1/specimens/${id}/store`, { box: 'BOX-A', position }, 200);
		return id;
	};
	const donor = async (code, born) => {
		await must('POST', '/api/v1/participants', { study: 'MASC', code, sex: 'female', birth_year: born, diagnosis: 'DM' }, 201);
		await must('POST', `/api/v1/participants/MASC/${code}/consents`, { scope: 'biobank', status: 'given', date: '2026-01-05', version: 'v2' }, 201);
	};
	const per = {};
	let row = 0;
	for (const l of LANGS) {
		const tag = l === 'fr' ? 'FR' : 'ZH';
		row++;
		await donor(`P-KB-${tag}`, 1960 + row);
		await tube(`P-KB-${tag}`, `TB-KEYS-${tag}-1`, `${'BC'[row - 1]}1`);
		await donor(`P-KB-WD-${tag}`, 1970 + row);
		const doomed = await tube(`P-KB-WD-${tag}`, `TB-KB-WD-${tag}-1`, `${'BC'[row - 1]}2`);
		const kept = await tube(`P-KB-WD-${tag}`, `TB-KB-WK-${tag}-1`, `${'BC'[row - 1]}3`);
		await must('POST', `/api/v1/participants/MASC/P-KB-WD-${tag}/consents`, { scope: 'biobank', status: 'withdrawn', date: '2026-06-01', version: 'v2' }, 201);
		const request = (await must('POST', '/api/v1/requests', { title: `Serum, keyboard ${tag}`, project: 'KEYS', ethics_ref: 'EPN 2026-0202',
			mta_ref: 'MTA-10', purpose: 'non-genetic', criteria: { study: 'MASC', timepoints: ['baseline'], types: ['serum'],
				quantity: { value: 0.2, unit: 'mL' }, participants: 1 } }, 201, researcher)).id;
		await must('POST', '/api/v1/users', { username: `kboff${tag.toLowerCase()}`, password: PASSWORD, role: 'technician' }, 201);
		per[l] = { tag, donor: `P-KB-${tag}`, doomed, kept, request, user: `kboff${tag.toLowerCase()}` };
	}
	return per;
}

/* What the page shows at the focused element (run in the page); at: whether it matches that selector. */
function focusState(sel) {
	const e = document.activeElement;
	const doc = document.documentElement;
	const name = (x) => x === null ? 'null' : `${x.tagName.toLowerCase()}${x.id ? `#${x.id}` : ''}${x.dataset?.action ? `[${x.dataset.action}]` : ''}` +
		`${x.getAttribute('href') ? `[href=${x.getAttribute('href')}]` : ''}${x.type && x.tagName !== 'BUTTON' ? `[${x.type}]` : ''}`;
	/* What is wider than the screen and makes the page itself scroll sideways. */
	const wide = [];
	if (doc.scrollWidth > doc.clientWidth) {
		for (const x of document.querySelectorAll('body *')) {
			const r = x.getBoundingClientRect();
			if (r.right <= doc.clientWidth + 0.5 || r.width === 0) continue;
			let inner = false;
			for (let p = x.parentElement; p && p !== document.body; p = p.parentElement) {
				const ov = getComputedStyle(p).overflowX;
				if (ov === 'auto' || ov === 'scroll' || ov === 'hidden' || ov === 'clip') { inner = true; break; }
			}
			if (!inner) wide.push(`${name(x)} (${Math.round(r.left)}..${Math.round(r.right)} px)`);
			if (wide.length >= 4) break;
		}
	}
	if (e === null || e === document.body || e === doc)
		return { el: 'body', seen: false, ring: false, sideways: doc.scrollWidth > doc.clientWidth, wide, why: 'the focus is on nothing', at: false };
	const r = e.getBoundingClientRect();
	const cs = getComputedStyle(e);
	const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || (cs.boxShadow !== 'none' && cs.boxShadow !== '');
	const vw = doc.clientWidth;
	const vh = window.innerHeight;
	let seen = r.width > 0 && r.height > 0 && r.top >= -1 && r.left >= -1 && r.bottom <= vh + 1 && r.right <= vw + 1;
	let why = seen ? '' : `outside the ${vw}×${vh} viewport at ${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}×${Math.round(r.height)}`;
	if (seen) {
		/* Not under a sticky header or a banner: what is on top at its middle is it (or its own label, or inside it). */
		const x = Math.min(Math.max(r.left + r.width / 2, 0), vw - 1);
		const y = Math.min(Math.max(r.top + r.height / 2, 0), vh - 1);
		const top = document.elementFromPoint(x, y);
		const mine = top && (top === e || e.contains(top) || top.contains(e) || (e.labels && [...e.labels].some((l) => l === top || l.contains(top))));
		if (!mine) {
			seen = false;
			why = `covered by ${name(top)}`;
		}
	}
	return { el: name(e), seen, ring, sideways: doc.scrollWidth > doc.clientWidth, wide, why, width: doc.scrollWidth, at: !!sel && e.matches(sel) };
}

async function main() {
	const per = await world();
	const { page, close } = await launchProfile({ viewport: { width: WIDTH, height: HEIGHT } });
	const consoleErrors = consoleErrorsOf(page);
	const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`) });
	let mouse = 0;
	/* File choosers are caught from the start: a listener added just before
	 * the key press could be late, and the chooser then opened unseen. */
	const choosers = [];
	page.on('filechooser', (c) => choosers.push(c));
	page.on('console', (m) => m.text() === 'kb-mouse' && mouse++);

	/* Every focus stop's trouble, by view, each told once. */
	const trouble = new Map();
	let view = 'login';
	let stops = 0;
	const note = (what) => {
		if (!trouble.has(view)) trouble.set(view, new Set());
		trouble.get(view).add(what);
	};
	const look = async (sel = '') => {
		const s = await page.evaluate(focusState, sel);
		stops++;
		if (!s.seen) note(`${s.el}: not visible (${s.why})`);
		if (!s.ring) note(`${s.el}: no focus ring`);
		if (s.sideways) note(`the page scrolls sideways (${s.width} px wide): ${s.wide.join(', ') || 'nothing found outside a scroller'}`);
		return s;
	};
	const focused = () => page.evaluate(() => {
		const e = document.activeElement;
		return e ? { id: e.id, tag: e.tagName, href: e.getAttribute('href'), action: e.dataset?.action || '' } : {};
	});
	/* Tab (or Shift+Tab) from stop to stop until the focus is on sel; each stop looked at. */
	const tabTo = async (sel, { back = false, max = 120 } = {}) => {
		for (let i = 0; i < max; i++) {
			await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
			if ((await look(sel)).at) return i + 1;
		}
		throw new Error(`${view}: ${max} presses of ${back ? 'Shift+Tab' : 'Tab'} never reached ${sel} (last: ${JSON.stringify(await focused())})`);
	};
	/* The closed <select> sel, with the focus: the arrow keys move its choice,
	 * one option a press. The focus must stay on it as each choice takes
	 * effect (a list whose every step moved the focus elsewhere could not be
	 * walked to its third option); if it left, that is noted and the list is
	 * tabbed to again. */
	const arrowTo = async (sel, value) => {
		for (let i = 0; i < 40; i++) {
			const st = await page.evaluate(({ sel: q, v }) => {
				const s = document.querySelector(q);
				return { on: document.activeElement === s, cur: s.value, idx: s.selectedIndex,
					want: [...s.options].findIndex((o) => o.value === v), to: document.activeElement?.id || document.activeElement?.tagName };
			}, { sel, v: value });
			if (!st.on) {
				note(`the focus left ${sel} for ${st.to} when its choice changed`);
				await tabTo(sel);
				continue;
			}
			if (st.cur === value) return;
			if (st.want < 0) throw new Error(`${view}: ${sel} has no ${value}`);
			await page.keyboard.press(st.want > st.idx ? 'ArrowDown' : 'ArrowUp');
			/* A change of language redraws the page: let it. */
			if (sel === '#lang') await page.waitForFunction((q) => document.documentElement.lang === document.querySelector(q).value, sel);
		}
		throw new Error(`${view}: the arrow keys never chose ${value} in ${sel}`);
	};
	const nav = async (href, ready) => {
		view = href;
		await tabTo(`#nav a[href="${href}"]`);
		await page.keyboard.press('Enter');
		await page.locator(ready).first().waitFor();
	};
	/* The focus back at the top of the page: where every view leaves it (the scan bar). */
	const toTop = async () => {
		await page.keyboard.press('Escape');
	};

	const signIn = async (user) => {
		view = `sign-in as ${user}`;
		await page.locator('#user').waitFor();
		ok(await page.evaluate(() => document.activeElement?.id) === 'user', `${user}: the login form opens with the cursor in the user name`);
		await page.keyboard.type(user);
		await tabTo('#pass');
		await page.keyboard.type(PASSWORD);
		await page.keyboard.press('Enter');
		await page.locator('#logout').waitFor({ state: 'visible' });
	};
	const signOut = async () => {
		view = 'sign-out';
		await toTop();
		await tabTo('#logout');
		await page.keyboard.press('Enter');
		await page.locator('#user').waitFor();
	};
	await journey(async () => {
		/* Any mouse button pressed on the page is counted, from its first script on: the run must press none. */
		await page.addInitScript(() => document.addEventListener('mousedown', () => {
			window.kbMouse = (window.kbMouse || 0) + 1;
			console.log('kb-mouse');
		}, true));
		await page.goto(url + '/');
		await page.locator('body[data-ready="1"]').waitFor({ state: 'attached' });

		for (const lang of LANGS) {
			const w = per[lang];
			// --- sign in, and the language chosen in the header's list ---------
			await signIn('kbm');
			view = 'language';
			await toTop();
			await tabTo('#lang');
			await arrowTo('#lang', lang);
			await page.locator(`html[lang="${lang}"]`).waitFor({ state: 'attached' });
			ok(true, `${lang}: a manager signs in and picks the language with the keyboard`);

			// --- participants: search a code, withdraw the biobank consent ----
			await toTop();
			await nav('#/mgr/people', 'section.people');
			await tabTo('#people-q');
			await page.keyboard.type(w.donor);
			await page.keyboard.press('Enter');
			await page.locator(`section.person[data-code="${w.donor}"]`).waitFor();
			await tabTo('#pk-status');
			await arrowTo('#pk-status', 'withdrawn');
			await tabTo('#pk-date');
			/* The date's parts in the browser's order (month first in en-US, day first in fr-FR). */
			const order = await page.evaluate(() => new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2026, 10, 30))
				.filter((x) => ['day', 'month', 'year'].includes(x.type)).map((x) => x.type));
			await page.keyboard.type(order.map((k) => ({ day: '30', month: '11', year: '2026' })[k]).join(''));
			ok(await page.locator('#pk-date').inputValue() === '2026-11-30', `${lang}: the date typed into its field (${order.join('/')})`,
				await page.locator('#pk-date').inputValue());
			await tabTo('#pk-version');
			await page.keyboard.type('v3');
			await tabTo('#pp-record');
			await page.keyboard.press('Enter');
			await page.locator('#pp-before').waitFor();
			ok(await page.evaluate(() => document.activeElement?.id) === 'pp-record', `${lang}: the withdrawal's effect shown, the focus on its confirmation`);
			await look();
			await page.keyboard.press('Enter');
			await page.locator('#pp-after').waitFor();
			await look();
			const person = await must('GET', `/api/v1/participants/MASC/${w.donor}`, undefined, 200);
			ok(person.consent?.biobank === 'withdrawn' && person.consents.some((c) => c.status === 'withdrawn' && c.date === '2026-11-30' && c.version === 'v3'),
				`${lang}: searched and withdrawn by keyboard: the API has the withdrawal of 2026-11-30, v3`, JSON.stringify(person.consents));
			await shot(`keyboard-${lang}-people`);

			// --- requests: open one from the list and approve it --------------
			await toTop();
			await nav('#/mgr/requests', `#req-list tr[data-request="${w.request}"]`);
			await tabTo(`#req-list tr[data-request="${w.request}"] a`);
			await page.keyboard.press('Enter');
			await page.locator('#rq-approve').waitFor();
			await tabTo('#rq-reason');
			await page.keyboard.type('keyboard pass, 320 px');
			await tabTo('#rq-approve');
			await page.keyboard.press('Enter');
			await page.locator('section.request[data-status="approved"]').waitFor();
			await look();
			const rq = await must('GET', `/api/v1/requests/${w.request}`, undefined, 200);
			ok(rq.status === 'approved', `${lang}: request #${w.request} approved by keyboard`, rq.status);
			await shot(`keyboard-${lang}-request`);

			// --- destruction: tick, reason, cancel, confirm -------------------
			await toTop();
			await nav('#/destroy', `#destroy-table tr[data-id="${w.doomed}"]`);
			await tabTo(`#destroy-${w.doomed}`);
			await page.keyboard.press('Space');
			await tabTo('#destroy-reason');
			await page.keyboard.type('consent withdrawn, autoclaved');
			await tabTo('#destroy-review');
			await page.keyboard.press('Enter');
			await page.locator('#destroy-confirm-yes').waitFor();
			ok(await page.evaluate(() => document.activeElement?.id) === 'destroy-confirm-yes', `${lang}: the confirmation asked, the focus on it`);
			await look();
			await tabTo('#destroy-confirm-no');
			await page.keyboard.press('Enter');
			ok(await page.evaluate(() => document.activeElement?.id) === 'destroy-review' && await page.locator('#destroy-confirm').isHidden(),
				`${lang}: cancelled: the confirmation gone, the focus back on its button`, JSON.stringify(await focused()));
			await look();
			await page.keyboard.press('Enter');
			await page.locator('#destroy-confirm-yes').waitFor();
			await page.keyboard.press('Enter');
			await page.locator(`#destroy-table tr[data-id="${w.doomed}"]`).waitFor({ state: 'detached' });
			await look();
			const gone = await must('GET', `/api/v1/specimens/${w.doomed}`, undefined, 200);
			const kept = await must('GET', `/api/v1/specimens/${w.kept}`, undefined, 200);
			ok(gone.status === 'destroyed' && kept.status === 'in_storage', `${lang}: the ticked tube destroyed by keyboard, its sibling kept`,
				`${gone.status} ${kept.status}`);
			await shot(`keyboard-${lang}-destroy`);

			// --- import: a file chosen in the chooser, checked, imported -------
			await toTop();
			await nav('#/import', '#import-file');
			await tabTo('#import-file');
			const csv = 'study,participant_code,sex,birth_year,diagnosis,specimen_type,timepoint,collected_at,quantity,unit,tube_barcode\n' +
				[1, 2, 3].map((i) => `MASC,P-KB-IMP-${w.tag},F,1972,DM,serum,baseline,2026-02-01 09:00,0.5,mL,TB-KB-IMP-${w.tag}-${i}\n`).join('');
			const opened = choosers.length;
			await page.keyboard.press('Space');
			for (const until = Date.now() + 60000; choosers.length === opened && Date.now() < until;) await page.waitForTimeout(50);
			ok(choosers.length > opened, `${lang}: Space on the file field opens the file chooser`);
			await choosers.at(-1).setFiles({ name: `keys-${lang}.csv`, mimeType: 'text/csv', buffer: Buffer.from(csv) });
			await tabTo('#import-check');
			await page.keyboard.press('Enter');
			await page.locator('#import-commit').waitFor({ state: 'visible' });
			await tabTo('#import-commit');
			await page.keyboard.press('Enter');
			await page.locator('section.importview[data-outcome="committed"]').waitFor();
			ok(await page.locator('#import-progress').evaluate((b) => b.value === b.max && b.dataset.state === 'done'),
				`${lang}: the import's bar followed to its end`);
			await look();
			const found = await api('GET', `/api/v1/scan/TB-KB-IMP-${w.tag}-3`);
			ok(found.status === 200, `${lang}: imported by keyboard: the file's third tube is known`, JSON.stringify(found.json));
			await shot(`keyboard-${lang}-import`);
			await signOut();

			// --- accounts, as an admin: disable one --------------------------
			await signIn('kba');
			await toTop();
			await nav('#/accounts', `#acct-table tr[data-user="${w.user}"]`);
			await tabTo(`#acct-disabled-${w.user}`);
			await page.keyboard.press('Space');
			await tabTo(`tr[data-user="${w.user}"] button[data-action="save"]`);
			await page.keyboard.press('Enter');
			/* Its own word: an earlier "ok" banner may still be showing. */
			await page.locator('#flash.ok', { hasText: w.user }).waitFor();
			await look();
			const users = (await must('GET', '/api/v1/users', undefined, 200)).items;
			ok(users.find((u) => u.username === w.user)?.disabled === true, `${lang}: ${w.user} disabled by keyboard`,
				JSON.stringify(users.find((u) => u.username === w.user)));
			await shot(`keyboard-${lang}-accounts`);
			await signOut();

			fact(`withdrawn_${w.tag}`, w.donor.replace(/-/g, ''));
			fact(`destroyed_${w.tag}`, w.doomed);
			fact(`kept_${w.tag}`, w.kept);
			fact(`approved_${w.tag}`, w.request);
		}
		for (const [v, list] of trouble) ok(false, `at ${v}: the focus stops are visible, ringed, and the page does not scroll sideways`, [...list].join('\n'));
		ok(trouble.size === 0, `${stops} focus stops in ${LANGS.join(' and ')} at ${WIDTH} × ${HEIGHT}: every one visible, with a focus ring, no sideways scrolling`);
		/* The page's own count (the console's may not have arrived yet), and the console's: a page reloaded would have lost its count. */
		const pressed = await page.evaluate(() => window.kbMouse || 0);
		await page.waitForTimeout(200);
		ok(pressed === 0 && mouse === 0, 'no mouse button was pressed', `${pressed} in the page, ${mouse} on the console`);
	}, { consoleErrors, failureShot: () => shot('keyboard-failure'), close });
}

main().catch(crashed);
