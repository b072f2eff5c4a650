#!/usr/bin/env python3
"""gen.py — the benchmark's data set, as CSV files for COPY.

A cohort of P participants in two studies (MASC, and SSCR with a tenth of
the participants, at most 200, which the CSV-export scenario reads), each sampled at 20
time points. Every collection is one whole-blood tube (consumed) from which
serum and plasma are derived (consumed) and split into 11 aliquots each:
25 specimens per collection, 500 per participant, so 2,000 participants
make 10^6 specimens and about 5 x 10^6 custody events. Aliquots are stored
in 9x9 boxes, 20 boxes a rack, racks on 5 shelves of 5 freezers; some went
out and back (thawed), some were shipped, consumed or are checked out.

Every event carries the hash chain that bb_events_chain would have written
(the canonical bytes of version 2, as bb_event_digest_v2 and lib/ledger.c),
and every specimen its ledger_seq and ledger_head, so that `biobankd
verify-ledger` passes on the loaded data. Specimen IDs are those
bb_id_for_serial issues.

The transparency log holds every event in the order they are generated
(log_entries, and log_nodes: each leaf SHA-256(0x00 || bytes) and every
complete subtree, as the sequencer stores them), except the last --pending
events, which wait in log_pending for the sequencer as new writes do.
counts.txt gives the log's size and root and, for a --pending run, the root
at the size the log has when loaded.

The first BENCH_BOXES ordinary boxes and the tubes for one 96-tube rack
(the next 96 aliquot positions) hold only in-storage tubes: the move and
rack scenarios cycle them.

usage: gen.py --participants P --out DIR [--pending N]
Writes DIR/{studies,participants,consents,locations,boxes,specimens,events,
log_entries,log_nodes,log_pending}.csv and DIR/counts.txt (name=value lines).
bench/load.sh makes the four large ones named pipes, each read by a COPY as
the rows are made. At 10^7 specimens this writes 5x10^7 events and 10^8 log
nodes: the per-event code avoids what it can (datetime per event, formatting
each canonical field).
"""

import argparse
import collections
import datetime
import hashlib
import json
import os
import shutil
import sys
import tempfile

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TIMEPOINTS = ["baseline", "m6", "m12"] + ["y%d" % y for y in range(2, 19)]
ALIQUOTS = 11  # per derivative
BOX_ROWS = BOX_COLS = 9
BOXES_PER_RACK = 20
SHELVES = 5
FREEZERS = 5
BENCH_BOXES = 16  # move scenario: one box per client
RACK_TUBES = 96  # rack placement and audit scenarios
DIAGNOSES = ["DM", "PM", "IBM", "IMNM", "ASyS", "SSc", "dcSSc", "lcSSc", "control"]
ZERO = "0" * 64
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


