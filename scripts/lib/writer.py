#!/usr/bin/env python3
"""writer.py — the client side of scripts/backup-test and scripts/ha-test.

  writer.py setup URL USER PASSWORD STATE [--workers N]
      a study, participants, one 10x10 box per worker; the token and the
      boxes go to STATE (JSON).
  writer.py run URL STATE LOG --count N [--workers N] [--seconds S] [--tag T]
      a mixed write load (register, store, move, check out, return), every
      POST with its own Idempotency-Key, retried with that same key after a
      503 or a lost connection until a definite answer; one JSON line per
      write in LOG (appended), with what the client was answered and when.
  writer.py check LOG CONNINFO [--until EPOCH] [--expect-absent-after]
      the client's log against the database (through psql): every write
      answered 2xx is there exactly once; no effect of a write answered
      otherwise; with --until, writes answered before EPOCH are there and
      writes sent after it are not (a point-in-time restore).

Stops by itself: every write gives up after 120 s of retries. SIGTERM stops
a run once the writes in flight are answered.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

RETRY_FOR_S = 120.0
# SIGTERM: send no new write; those in flight go on to their answer.
STOP = threading.Event()
ROWS, COLS = 10, 10


def post(url, path, token, body, key, timeout=30):
    """One attempt: (status, headers, parsed body or None); status 0 when the
    connection failed (nothing was answered)."""
    data = json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if key:
        req.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, dict(r.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return e.code, dict(e.headers), parsed
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, {}, None


def setup(a):
    st, _, b = post(a.url, "/api/v1/sessions", None,
                    {"username": a.user, "password": a.password}, None)
    if st != 201:
        sys.exit("writer: login failed: %s %s" % (st, b))
    token = b["token"]

    def must(path, body, ok=(201,)):
        st, _, b = post(a.url, path, token, body, None)
        if st not in ok:
            sys.exit("writer: setup %s: %s %s" % (path, st, b))
        return b

    must("/api/v1/studies", {"code": "OPS", "name": "Operations test study"})
    parts = []
    for p in range(1, 5):
        code = "O%03d" % p
        must("/api/v1/participants", {"study": "OPS", "code": code, "sex": "female",
                                      "birth_year": 1970 + p, "diagnosis": "control"})
        parts.append(code)
    site = must("/api/v1/locations", {"kind": "site", "name": "Ops site"})["id"]
    fz = must("/api/v1/locations", {"kind": "freezer", "name": "Ops freezer",
                                    "parent": site, "temperature_c": -80})["id"]
    rack = must("/api/v1/locations", {"kind": "rack", "name": "Ops rack", "parent": fz})["id"]
    boxes = []
    for w in range(a.workers):
        bc = "OPS-B%d" % (w + 1)
        must("/api/v1/boxes", {"barcode": bc, "rows": ROWS, "cols": COLS, "parent": rack})
        boxes.append(bc)
    with open(a.state, "w") as f:
        json.dump({"token": token, "participants": parts, "boxes": boxes}, f)


class Worker:
    """One client: owns one box, so that its writes never race another's."""

    def __init__(self, a, state, n, out, lock, stop_at):
        self.a, self.token, self.box = a, state["token"], state["boxes"][n]
        self.parts, self.n = state["participants"], n
        self.out, self.lock, self.stop_at = out, lock, stop_at
        # Where the last run left this box (the state file), else empty.
        saved = state.get("workers", {}).get(str(n))
        if saved:
            self.free = saved["free"]
            self.stored = {k: tuple(v) for k, v in saved["stored"].items()}
            self.out_of_box = [tuple(v) for v in saved["out_of_box"]]
        else:
            self.free = ["%s%d" % (chr(65 + i // COLS), i % COLS + 1)
                         for i in range(ROWS * COLS)]
            random.shuffle(self.free)
            self.stored = {}      # specimen id -> (position, its register key)
            self.out_of_box = []  # (specimen id, its register key), checked out
        self.done = 0
        self.failed = 0

    def write(self, op, path, body, spec_key):
        key = "%s-%s" % (self.a.tag, uuid.uuid4())
        if op == "register":
            body["notes"] = key
            spec_key = key
        t0 = time.time()
        statuses = []
        no_retry_after = 0
        while True:
            st, hd, b = post(self.a.url, path, self.token, body, key)
            statuses.append(st)
            hd = {k.lower(): v for k, v in hd.items()}
            if st == 503 and "retry-after" not in hd:
                no_retry_after += 1
            if st != 0 and st != 503 and st < 500:
                break
            if time.time() - t0 > RETRY_FOR_S:
                break
            wait = 0.2
            if st == 503:
                try:
                    wait = float(hd.get("retry-after", "1"))
                except ValueError:
                    wait = 1.0
            time.sleep(wait * (0.5 + random.random()))
        t1 = time.time()
        rec = {"key": key, "op": op, "path": path, "spec": spec_key,
               "status": st, "statuses": statuses, "t0": t0, "t1": t1,
               "no_retry_after": no_retry_after}
        if op == "register" and 200 <= st < 300:
            rec["id"] = b["id"]
        with self.lock:
            self.out.write(json.dumps(rec) + "\n")
            self.out.flush()
        if 200 <= st < 300:
            self.done += 1
        else:
            self.failed += 1
        return st, b, rec

    def step(self):
        # Register while there is room; otherwise move, check out or return.
        # A return needs a free position: with the box full (after some
        # rounds) the only write is a checkout, which frees one.
        r = random.random()
        if self.out_of_box and self.free and (r < 0.2 or not self.stored):
            sid, skey = self.out_of_box.pop()
            pos = self.free.pop()
            st, _, _ = self.write("return", "/api/v1/specimens/%s/return" % sid,
                                  {"box": self.box, "position": pos, "thawed": False}, skey)
            if 200 <= st < 300:
                self.stored[sid] = (pos, skey)
            else:
                self.free.append(pos)
            return
        if self.free and (not self.stored or r < 0.35):
            st, b, rec = self.write("register", "/api/v1/specimens", {
                "participant": {"study": "OPS", "code": random.choice(self.parts)},
                "type": "serum", "timepoint": "baseline",
                "collected_at": "2026-01-15T09:30:00Z",
                "quantity": {"value": 1, "unit": "mL"}}, None)
            if not 200 <= st < 300:
                return
            sid, skey = b["id"], rec["spec"]
            pos = self.free.pop()
            st, _, _ = self.write("store", "/api/v1/specimens/%s/store" % sid,
                                  {"box": self.box, "position": pos}, skey)
            if 200 <= st < 300:
                self.stored[sid] = (pos, skey)
            else:
                self.free.append(pos)
            return
        if not self.stored:
            return
        sid = random.choice(list(self.stored))
        pos, skey = self.stored[sid]
        if self.free and r < 0.8:
            to = self.free.pop()
            st, _, _ = self.write("move", "/api/v1/specimens/%s/move" % sid,
                                  {"box": self.box, "position": to,
                                   "from": {"box": self.box, "position": pos}}, skey)
            if 200 <= st < 300:
                self.stored[sid] = (to, skey)
                self.free.append(pos)
            else:
                self.free.append(to)
        else:
            st, _, _ = self.write("checkout", "/api/v1/specimens/%s/checkout" % sid,
                                  {"reason": "ops test"}, skey)
            if 200 <= st < 300:
                del self.stored[sid]
                self.free.append(pos)
                self.out_of_box.append((sid, skey))

    def run(self, count):
        while (self.done + self.failed < count and time.time() < self.stop_at and
               not STOP.is_set()):
            self.step()


def run(a):
    with open(a.state) as f:
        state = json.load(f)
    lock = threading.Lock()
    stop_at = time.time() + a.seconds
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    with open(a.log, "a") as out:
        ws = [Worker(a, state, n, out, lock, stop_at) for n in range(a.workers)]
        per = max(1, a.count // a.workers)
        ts = [threading.Thread(target=w.run, args=(per,)) for w in ws]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    state["workers"] = {str(w.n): {"free": w.free, "stored": w.stored,
                                   "out_of_box": w.out_of_box} for w in ws}
    with open(a.state, "w") as f:
        json.dump(state, f)
    done = sum(w.done for w in ws)
    failed = sum(w.failed for w in ws)
    print("writer: %d writes answered 2xx, %d not" % (done, failed))
    return 0 if failed == 0 else 1


def psql(conninfo, sql):
    r = subprocess.run(["psql", "-X", "-q", "-tA", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-d", conninfo, "-c", sql], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("writer: psql: %s" % r.stderr.strip())
    return [l.split("\t") for l in r.stdout.splitlines() if l]


EVENT_OF = {"register": "registered", "store": "stored", "move": "moved",
            "checkout": "checked_out", "return": "returned"}


def check(a):
    recs = [json.loads(l) for l in open(a.log) if l.strip()]
    tag_like = "%s-%%" % a.tag if a.tag else "%"
    # Every specimen a write of ours registered, by the key in its notes, and
    # its custody events by type.
    rows = psql(a.conninfo,
                "SELECT s.notes, s.id, e.type, count(*) FROM specimens s "
                "JOIN events e ON e.specimen_id = s.id "
                "WHERE s.notes LIKE '%s' GROUP BY 1, 2, 3" % tag_like.replace("'", "''"))
    ids, got = {}, {}
    for notes, sid, typ, n in rows:
        ids.setdefault(notes, set()).add(sid)
        got[(notes, typ)] = got.get((notes, typ), 0) + int(n)
    keys = {r[0] for r in psql(a.conninfo, "SELECT key FROM idempotency_keys "
                                           "WHERE key LIKE '%s' AND status BETWEEN 200 AND 299"
                                           % tag_like.replace("'", "''"))}
    want = {}
    problems = []
    late = 0
    for r in recs:
        ok = 200 <= r["status"] < 300
        if a.until is not None:
            if r["t1"] <= a.until:
                expect = ok
            elif r["t0"] >= a.until:
                expect = False
                late += 1
            else:
                problems.append("write %s straddles the restore point" % r["key"])
                continue
        else:
            expect = ok
        if not ok:
            problems.append("write %s (%s) ended %s after %s" % (
                r["key"], r["op"], r["status"], r["statuses"]))
        if expect:
            want[(r["spec"], EVENT_OF[r["op"]])] = want.get((r["spec"], EVENT_OF[r["op"]]), 0) + 1
            if r["key"] not in keys:
                problems.append("write %s (%s) answered %s: its idempotency key is not "
                                "in the database" % (r["key"], r["op"], r["status"]))
    for spec, sids in ids.items():
        if len(sids) > 1:
            problems.append("register %s: %d specimens (duplicated)" % (spec, len(sids)))
    for k in set(want) | set(got):
        if k[0] not in {r["spec"] for r in recs if r["spec"]}:
            continue
        if want.get(k, 0) != got.get(k, 0):
            problems.append("specimen of %s: %d %s events in the database, %d writes "
                            "answered 2xx for it%s" % (k[0], got.get(k, 0), k[1], want.get(k, 0),
                                                       " before the restore point"
                                                       if a.until is not None else ""))
    n_ok = sum(1 for r in recs if 200 <= r["status"] < 300)
    n503 = sum(1 for r in recs if 503 in r["statuses"] or 0 in r["statuses"])
    for p in problems[:40]:
        print("  " + p)
    print("checked %d writes (%d answered 2xx, %d retried after a 503 or a lost connection"
          "%s): %d problems" % (len(recs), n_ok, n503,
                                 ", %d sent after the restore point" % late
                                 if a.until is not None else "", len(problems)))
    return 0 if not problems else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("url"); s.add_argument("user"); s.add_argument("password")
    s.add_argument("state"); s.add_argument("--workers", type=int, default=1)
    r = sub.add_parser("run")
    r.add_argument("url"); r.add_argument("state"); r.add_argument("log")
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--workers", type=int, default=1)
    r.add_argument("--seconds", type=float, default=600)
    r.add_argument("--tag", default="ops")
    c = sub.add_parser("check")
    c.add_argument("log"); c.add_argument("conninfo")
    c.add_argument("--until", type=float)
    c.add_argument("--tag", default="")
    a = ap.parse_args()
    if a.cmd == "setup":
        setup(a)
        return 0
    if a.cmd == "run":
        return run(a)
    return check(a)


if __name__ == "__main__":
    sys.exit(main())
