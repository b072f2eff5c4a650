/*
 * provider.mjs — a real OpenID provider for the single sign-on tests
 * (tests/sso/test_sso.c): oidc-provider, OpenID certified, on loopback.
 *
 * usage: node provider.mjs PORT DAEMON_CALLBACK_URL
 * Prints "listening ISSUER" once it serves. Clients:
 *   biobank  confidential (client_secret_basic), the daemon's page login
 *   script   public (PKCE), code + refresh tokens with resource urn:biobank:
 *            JWT access tokens for scripts
 * Its own interaction endpoints stand for the login page a person sees:
 *   GET  /interaction/UID         {"uid", "prompt"}
 *   POST /interaction/UID/login   username=&password= (form): 403 when wrong or disabled
 * A browser (Accept: text/html) gets them as the pages a person sees at a
 * hospital's provider instead (tests/ui/signin.mjs): a login form, then a
 * consent page naming what the service asks for; "Cancel" on either sends
 * the person back to the service with error=access_denied.
 *   POST /interaction/UID/consent  consent given
 *   POST /interaction/UID/abort    the person cancelled
 * And what the test changes, as an administrator of the provider would:
 *   POST /test/accounts  {"NAME": {"password", "groups": [...], "disabled": bool}}
 *   POST /test/rotate    {"alg": "RS256"|"ES256"}: a new signing key replaces the old one
 *                        of that type (the old one leaves the JWKS); ES256 also signs the
 *                        access tokens from then on
 *   GET  /test/jwks-fetches  {"count"}: how often the JWKS was read
 *   POST /test/sign      {"claims": {...}, "alg": "RS256"|"ES256"|"none"|"HS256-public"}:
 *                        a token with chosen claims, signed with the current key (or
 *                        forged: unsigned, or HMAC keyed with the RSA public key)
 */
import crypto from 'node:crypto';
import http from 'node:http';
import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const [port, callback] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'urn:biobank';

let accounts = {};
let accessAlg = 'RS256';
const keys = {}; /* alg -> { jwk (private), kid } */
let jwksFetches = 0;
let provider;

async function newKey(alg) {
	const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
	const jwk = await jose.exportJWK(privateKey);
	jwk.kid = crypto.randomUUID();
	jwk.alg = alg;
	jwk.use = 'sig';
	keys[alg] = { jwk, privateKey };
	return jwk.kid;
}

function account(id) {
	const a = accounts[id];
	if (!a || a.disabled)
		return undefined;
	return {
		accountId: id,
		async claims() {
			return { sub: id, preferred_username: id, groups: a.groups || [] };
		},
	};
}

function build() {
	const p = new Provider(issuer, {
		clients: [
			{
				client_id: 'biobank',
				client_secret: 'biobank-client-secret',
				redirect_uris: [callback],
				grant_types: ['authorization_code'],
				response_types: ['code'],
				token_endpoint_auth_method: 'client_secret_basic',
			},
			{
				client_id: 'script',
				application_type: 'native',
				token_endpoint_auth_method: 'none',
				redirect_uris: ['http://127.0.0.1/cb'],
				grant_types: ['authorization_code', 'refresh_token'],
				response_types: ['code'],
			},
		],
		jwks: { keys: Object.values(keys).map((k) => k.jwk) },
		findAccount: (ctx, id) => account(id),
		claims: { openid: ['sub'], profile: ['preferred_username'], groups: ['groups'] },
		scopes: ['openid', 'offline_access', 'profile', 'groups'],
		conformIdTokenClaims: false,
		interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
		features: {
			devInteractions: { enabled: false },
			resourceIndicators: {
				enabled: true,
				defaultResource: () => undefined,
				useGrantedResource: () => true,
				getResourceServerInfo: (ctx, resource) => {
					if (resource !== RESOURCE)
						throw new errors.InvalidTarget();
					return {
						scope: 'api',
						audience: RESOURCE,
						accessTokenTTL: 300,
						accessTokenFormat: 'jwt',
						jwt: { sign: { alg: accessAlg } },
					};
				},
			},
		},
		/* What a site's provider is set up to put in access tokens for resource servers. */
		extraTokenClaims: (ctx, token) => {
			const a = accounts[token.accountId];
			return a ? { preferred_username: token.accountId, groups: a.groups || [] } : {};
		},
		ttl: { AccessToken: 300, IdToken: 300, RefreshToken: 3600, Session: 3600, Interaction: 600, Grant: 3600 },
	});
	p.on('server_error', (ctx, err) => console.error('provider error:', err));
	return p;
}

