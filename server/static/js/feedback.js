/* feedback.js — what the technician sees and hears from arm's length: a
 * large banner and a beep (Web Audio, no sound files): one high tone for
 * success, two low buzzes for an error. */

let ctx = null;
let hideTimer = 0;
let beeps = 0;

function tone(freq, start, dur, type) {
	const osc = ctx.createOscillator();
	const gain = ctx.createGain();
	osc.type = type;
	osc.frequency.value = freq;
	gain.gain.setValueAtTime(0.0001, ctx.currentTime + start);
	gain.gain.exponentialRampToValueAtTime(0.3, ctx.currentTime + start + 0.01);
	gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + start + dur);
	osc.connect(gain).connect(ctx.destination);
	osc.start(ctx.currentTime + start);
	osc.stop(ctx.currentTime + start + dur + 0.02);
}

export function beep(ok) {
	try {
		ctx = ctx || new AudioContext();
		if (ctx.state === 'suspended') ctx.resume();
		if (ok) {
			tone(1320, 0, 0.12, 'sine');
		} else {
			tone(220, 0, 0.18, 'square');
			tone(180, 0.24, 0.3, 'square');
		}
	} catch {
		/* no audio device: the banner still shows */
	}
	beeps++;
	const el = document.getElementById('flash');
	el.dataset.beeps = String(beeps);
	el.dataset.lastBeep = ok ? 'ok' : 'error';
}

/* Show msg; kind 'ok' fades after a while, 'error' and 'warn' (nothing was
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
	if (opts.sound !== false && kind !== 'info') beep(kind === 'ok');
	if (kind === 'ok' || kind === 'info') hideTimer = setTimeout(() => (el.hidden = true), opts.ms || 6000);
}

export const ok = (msg, opts) => flash('ok', msg, opts);
export const error = (msg, opts) => flash('error', msg, opts);
export const warn = (msg, opts) => flash('warn', msg, opts);
export const info = (msg) => flash('info', msg, { sound: false });

export function clear() {
	document.getElementById('flash').hidden = true;
}
