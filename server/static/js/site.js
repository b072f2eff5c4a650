/* site.js — this installation's settings (GET /api/v1/site), read once per
 * login: the time zone times are shown in, and the printers labels may go
 * to. A feature that is not configured is not offered; nothing is asked of
 * the server only to find out whether it exists. */
import { get } from './api.js';
import { setZone } from './i18n.js';

const none = { timezone: 'UTC', printers: [] };
let site = null;

export async function loadSite() {
	try {
		site = await get('/api/v1/site');
	} catch {
		/* an older server, or a hiccup: times in UTC, no printing offered */
		site = { ...none };
	}
	setZone(site.timezone);
	return site;
}

export function forget() {
	site = null;
}

export function current() {
	return site || none;
}

export const printers = () => current().printers || [];