LUHN_DOUBLE = [(2 * d) // 32 + (2 * d) % 32 for d in range(32)]


def id_for_serial(serial):
    """bb_id_for_serial (migrations/functions/specimens.sql) and lib/ids.c: seven
    base-32 digits of the scrambled serial, most significant first, and a Luhn mod 32
    check character (the rightmost digit doubled). Unrolled: 10^7 calls at 10^7."""
    v = (serial * 21235486155) % 34359738368
    d0, d1, d2, d3 = v >> 30, (v >> 25) & 31, (v >> 20) & 31, (v >> 15) & 31
    d4, d5, d6 = (v >> 10) & 31, (v >> 5) & 31, v & 31
    total = (LUHN_DOUBLE[d6] + d5 + LUHN_DOUBLE[d4] + d3 + LUHN_DOUBLE[d2] + d1 + LUHN_DOUBLE[d0])
    a = ALPHABET
    ident = a[d0] + a[d1] + a[d2] + a[d3] + a[d4] + a[d5] + a[d6] + a[(32 - total % 32) % 32]
    if "0Z" in ident or "Z0" in ident:
        return None
    return ident


DAY_US = 86400 * 10**6
DATES = {}  # day number -> "YYYY-MM-DD ": the calendar done once a day, not once an event


def ts(micros):
    """A timestamptz literal for COPY, exact to the microsecond (what
    datetime's strftime("%Y-%m-%d %H:%M:%S.%f+00") gives, at a third of its cost:
    it is called for each of 5x10^7 events at 10^7 specimens)."""
    d, r = divmod(micros, DAY_US)
    date = DATES.get(d)
    if date is None:
        date = DATES[d] = (EPOCH + datetime.timedelta(days=d)).strftime("%Y-%m-%d ")
    s, us = divmod(r, 10**6)
    return "%s%02d:%02d:%02d.%06d+00" % (date, s // 3600, s // 60 % 60, s % 60, us)


def csv_field(value):
    if value is None:
        return ""
    s = str(value)
    if any(c in s for c in ',"\n\r') or s == "":
        return '"' + s.replace('"', '""') + '"'
    return s


class Writer:
    def __init__(self, path):
        # A large buffer: the big tables go through a pipe to COPY (scripts/bench).
        self.f = open(path, "w", encoding="utf-8", newline="", buffering=1 << 20)
        self.n = 0

    def row(self, *fields):
        self.f.write(",".join(csv_field(x) for x in fields) + "\n")
        self.n += 1

    def close(self):
        self.f.close()


class Log:
    """The transparency log as the sequencer writes it (server/db/tlog.c): each event's
    index, its leaf and every complete subtree (RFC 9162 hashing, lib/merkle.c)."""

    def __init__(self, out_dir):
        self.dir = out_dir
        self.entries = Writer(os.path.join(out_dir, "log_entries.csv"))
        self.nodes = Writer(os.path.join(out_dir, "log_nodes.csv"))
        # The nodes in (level, idx) order, log_nodes' primary key: the leaves as
        # they come, each higher level spilled to a file of its own and appended
        # at the end (bench/gen.c, emit_node, says why).
        self.upper = {}
        self.size = 0
        self.frontier = {}  # level -> the complete subtree that ends the tree

    def append(self, sid, seq, leaf):
        idx, h, level = self.size, leaf, 0
        self.entries.f.write("%d,%s,%d\n" % (idx, sid, seq))
        self.nodes.f.write("0,%d,\\x%s\n" % (idx, h.hex()))
        while (idx >> level) & 1:
            h = hashlib.sha256(b"\x01" + self.frontier[level] + h).digest()
            level += 1
            if level not in self.upper:
                self.upper[level] = tempfile.TemporaryFile("w+", dir=self.dir)
            self.upper[level].write("%d,%d,\\x%s\n" % (level, idx >> level, h.hex()))
        self.frontier[level] = h
        self.size += 1

    def root(self):
        """mt_frontier_root: fold the frontier's subtrees right to left."""
        out = None
        for level in range(64):
            if (self.size >> level) & 1:
                out = self.frontier[level] if out is None else \
                    hashlib.sha256(b"\x01" + self.frontier[level] + out).digest()
        return (out or hashlib.sha256(b"").digest()).hex()

    def close(self):
        self.entries.close()
        for level in sorted(self.upper):
            self.upper[level].seek(0)
            shutil.copyfileobj(self.upper[level], self.nodes.f)
            self.upper[level].close()
        self.nodes.close()


class V2Cache(dict):
    """A field of the canonical bytes of version 2 ("LEN:VALUE;", and NULL "-;",
    distinct from ''), kept for the values that recur (actors, boxes, positions,
    reasons, types): a dictionary hit costs less than formatting each field of
    5x10^7 events. Every value the generator writes is ASCII, so its length in
    characters is its length in bytes (the canonical bytes are encoded as ASCII,
    which would fail otherwise)."""

    def __missing__(self, value):
        text = self[value] = "%d:%s;" % (len(value), value)
        return text


V2 = V2Cache()
V2[None] = "-;"
CSV_REASON = {None: ""}
TS = {}  # ts() of the times of the current participant's events


class Chain:
    """One specimen's ledger, hashed as bb_event_digest_v2 does; each event goes to the
    log, or, past the first `logged` events, to the sequencer's queue."""

    def __init__(self, sid, out, log=None):
        self.sid, self.out, self.seq, self.head, self.log = sid, out, 0, ZERO, log
        # The version and the specimen, the same in each of its events (not cached: one
        # entry a specimen would hold 10^7 strings).
        self.canon_sid = "1:2;%d:%s;" % (len(sid), sid)
        self.write = out.f.write

    def add(self, etype, at, from_box=None, from_pos=None, to_box=None, to_pos=None,
            reason=None, details="{}", actor="tech1"):
        self.seq = seq = self.seq + 1
        seqs, ats = str(seq), str(at)
        canon = ("%s%d:%s;%s%d:%s;%s%s%s%s%s%s%d:%s;64:%s;" % (
            self.canon_sid, len(seqs), seqs, V2[etype], len(ats), ats, V2[actor], V2[from_box],
            V2[from_pos], V2[to_box], V2[to_pos], V2[reason], len(details), details,
            self.head)).encode("ascii")
        digest = hashlib.sha256(canon).hexdigest()
        # The row written directly (5x10^7 of them at 10^7 specimens): only reason and
        # details can hold a comma or a quote.
        # The same times recur in a collection (its 22 aliquots are handled together).
        tat = TS.get(at)
        if tat is None:
            tat = TS[at] = ts(at)
        creason = CSV_REASON.get(reason)
        if creason is None:
            creason = CSV_REASON[reason] = csv_field(reason)
        self.write("%s,%d,%s,%s,%s,,%s,%s,%s,%s,%s,\"%s\",\\x%s,\\x%s,2\n" % (
            self.sid, seq, etype, tat, actor, from_box or "", from_pos or "", to_box or "",
            to_pos or "", creason, details.replace('"', '""'), self.head, digest))
        self.out.n += 1
        self.head = digest
        leaf = hashlib.sha256(b"\x00" + canon).digest()
        if not PENDING[0]:
            LOG[0].append(self.sid, seq, leaf)
            return
        LOGGED.append((self.sid, seq, leaf))
        if len(LOGGED) > PENDING[0]:
            sid, seq, leaf = LOGGED.popleft()
            LOG[0].append(sid, seq, leaf)


LOGGED = collections.deque()  # the last --pending events: the queue, once all are made
PENDING = [0]
LOG = [None]


def pos_name(r, c):
    return chr(64 + r) + str(c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--participants", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--freezers", type=int, default=FREEZERS,
                    help="freezers the boxes are spread over (default %d)" % FREEZERS)
    ap.add_argument("--pending", type=int, default=0,
                    help="the last N events wait in log_pending instead of being logged")
    a = ap.parse_args()
    P = a.participants
    if P < 10:
        sys.exit("gen.py: at least 10 participants")
    os.makedirs(a.out, exist_ok=True)
    PENDING[0] = a.pending
    LOG[0] = Log(a.out)
    w = {n: Writer(os.path.join(a.out, n + ".csv")) for n in
         ("studies", "participants", "consents", "locations", "boxes", "specimens", "events")}

    w["studies"].row(1, "MASC", "Myositis and systemic sclerosis cohort")
    w["studies"].row(2, "SSCR", "Systemic sclerosis registry")
    # The CSV export reads this study: a tenth of everything up to 10^6 specimens, and
    # its 200 participants (10^5 specimens, the export's figure) in larger cohorts.
    sscr = min(P // 10, 200)

    # Storage: enough 9x9 boxes for every aliquot ever stored.
    aliquots = P * len(TIMEPOINTS) * 2 * ALIQUOTS
    nboxes = -(-aliquots // (BOX_ROWS * BOX_COLS))
    racks = -(-nboxes // BOXES_PER_RACK)
    freezers = a.freezers
    racks_per_shelf = -(-racks // (freezers * SHELVES))
    # Each location carries its path from the site down and the ids of its
    # ancestors (locations.path and .ancestors, which the triggers skipped by
    # COPY would have set).
    paths = {}
    ancestors = {}

    def location(lid, parent, kind, name, temperature=None, barcode=None):
        paths[lid] = (paths[parent] if parent else []) + [name]
        ancestors[lid] = (ancestors[parent] if parent else []) + [lid]
        w["locations"].row(lid, parent, kind, name, temperature, barcode,
                           json.dumps(paths[lid], separators=(",", ":")),
                           "{%s}" % ",".join(str(a) for a in ancestors[lid]))

    location(1, None, "site", "Main site")
    location(2, 1, "room", "Freezer room")
    next_loc = 3
    rack_ids = []
    bench_rack = None
    for f in range(freezers):
        fid = next_loc
        next_loc += 1
        location(fid, 2, "freezer", "Freezer %d" % (f + 1), -80 if f < 4 else -150, "FZ-%d" % (f + 1))
        for s in range(SHELVES):
            sid = next_loc
            next_loc += 1
            location(sid, fid, "shelf", "Shelf %d" % (s + 1))
            if f == 0 and s == 0:
                bench_rack = next_loc
                next_loc += 1
                location(bench_rack, sid, "rack", "Bench rack")
            for r in range(racks_per_shelf):
                rack_ids.append(next_loc)
                location(next_loc, sid, "rack", "Rack %d" % (r + 1))
                next_loc += 1
    box = w["boxes"]
    barcodes = {}
    for b in range(nboxes):
        barcodes[b + 1] = "BX%06d" % (b + 1)
        box.row(b + 1, barcodes[b + 1], BOX_ROWS, BOX_COLS, rack_ids[b // BOXES_PER_RACK])
    # Empty boxes for the scenarios: the move targets and two SBS racks.
    for c in range(BENCH_BOXES):
        box.row(nboxes + 1 + c, "BM-B-%02d" % c, BOX_ROWS, BOX_COLS, bench_rack)
    box.row(nboxes + BENCH_BOXES + 1, "RP-1", 8, 12, bench_rack)
    box.row(nboxes + BENCH_BOXES + 2, "RP-2", 8, 12, bench_rack)
    protected = BENCH_BOXES * BOX_ROWS * BOX_COLS + RACK_TUBES  # first aliquot slots: always stored

    spec, ev = w["specimens"], w["events"]
    serial = 0
    slot = 0  # aliquot storage slot, filling boxes in order

    def next_id():
        nonlocal serial
        while True:
            serial += 1
            ident = id_for_serial(serial)
            if ident is not None:
                return ident, serial

    consent_id = 0
    # From 2000, so that even a cohort of 5,000 (10^7 events) ends in the past: the
    # incremental verify looks at the events of the last hour by their time.
    base = int(datetime.datetime(2000, 1, 3, 9, 0, tzinfo=datetime.timezone.utc).timestamp()) * 10**6
    day = 86400 * 10**6
    for p in range(P):
        pid = p + 1
        study_id, study = (2, "SSCR") if p >= P - sscr else (1, "MASC")
        code = "P%05d" % pid
        diag = "SSc" if study_id == 2 else DIAGNOSES[p % len(DIAGNOSES)]
        TS.clear()
        w["participants"].row(pid, study_id, code, ("female", "male")[p % 3 == 0], 1940 + p % 60, diag)
        for scope in ("study", "biobank"):
            consent_id += 1
            w["consents"].row(consent_id, pid, scope, "given", ts(base + p * day)[:10], "v2.1", "loader")
        for ti, tp in enumerate(TIMEPOINTS):
            collected = base + p * day + ti * 182 * day + (p % 7) * 3600 * 10**6
            t = collected + 3600 * 10**6
            root, root_serial = next_id()
            rchain = Chain(root, ev)
            rchain.add("registered", t, details='{"study": "%s", "participant": "%s"}' % (study, code))
            derivs = []
            for dtype in ("serum", "plasma"):
                did, dserial = next_id()
                derivs.append((did, dserial, dtype))
                rchain.add("derived", t + 60 * 10**6, details='{"type": "%s", "child": "%s"}' % (dtype, did))
            rchain.add("consumed", t + 120 * 10**6, reason="processed into serum and plasma")
            # Specimen rows written directly, as Writer.row would (no field needs quoting).
            tcollected = ts(collected)
            spec.f.write("%s,%d,%d,%d,whole_blood,%s,%s,10,mL,,,,consumed,0,f,,,,,%s,%d,\\x%s\n" % (
                root, root_serial, study_id, pid, tp, tcollected, ts(t), rchain.seq, rchain.head))
            spec.n += 1
            for did, dserial, dtype in derivs:
                dchain = Chain(did, ev)
                dt = t + 60 * 10**6
                dchain.add("registered", dt, details='{"parent": "%s", "derivation": "derivative"}' % root)
                kids = [next_id() for _ in range(ALIQUOTS)]
                dchain.add("aliquoted", dt + 600 * 10**6,
                           details='{"count": %d, "children": [%s], "quantity_each": 0.5}'
                           % (ALIQUOTS, ", ".join('"%s"' % k for k, _ in kids)))
                dchain.add("consumed", dt + 660 * 10**6, reason="aliquoted in full")
                spec.f.write("%s,%d,%d,%d,%s,%s,%s,0,mL,%s,derivative,,consumed,0,f,,,,,%s,%d,\\x%s\n" % (
                    did, dserial, study_id, pid, dtype, tp, tcollected, root, ts(dt), dchain.seq, dchain.head))
                spec.n += 1
                for kid, kserial in kids:
                    c = Chain(kid, ev)
                    at = dt + 600 * 10**6
                    c.add("registered", at, details='{"parent": "%s", "derivation": "aliquot"}' % did)
                    c.add("label_printed", at + 30 * 10**6, details='{"copies": 1, "printer": "bench-1"}')
                    b = slot // (BOX_ROWS * BOX_COLS) + 1
                    k = slot % (BOX_ROWS * BOX_COLS)
                    bc, pos = barcodes[b], pos_name(k // BOX_COLS + 1, k % BOX_COLS + 1)
                    c.add("stored", at + 900 * 10**6, to_box=bc, to_pos=pos)
                    thaws = kserial % 3
                    when = at + 30 * day
                    for _ in range(thaws):
                        c.add("checked_out", when, from_box=bc, from_pos=pos, reason="assay")
                        c.add("returned", when + 4 * 3600 * 10**6, to_box=bc, to_pos=pos, details='{"thawed": true}')
                        when += 200 * day
                    fate = kserial % 100 if slot >= protected else 99
                    status, sbox, srow, scol = "in_storage", b, k // BOX_COLS + 1, k % BOX_COLS + 1
                    if fate < 4:
                        status = "shipped"
                        c.add("shipped", when, from_box=bc, from_pos=pos, reason="proteomics core",
                              details='{"conditions": "dry ice"}')
                    elif fate < 7:
                        status = "consumed"
                        c.add("checked_out", when, from_box=bc, from_pos=pos, reason="assay")
                        c.add("consumed", when + 3600 * 10**6, reason="used up in assay")
                    elif fate < 10:
                        status = "checked_out"
                        c.add("checked_out", when, from_box=bc, from_pos=pos, reason="assay")
                    if status != "in_storage":
                        sbox = srow = scol = None
                    place = ",," if sbox is None else "%d,%d,%d" % (sbox, srow, scol)
                    spec.f.write("%s,%d,%d,%d,%s,%s,%s,0.5,mL,%s,aliquot,FX%08d,%s,%d,f,%s,,%s,%d,\\x%s\n" % (
                        kid, kserial, study_id, pid, dtype, tp, tcollected, did, kserial, status, thaws, place,
                        ts(at), c.seq, c.head))
                    spec.n += 1
                    slot += 1
    for x in w.values():
        x.close()
    log = LOG[0]
    with open(os.path.join(a.out, "log_pending.csv"), "w") as f:
        for sid, seq, _ in LOGGED:
            f.write("%s,%d\n" % (sid, seq))
    log.close()
    with open(os.path.join(a.out, "counts.txt"), "w") as f:
        f.write("participants=%d\nspecimens=%d\nevents=%d\nboxes=%d\nlocations=%d\nmax_serial=%d\n"
                "sscr_specimens=%d\nfreezers=%d\nlast_box=%d\nlog_size=%d\nlog_root=%s\n"
                "log_pending=%d\n"
                % (P, w["specimens"].n, w["events"].n, nboxes + BENCH_BOXES + 2, next_loc - 1, serial,
                   sscr * len(TIMEPOINTS) * 25, freezers, nboxes, log.size, log.root(), len(LOGGED)))


if __name__ == "__main__":
    main()
