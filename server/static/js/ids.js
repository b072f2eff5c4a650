/* ids.js — specimen IDs, ported from include/ids.h and lib/ids.c: eight
 * characters of Crockford base-32 (no I, L, O, U) whose last is a Luhn
 * mod 32 check character. Read case-insensitively, I and L as 1, O as 0,
 * hyphens and spaces ignored. */

export const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const ID_LEN = 8;

function valueOf(c) {
	return c === '' ? -1 : ALPHABET.indexOf(c);
}

function canonical(c) {
	c = c.toUpperCase();
	if (c === 'I' || c === 'L') return '1';
	if (c === 'O') return '0';
	return c;
}

/* The check character for body (already canonical). */
export function checkChar(body) {
	let sum = 0, dbl = true;
	for (let i = body.length - 1; i >= 0; i--) {
		let v = valueOf(body[i]);
		if (dbl) {
			v *= 2;
			v = Math.floor(v / 32) + (v % 32);
		}
		sum += v;
		dbl = !dbl;
	}
	return ALPHABET[(32 - (sum % 32)) % 32];
}

/* The canonical form of s when it has an ID's shape, else null. */
export function normalize(s) {
	let out = '';
	for (const ch of s) {
		if (ch === '-' || ch === ' ') continue;
		const c = canonical(ch);
		if (out.length === ID_LEN || valueOf(c) < 0 || c.length !== 1) return null;
		out += c;
	}
	return out.length === ID_LEN ? out : null;
}

/*
 * Reads a scanned or typed value: {shaped: false} when it is not shaped like
 * an ID (a tube or box barcode, then); {shaped: true, id} when it is an ID;
 * {shaped: true, why} when its check character does not match.
 */
export function readId(s) {
	const id = normalize(s);
	if (id === null) return { shaped: false };
	if (checkChar(id.slice(0, ID_LEN - 1)) !== id[ID_LEN - 1])
		return { shaped: true, why: 'check character does not match: the ID was mistyped or misread' };
	return { shaped: true, id };
}