async function body(req) {
	const chunks = [];
	for await (const c of req)
		chunks.push(c);
	return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, obj) {
	res.writeHead(status, { 'Content-Type': 'application/json' });
	res.end(JSON.stringify(obj));
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function sign({ claims = {}, alg = 'RS256', header = {} }) {
	const now = Math.floor(Date.now() / 1000);
	const payload = { iss: issuer, aud: RESOURCE, iat: now, exp: now + 300, ...claims };
	for (const k of Object.keys(payload))
		if (payload[k] === null)
			delete payload[k];
	if (alg === 'none')
		return `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(payload)}.`;
	if (alg === 'HS256-public') {
		/* The old attack: HMAC keyed with the bytes of the RSA public key, kid and all. */
		const pub = crypto.createPublicKey({ key: keys.RS256.jwk, format: 'jwk' })
			.export({ type: 'spki', format: 'pem' });
		const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: keys.RS256.jwk.kid })}.${b64(payload)}`;
		return `${input}.${crypto.createHmac('sha256', pub).update(input).digest('base64url')}`;
	}
	const k = keys[alg];
	return new jose.SignJWT(payload)
		.setProtectedHeader({ alg, kid: k.jwk.kid, typ: 'at+jwt', ...header })
		.sign(k.privateKey);
}

async function testRoute(req, res) {
	const url = new URL(req.url, issuer);
	if (req.method === 'POST' && url.pathname === '/test/accounts') {
		accounts = JSON.parse(await body(req));
		return send(res, 200, { accounts: Object.keys(accounts) });
	}
	if (req.method === 'POST' && url.pathname === '/test/rotate') {
		const { alg = 'RS256' } = JSON.parse((await body(req)) || '{}');
		const kid = await newKey(alg);
		if (alg === 'ES256')
			accessAlg = 'ES256';
		provider = build();
		return send(res, 200, { kid });
	}
	if (req.method === 'GET' && url.pathname === '/test/jwks-fetches')
		return send(res, 200, { count: jwksFetches });
	if (req.method === 'POST' && url.pathname === '/test/sign')
		return send(res, 200, { token: await sign(JSON.parse(await body(req))) });
	return send(res, 404, { error: 'no such test route' });
}

const esc = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/* A page of the provider, as a person sees it (no script: forms only). */
function page(res, status, title, body) {
	res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
	res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:16px sans-serif;background:#eef2f7;margin:0}main{max-width:24rem;margin:3rem auto;background:#fff;
padding:1.5rem;border-radius:8px;border-top:6px solid #1d4f91}h1{font-size:1.3rem;color:#1d4f91}
label{display:block;margin:.6rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin:1rem .5rem 0 0;padding:.5rem 1rem}.error{color:#a00;font-weight:bold}</style></head>
<body><main><p>Hospital identity service</p>${body}</main></body></html>`);
}

const cancel = (uid) => `<form method="post" action="/interaction/${esc(uid)}/abort"><button id="idp-cancel">Cancel</button></form>`;

function loginPage(res, uid, status, error) {
	return page(res, status, 'Sign in', `<h1>Sign in to your hospital account</h1>
${error ? `<p class="error" id="idp-error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label for="idp-user">User name</label><input id="idp-user" name="username" autocomplete="username">
<label for="idp-pass">Password</label><input id="idp-pass" name="password" type="password">
<button id="idp-submit">Sign in</button></form>${cancel(uid)}`);
}

function consentPage(res, details) {
	const scopes = String(details.params.scope || '').split(' ').filter(Boolean);
	return page(res, 200, 'Allow access', `<h1>Allow ${esc(details.params.client_id)} to use your account?</h1>
<p>It asks for: ${scopes.map(esc).join(', ')}</p>
<form method="post" action="/interaction/${esc(details.uid)}/consent"><button id="idp-allow">Allow</button></form>
${cancel(details.uid)}`);
}

/* The person's browser at the provider's pages: one step each. */
async function browserInteraction(req, res, details, step) {
	if (!step)
		return details.prompt.name === 'login' ? loginPage(res, details.uid, 200)
			: consentPage(res, details);
	if (step === 'abort')
		return provider.interactionFinished(req, res, { error: 'access_denied',
			error_description: 'the person cancelled at the provider' }, { mergeWithLastSubmission: false });
	if (step === 'login') {
		const form = new URLSearchParams(await body(req));
		const name = form.get('username');
		const a = accounts[name];
		if (!a || a.password !== form.get('password') || a.disabled)
			return loginPage(res, details.uid, 403, a && a.disabled && a.password === form.get('password')
				? 'This account is disabled.' : 'Wrong user name or password.');
		return provider.interactionFinished(req, res, { login: { accountId: name } },
			{ mergeWithLastSubmission: false });
	}
	const { params, session } = details;
	const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
	grant.addOIDCScope(params.scope);
	grant.addOIDCClaims(['preferred_username', 'groups']);
	return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } },
		{ mergeWithLastSubmission: true });
}

async function interaction(req, res) {
	const m = /^\/interaction\/([^/?]+)(?:\/(login|consent|abort))?/.exec(req.url);
	const details = await provider.interactionDetails(req, res);
	if (/text\/html/.test(req.headers.accept || ''))
		return browserInteraction(req, res, details, m[2]);
	if (!m[2])
		return send(res, 200, { uid: details.uid, prompt: details.prompt.name });
	const form = new URLSearchParams(await body(req));
	const name = form.get('username');
	const a = accounts[name];
	if (!a || a.password !== form.get('password') || a.disabled)
		return send(res, 403, { error: a && a.disabled ? 'account disabled' : 'wrong user name or password' });
	const { params } = details;
	const grant = new provider.Grant({ accountId: name, clientId: params.client_id });
	grant.addOIDCScope(params.scope);
	grant.addOIDCClaims(['preferred_username', 'groups']);
	if (params.resource)
		grant.addResourceScope(params.resource, 'api');
	const grantId = await grant.save();
	return provider.interactionFinished(req, res,
		{ login: { accountId: name }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

await newKey('RS256');
provider = build();

http.createServer((req, res) => {
	const done = (err) => {
		/* A person back on a login page already finished (the Back button) sees a page. */
		if (err.name === 'SessionNotFound' && /text\/html/.test(req.headers.accept || '') && !res.headersSent)
			return page(res, 400, 'Sign-in ended', '<h1>This sign-in has ended</h1>'
				+ '<p id="idp-ended">Go back to the service you came from and start again there.</p>');
		console.error('provider.mjs:', err);
		if (!res.headersSent)
			send(res, 500, { error: String(err) });
	};
	if (req.url.startsWith('/test/'))
		return testRoute(req, res).catch(done);
	if (req.url.startsWith('/interaction/'))
		return interaction(req, res).catch(done);
	if (req.url.startsWith('/jwks'))
		jwksFetches++;
	return provider.callback()(req, res);
}).listen(Number(port), '127.0.0.1', () => console.log(`listening ${issuer}`));
