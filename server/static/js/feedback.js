/* feedback.js — what the technician sees and hears from arm's length: a
 * large banner and a sound (Web Audio, no sound files). Each outcome of a
 * scan has its own colour and its own sound, so that a refusal is never
 * mistaken for a success without looking:
 *   ok        one high tone                 green
 *   error     two low buzzes                red
 *   warn      one mid tone, then a low one  brown (nothing was recorded: look)
 *   occupied  three short mid beeps         purple (the position holds a tube)
 *   elsewhere a rising pair                 blue (the tube is stored in another box)
 *   consent   a long falling sweep          maroon, striped (consent withdrawn)
 * After every outcome the scan bar has the focus again (setAfter), so the
 * next wedge scan is never typed into a form field. */

let audio = null;
let hideTimer = 0;
let beeps = 0;
let after = () => {};

export const KINDS = ['ok', 'error', 'warn', 'occupied', 'elsewhere', 'consent'];

function tone(freq, start, dur, type, to) {
	const osc = audio.createOscillator();
	const gain = audio.createGain();
	const t0 = audio.currentTime + start;
	osc.type = type;
	osc.frequency.setValueAtTime(freq, t0);
	if (to) osc.frequency.exponentialRampToValueAtTime(to, t0 + dur);
	gain.gain.setValueAtTime(0.0001, t0);
	gain.gain.exponentialRampToValueAtTime(0.3, t0 + 0.01);
	gain.gain.exponentialRampToValueAtTime(0.0001, t0 + dur);
	osc.connect(gain).connect(audio.destination);
	osc.start(t0);
	osc.stop(t0 + dur + 0.02);
}

const SOUNDS = {
	ok: () => tone(1320, 0, 0.12, 'sine'),
	error: () => {
		tone(220, 0, 0.18, 'square');
		tone(180, 0.24, 0.3, 'square');
	},
	warn: () => {
		tone(660, 0, 0.15, 'triangle');
		tone(440, 0.2, 0.2, 'triangle');
	},
	occupied: () => {
		for (let i = 0; i < 3; i++) tone(523, i * 0.14, 0.08, 'square');
	},
	elsewhere: () => {
		tone(440, 0, 0.14, 'sine');
		tone(880, 0.18, 0.2, 'sine');
	},
	consent: () => tone(400, 0, 0.7, 'sawtooth', 120),
};

export function beep(kind) {
	try {
		audio = audio || new AudioContext();
		if (audio.state === 'suspended') audio.resume();
		(SOUNDS[kind] || SOUNDS.error)();
	} catch {
		/* no audio device: the banner still shows */
	}
	beeps++;
	const el = document.getElementById('flash');
	el.dataset.beeps = String(beeps);
	el.dataset.lastBeep = kind;
}

/* What runs after every message: the app puts the focus back in the scan bar. */
export function setAfter(fn) {
	after = fn;
}

/* Show msg; 'ok' and 'info' fade after a while, the others (nothing was
 * recorded, the technician must look) stay until the next message. */
export function flash(kind, msg, opts = {}) {
	const el = document.getElementById('flash');
	clearTimeout(hideTimer);
	el.hidden = false;
	el.className = kind;
	el.textContent = msg;
	document.body.classList.remove('pulse-ok', 'pulse-error');
	void document.body.offsetWidth; /* restart the animation */
	document.body.classList.add(kind === 'ok' || kind === 'info' ? 'pulse-ok' : 'pulse-error');
	if (opts.sound !== false && kind !== 'info') beep(kind);
	if (kind === 'ok' || kind === 'info') hideTimer = setTimeout(() => (el.hidden = true), opts.ms || 6000);
	if (opts.focus !== false) after();
}

export const ok = (msg, opts) => flash('ok', msg, opts);
export const error = (msg, opts) => flash('error', msg, opts);
export const warn = (msg, opts) => flash('warn', msg, opts);
export const occupied = (msg, opts) => flash('occupied', msg, opts);
export const elsewhere = (msg, opts) => flash('elsewhere', msg, opts);
export const consent = (msg, opts) => flash('consent', msg, opts);
export const info = (msg) => flash('info', msg, { sound: false });

export function clear() {
	document.getElementById('flash').hidden = true;
}
