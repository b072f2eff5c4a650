/* app.js — the bench page: session, navigation (#/... routes), and the
 * scan bar that is always ready for the keyboard-wedge scanner. Each view
 * is a module with render(ctx, main, params) that may return a scan
 * handler, which sees every scan before the general look-up does. */
import { api, get, session, saveSession, setUnauthorizedHandler, ApiError } from './api.js';
import { h, fill, esc } from './dom.js';
import * as fb from './feedback.js';
import { t, LANGUAGES, lang, setLang, initLang, onLangChange, translateStatic, problemText, timeZone } from './i18n.js';
import { loadSite, forget as forgetSite } from './site.js';
import { readId } from './ids.js';
import { arrived as ssoArrived, takeError as ssoError, errorText as ssoErrorText } from './sso.js';
import * as login from './login.js';
import * as specimen from './specimen.js';
import * as register from './register.js';
import * as box from './box.js';
import * as freezer from './freezer.js';
import * as audit from './audit.js';
import * as importer from './import.js';
import * as pick from './pick.js';
/* Manager views, part A: people, studies, requests, shipments. */
import * as mgrPeople from './mgr-people.js';
import * as mgrStudy from './mgr-study.js';
import * as mgrReq from './mgr-req.js';
import * as mgrShip from './mgr-ship.js';
/* manager views, part B: reports, audits, destruction, accounts, capacity */
import * as reports from './reports.js';
import * as auditlist from './auditlist.js';
import * as destroy from './destroy.js';
import * as accounts from './accounts.js';
import * as capacity from './capacity.js';

const BENCH = ['admin', 'manager', 'technician'];
const MANAGERS = ['admin', 'manager'];

