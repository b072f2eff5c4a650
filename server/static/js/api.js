/* api.js — the public HTTP API with the session token (kept in
 * sessionStorage, so it ends with the tab). Every error answer is a
 * problem+json document; it is thrown as an ApiError carrying it. */

const KEY = 'biobank.session';

export class ApiError extends Error {
	constructor(status, problem) {
		super(problem?.detail || problem?.title || `HTTP ${status}`);
		this.status = status;
		this.problem = problem || {};
	}
	/* The endpoint does not exist on this server (yet): told by the problem's code. */
	get missing() {
		return this.status === 404 && this.problem.code === 'no-route' || this.status === 405;
	}
}

export function session() {
	try {
		return JSON.parse(sessionStorage.getItem(KEY) || 'null');
	} catch {
		return null;
	}
}

export function saveSession(s) {
	if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
	else sessionStorage.removeItem(KEY);
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
	onUnauthorized = fn;
}

/*
 * One request. body: an object (sent as JSON), a File/Blob/string with
 * opts.type, or undefined. Resolves to the parsed JSON (or null for 204);
 * opts.blob resolves to a Blob instead. Rejects with ApiError.
 */
export async function api(method, path, body, opts = {}) {
	const headers = {};
	const s = session();
	if (s?.token && !opts.noAuth) headers.Authorization = `Bearer ${s.token}`;
	let payload;
	if (body !== undefined) {
		if (opts.type) {
			headers['Content-Type'] = opts.type;
			payload = body;
		} else {
			headers['Content-Type'] = 'application/json';
			payload = JSON.stringify(body);
		}
	}
	if (opts.idempotent !== false && method === 'POST')
		headers['Idempotency-Key'] = opts.key || crypto.randomUUID();
	let res;
	try {
		res = await fetch(path, { method, headers, body: payload, cache: 'no-store' });
	} catch (e) {
		throw new ApiError(0, { title: 'Network error', detail: 'the server cannot be reached' });
	}
	if (res.ok) {
		if (opts.blob) return res.blob();
		if (res.status === 204) return null;
		const text = await res.text();
		return text ? JSON.parse(text) : null;
	}
	let problem = null;
	try {
		problem = await res.json();
	} catch {
		problem = { title: res.statusText };
	}
	if (res.status === 401 && !opts.noAuth) onUnauthorized();
	throw new ApiError(res.status, problem);
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body, opts);