const routes = [
	[/^#\/specimen\/([^/]+)$/, specimen],
	[/^#\/register$/, register],
	[/^#\/box\/([^/]+)$/, box],
	[/^#\/freezers(?:\/(\d+))?$/, freezer],
	[/^#\/audit(?:\/(\d+))?$/, audit],
	[/^#\/import$/, importer],
	[/^#\/requests$/, pick],
	[/^#\/request\/(\d+)\/pick$/, pick],
	/* Manager views, part A. */
	[/^#\/mgr\/people(?:\/([^/]+)\/([^/]+))?$/, mgrPeople],
	[/^#\/mgr\/stud(?:ies|y\/([^/]+))$/, mgrStudy],
	[/^#\/mgr\/(requests)(?:\/([a-z]+))?$/, mgrReq],
	[/^#\/mgr\/(request)\/(\d+)$/, mgrReq],
	[/^#\/mgr\/(shipments)(?:\/([a-z]+))?$/, mgrShip],
	[/^#\/mgr\/(shipment)\/(\d+)$/, mgrShip],
	/* manager views, part B */
	[/^#\/reports(?:\/([a-z-]+))?$/, reports],
	[/^#\/audits$/, auditlist],
	[/^#\/destroy$/, destroy],
	[/^#\/accounts$/, accounts],
	[/^#\/capacity(?:\/(\d+))?$/, capacity],
];

const scanInput = document.getElementById('scan');
const main = document.getElementById('view');
let scanHook = null;
let renderSeq = 0;

export const ctx = {
	get user() {
		return session()?.user || null;
	},
	get role() {
		return session()?.user?.role || '';
	},
	can(what) {
		if (what === 'bench') return BENCH.includes(this.role);
		if (what === 'manager') return MANAGERS.includes(this.role);
		if (what === 'admin') return this.role === 'admin';
		return false;
	},
	go(hash) {
		if (location.hash === hash) show();
		else location.hash = hash;
	},
	refresh: () => show(),
	focusScan,
	fb,
	/* Facts about the server that do not change while the page is open. */
	features: {},
};

export function focusScan() {
	if (scanInput.disabled) return;
	/* On a wide screen the header stays on top, the scan bar in sight however
	 * far the page is scrolled: the page stays where it is. On a narrow one
	 * the header scrolls away with the page (style.css), and the page goes
	 * back up to the scan bar rather than leave the focus out of sight. */
	const onTop = getComputedStyle(document.getElementById('top')).position === 'sticky';
	scanInput.focus({ preventScroll: onTop });
}

/* Look up what a scanned value is and open its view. */
async function lookup(value) {
	const r = readId(value);
	if (r.shaped && r.why) {
		fb.error(t('scan.mistyped', { value }));
		return;
	}
	try {
		const res = await get(`/api/v1/scan/${esc(r.id || value)}`);
		const item = res.item;
		if (res.kind === 'specimen') ctx.go(`#/specimen/${esc(item.id)}`);
		else if (res.kind === 'box') ctx.go(`#/box/${esc(item.barcode)}`);
		else ctx.go(`#/freezers/${item.id}`);
		/* A tube whose donor withdrew consent is said so on the scan, in its own sound and colour. */
		if (res.kind === 'specimen' && item.consent_withdrawn) fb.consent(t('scan.consent', { id: item.id }));
		else fb.ok(res.kind === 'specimen' ? item.id : res.kind === 'box' ? t('scan.box', { box: item.barcode }) : item.name, { ms: 2500 });
	} catch (e) {
		if (e instanceof ApiError && e.status === 404) fb.error(t('scan.unknown', { value }));
		/* A 401 was said already, in words for the bench ("log in again"). */
		else if (!(e instanceof ApiError) || e.status !== 401) fb.error(`${value}: ${problemText(e)}`);
	}
}

async function onScan(ev) {
	ev.preventDefault();
	const value = scanInput.value.trim();
	scanInput.value = '';
	if (!value) return;
	if (scanHook) {
		const handled = await scanHook(value);
		if (handled) return;
	}
	await lookup(value);
}

/* Keys typed while nothing editable has focus go to the scan bar: a scan
 * is never lost because a button had focus. Escape always returns there. */
function onKey(ev) {
	const t = ev.target;
	const editable = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement ||
		t instanceof HTMLSelectElement || t?.isContentEditable;
	if (ev.key === 'Escape') {
		focusScan();
		return;
	}
	if (!editable && ev.key.length === 1 && !ev.ctrlKey && !ev.metaKey && !ev.altKey && ev.key !== ' ')
		focusScan();
}

async function show() {
	const seq = ++renderSeq;
	const s = session();
	scanHook = null;
	document.getElementById('nav').hidden = !s;
	document.getElementById('zone').hidden = !s;
	scanInput.disabled = !s;
	if (!s) {
		await login.render(ctx, main, [], onLogin);
		return;
	}
	document.getElementById('who').textContent = t('nav.who', { user: s.user.username, role: t(`role.${s.user.role}`) });
	document.getElementById('zone').textContent = t('app.zone', { zone: timeZone() });
	/* A reset password is changed before anything else (after a reload too). */
	if (s.user.password_change_required) {
		login.renderChange(ctx, main, '', onLogin);
		return;
	}
	for (const a of document.querySelectorAll('#nav [data-need]'))
		a.hidden = !ctx.can(a.dataset.need);
	const hash = location.hash || '#/';
	/* Each view renders into a root of its own: a slow answer for a view
	 * left meanwhile fills a root no longer on the page, never the view the
	 * technician is looking at now. */
	const root = h('div.viewroot');
	fill(main, root);
	for (const [re, mod] of routes) {
		const m = re.exec(hash);
		if (m) {
			main.dataset.view = mod.name;
			const params = m.slice(1).map((p) => (p === undefined ? p : decodeURIComponent(p)));
			const hook = await mod.render(ctx, root, params);
			if (seq === renderSeq) {
				scanHook = hook || null;
				focusScan();
			}
			return;
		}
	}
	main.dataset.view = 'home';
	home(root);
	focusScan();
}

function home(root) {
	fill(root,
		h('section.home',
			h('h1', t('home.title')),
			h('p.hint', t('home.hint')),
			h('div.tiles',
				ctx.can('bench') && h('a.tile', { href: '#/register' }, h('strong', t('home.register')), h('span', t('home.register.sub'))),
				h('a.tile', { href: '#/freezers' }, h('strong', t('home.freezers')), h('span', t('home.freezers.sub'))),
				ctx.can('manager') && h('a.tile', { href: '#/audit' }, h('strong', t('home.audit')), h('span', t('home.audit.sub'))),
				ctx.can('bench') && h('a.tile', { href: '#/requests' }, h('strong', t('home.pick')), h('span', t('home.pick.sub'))),
				ctx.can('manager') && h('a.tile', { href: '#/import' }, h('strong', t('home.import')), h('span', t('home.import.sub'))),
				/* Manager views, part A. */
				ctx.can('manager') && [
					h('a.tile', { href: '#/mgr/people' }, h('strong', t('mgr.people.tile')), h('span', t('mgr.people.tile.sub'))),
					h('a.tile', { href: '#/mgr/studies' }, h('strong', t('mgr.study.tile')), h('span', t('mgr.study.tile.sub'))),
					h('a.tile', { href: '#/mgr/requests' }, h('strong', t('mgr.req.tile')), h('span', t('mgr.req.tile.sub'))),
					h('a.tile', { href: '#/mgr/shipments' }, h('strong', t('mgr.ship.tile')), h('span', t('mgr.ship.tile.sub')))],
				/* manager views, part B */
				ctx.can('manager') && h('a.tile', { href: '#/reports' }, h('strong', t('mgr.rep.title')), h('span', t('mgr.rep.sub'))),
				ctx.can('manager') && h('a.tile', { href: '#/audits' }, h('strong', t('mgr.audits.title')), h('span', t('mgr.audits.sub'))),
				ctx.can('manager') && h('a.tile', { href: '#/destroy' }, h('strong', t('mgr.destroy.title')), h('span', t('mgr.destroy.sub'))),
				ctx.can('admin') && h('a.tile', { href: '#/accounts' }, h('strong', t('mgr.acct.title')), h('span', t('mgr.acct.sub'))),
				ctx.can('manager') && h('a.tile', { href: '#/capacity' }, h('strong', t('mgr.cap.title')), h('span', t('mgr.cap.sub'))))));
}

async function onLogin() {
	await loadSite();
	/* One render: a changed hash renders through hashchange. */
	if (location.hash === '#/') await show();
	else location.hash = '#/';
}

async function logout() {
	try {
		await api('DELETE', '/api/v1/sessions/current');
	} catch {
		/* the token may already have expired: forget it all the same */
	}
	saveSession(null);
	forgetSite();
	fb.info(t('app.loggedout'));
	location.hash = '#/';
	show();
}

/* On load: a stored token is checked, and the role read, from the server. */
async function start() {
	setUnauthorizedHandler(() => {
		saveSession(null);
		fb.error(t('app.ended'));
		show();
	});
	initLang();
	const pickLang = document.getElementById('lang');
	for (const l of LANGUAGES) pickLang.append(h('option', { value: l.tag, lang: l.tag }, l.name));
	pickLang.value = lang();
	pickLang.addEventListener('change', () => setLang(pickLang.value));
	/* The view is drawn again in the new language, and a view puts the
	 * focus in the scan bar; a language chosen with the arrow keys keeps it
	 * on the list instead, so that the next press goes on to the next
	 * language rather than into the scan bar. */
	onLangChange(async () => {
		const picking = document.activeElement === pickLang;
		pickLang.value = lang();
		translateStatic();
		await show();
		if (picking) pickLang.focus();
	});
	translateStatic();
	fb.setAfter(focusScan);
	document.getElementById('scanform').addEventListener('submit', onScan);
	document.getElementById('logout').addEventListener('click', logout);
	document.addEventListener('keydown', onKey);
	/* A control in a table that scrolls sideways (.tablewrap, .mgr-scroll)
	 * is brought wholly into its scroller's view when it gets the focus: the
	 * browser leaves one partly in view where it is, cut at the scroller's
	 * edge (the role lists of the accounts table at 320 px). */
	document.addEventListener('focusin', (ev) => {
		const box = ev.target instanceof Element && ev.target.closest('.tablewrap, .mgr-scroll');
		if (box && box !== ev.target) ev.target.scrollIntoView({ block: 'nearest', inline: 'nearest' });
	});
	scanInput.addEventListener('blur', (ev) => {
		if (!ev.relatedTarget) setTimeout(() => {
			if (document.activeElement === document.body) focusScan();
		}, 0);
	});
	window.addEventListener('hashchange', show);
	const s = session();
	if (s) {
		try {
			const cur = await get('/api/v1/sessions/current');
			saveSession({ token: s.token, user: cur.user });
			await loadSite();
			if (ssoArrived)
				fb.ok(t('login.welcome', { user: cur.user.username, role: t(`role.${cur.user.role}`) }), { sound: false });
		} catch (e) {
			if (!(e instanceof ApiError) || e.status !== 401) fb.error(problemText(e));
		}
	}
	await show();
	/* A sign-in that did not succeed while this tab is signed in already
	 * (an old login finished, a login replayed): the login page did not show it. */
	const refused = session() && ssoError();
	if (refused) fb.error(ssoErrorText(refused));
	document.body.dataset.ready = '1';
}

start();
