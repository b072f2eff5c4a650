#!/usr/bin/env python3
"""label_png.py — "PNG label render no more than 2x zint's own bitmap render
for the same symbol, with the same decode checks" (issue 21;
docs/performance.md, "labelgen PNG vs zint").

Both sides draw the same DataMatrix: the same IDs, the same symbol size
(zint --vers, the size labelgen lays out) and the same module in pixels
(zint --scale, measured on labelgen's own PNG). labelgen writes the whole
label (symbol, quiet zone, text lines) into a folder, one PNG a label, as
`labelgen --output DIR/` does for a technician; zint writes the bare symbol
with its own PNG writer (`zint --batch`), one file a symbol. Both are timed
as whole processes by their CPU time (user + sys, from wait4), which a
shared, loaded machine changes far less than wall time; the rounds run A, B,
A, B so that a drift in the machine's speed touches both alike, and the
ratio is the median of each round's pair. Both folders are then read back
by dmtxread, which must give every ID in order; and labelgen's labels must
hold no Code 128 (the default stock is too narrow for one at 203 dpi), so
that zint's single symbol is the whole of what the label encodes.

usage: bench/label_png.py LABELGEN [--csv FILE] [--work DIR] [-n N] [--rounds R]
                          [--results FILE] [--same-pixels-as OTHER]
With no --csv, labels are made like bench/gen.py's aliquots (IDs, types,
participants, timepoints, collection dates) for a run without a database.
Prints `key=value` lines (appended to --results when given).

--same-pixels-as OTHER (another labelgen, e.g. main's) checks a change that
must not move a dot instead of timing: the N labels and some that are not
the benchmark's kind (Chinese, Arabic, accents, a line cut short, empty
fields) on every roll template at 203, 300 and 600 dpi, drawn by both, each
file decoded here and compared pixel for pixel (the compressed bytes may
differ).
"""
import argparse
import collections
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import struct
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import id_for_serial  # noqa: E402

# ECC 200 square sizes and their data codewords, as labelgen/label.c lays them out.
DM_SIZES = [(10, 3), (12, 5), (14, 8), (16, 12), (18, 18), (20, 22), (22, 30), (24, 36), (26, 44),
            (32, 62), (36, 86), (40, 114), (44, 144), (48, 174), (52, 204)]


def dm_version(ident):
    """zint's --vers for the size labelgen gives ident (label.c, dm_size_index)."""
    cw, i = 0, 0
    while i < len(ident):
        if ident[i].isdigit() and i + 1 < len(ident) and ident[i + 1].isdigit():
            i += 1
        i += 1
        cw += 1
    for k, (_, cap) in enumerate(DM_SIZES):
        if cap >= cw:
            return k + 1
    raise ValueError("ID %s is too long for a DataMatrix" % ident)


def synth_rows(n):
    """Aliquot labels like the benchmark's data set (bench/gen.py)."""
    rows, serial = [], 0
    while len(rows) < 4 * n:
        serial += 1
        ident = id_for_serial(serial)
        if ident is None or serial % 25 in (1, 2, 3):  # the whole blood and its two derivatives
            continue
        p = serial // 500 + 1
        tp = ("baseline", "month3", "month6", "month12")[(serial // 25) % 4]
        day = 1 + (serial // 25) % 28
        rows.append({"id": ident, "type": ("serum", "plasma")[(serial // 12) % 2],
                     "participant": "MASC/P%05d" % p, "timepoint": tp,
                     "collected_at": "2001-%02d-%02dT09:00:00Z" % (1 + p % 12, day)})
    return rows


def pick(rows, n):
    """The first n labels whose DataMatrix has the most common size: one zint
    process draws them all at that size."""
    vers = collections.Counter(dm_version(r["id"]) for r in rows).most_common(1)[0][0]
    chosen = [r for r in rows if dm_version(r["id"]) == vers][:n]
    if len(chosen) < n:
        sys.exit("label_png: only %d labels with a %dx%d DataMatrix; need %d" % (
            len(chosen), DM_SIZES[vers - 1][0], DM_SIZES[vers - 1][0], n))
    return vers, chosen


def run_timed(argv, out_dir):
    """Runs argv once in an emptied out_dir: (user + sys seconds, wall seconds)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    os.mkdir(out_dir)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=out_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit("label_png: %s exited %d: %s" % (argv[0], proc.returncode, err.decode(errors="replace")))
    return ru.ru_utime + ru.ru_stime, wall


def decode(files, what):
    """Every file's DataMatrix as dmtxread reads it, in order; one process."""
    out = subprocess.run(["dmtxread", "-n", "-N1", "-m", "20000"] + files, capture_output=True, text=True)
    got = out.stdout.split()
    if len(got) != len(files):
        sys.exit("label_png: dmtxread read %d of %d %s files" % (len(got), len(files), what))
    return got


def geometry(png):
    """(rows, module pitch in pixels) of the DataMatrix in png, from dmtxread's corners."""
    out = subprocess.run(["dmtxread", "-v", "-N1", "-m", "20000", png], capture_output=True,
                         text=True).stderr
    size = re.search(r"Matrix Size: (\d+) x (\d+)", out)
    corners = [float(c) for c in re.findall(r"Corner [01]: \(([\d.]+), [\d.]+\)", out)]
    if size is None or len(corners) < 2:
        sys.exit("label_png: dmtxread -v on %s gave no size or corners:\n%s" % (png, out))
    rows = int(size.group(1))
    # The corners are found to a fraction of a pixel: the pitch is a whole number of dots.
    return rows, round(abs(corners[1] - corners[0]) / rows)


def png_pixels(path):
    """(width, height, bit depth, colour type, pHYs, rows) of an 8-bit grey PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("label_png: %s is not a PNG" % path)
    at, idat, head, phys = 8, [], None, None
    while at < len(data):
        n, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + n]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[at + 8 + n:at + 12 + n])[0]:
            sys.exit("label_png: %s: bad CRC in %s" % (path, kind.decode()))
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"pHYs":
            phys = body
        elif kind == b"IDAT":
            idat.append(body)
        at += 12 + n
    w, h, depth, colour = head[:4]
    if depth != 8 or colour != 0 or head[6] != 0:
        sys.exit("label_png: %s is not 8-bit grey, not interlaced" % path)
    raw = zlib.decompress(b"".join(idat))
    rows, prev = [], bytearray(w)
    for y in range(h):
        kind, line = raw[y * (w + 1)], bytearray(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        for x in range(w if kind else 0):
            a = line[x - 1] if x else 0
            b, c = prev[x], prev[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, depth, colour, phys, rows


def same_pixels(a, other, chosen, work):
    """Every label drawn by both labelgens, compared pixel for pixel."""
    odd = [("plasma", "\u60a3\u8005-0042", "\u57fa\u7ebf", "2001-02-03T09:00:00Z"),
           ("serum", "\u0645\u0631\u064a\u0636-\u0667", "month3", "2001-02-03T09:00:00Z"),
           ("s\u00e9rum", "M\u00fcller-L\u00e9on", "J\u00f6rg's baseline", "2001-02-03"),
           ("whole_blood_with_a_very_long_type_name", "MASC/P00001",
            "a timepoint far too long for any label we print", "2001-02-03"),
           ("", "", "", ""),
           ("serum", "", "", "2001-02-03"),
           ("", "MASC/P00002", "month6", "")]
    rows = list(chosen)
    for k, (typ, who, tp, when) in enumerate(odd):
        rows.append({"id": id_for_serial(10 ** 6 + 7 * k + 1) or chosen[k]["id"], "type": typ,
                     "participant": who, "timepoint": tp, "collected_at": when})
    path = os.path.join(work, "same.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, ["id", "type", "participant", "timepoint", "collected_at"],
                           extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    total, templates = 0, ("cryo-1.28x0.5in", "cryo-1x0.5in", "box-2x1in")
    for tpl in templates:
        for dpi in (203, 300, 600):
            dirs = []
            for k, exe in enumerate((a.labelgen, other)):
                out = os.path.join(work, "same%d" % k)
                shutil.rmtree(out, ignore_errors=True)
                subprocess.run([os.path.abspath(exe), "--input", path, "--format", "png",
                                "--template", tpl, "--dpi", str(dpi), "--output", out + "/"],
                               check=True, stderr=subprocess.PIPE)
                dirs.append(out)
            names = sorted(os.listdir(dirs[0]))
            if names != sorted(os.listdir(dirs[1])) or len(names) != len(rows):
                sys.exit("label_png: %s at %d dpi: the two made different files" % (tpl, dpi))
            for name in names:
                if png_pixels(os.path.join(dirs[0], name)) != png_pixels(os.path.join(dirs[1], name)):
                    sys.exit("label_png: %s at %d dpi: %s differs" % (tpl, dpi, name))
            total += len(names)
    return "%d labels (%d kinds on %d templates at 203, 300 and 600 dpi) pixel for pixel" % (
        total, len(rows), len(templates))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("labelgen")
    ap.add_argument("--csv")
    ap.add_argument("--work")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--results")
    ap.add_argument("--same-pixels-as")
    a = ap.parse_args()
    work = os.path.abspath(a.work or tempfile.mkdtemp(prefix="label_png."))
    os.makedirs(work, exist_ok=True)

    if a.csv:
        with open(a.csv, newline="") as f:
            rows = list(csv.DictReader(f))
    else:
        rows = synth_rows(a.n)
    vers, chosen = pick(rows, a.n)
    fields = ["id", "type", "participant", "timepoint", "collected_at"]
    png_csv, ids_txt = os.path.join(work, "png.csv"), os.path.join(work, "png_ids.txt")
    with open(png_csv, "w", newline="") as f:
        w = csv.DictWriter(f, fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(chosen)
    with open(ids_txt, "w") as f:
        f.write("".join(r["id"] + "\n" for r in chosen))

    if a.same_pixels_as:
        line = "png_same_pixels=%s\n" % same_pixels(a, a.same_pixels_as, chosen, work)
        sys.stdout.write(line)
        if a.results:
            with open(a.results, "a") as f:
                f.write(line)
        return

    ours, theirs = os.path.join(work, "labelgen"), os.path.join(work, "zint")
    lg = [os.path.abspath(a.labelgen), "--input", png_csv, "--format", "png", "--output", ours + "/"]
    run_timed(lg, ours)
    rows_ours, module = geometry(os.path.join(ours, chosen[0]["id"] + ".png"))
    if rows_ours != DM_SIZES[vers - 1][0]:
        sys.exit("label_png: labelgen drew a %dx%d DataMatrix; expected %dx%d" % (
            rows_ours, rows_ours, DM_SIZES[vers - 1][0], DM_SIZES[vers - 1][0]))
    # zint's raster X-dimension is 2 pixels at --scale=1, in steps of half a scale; the
    # label's quiet zone is 2 modules (labelgen/lbl_int.h, LBL_DM_QUIET), without which
    # no reader finds the symbol. --mirror names each file after its ID, in the folder
    # zint runs in, as labelgen names them.
    zint = ["zint", "-b", "DATAMATRIX", "--square", "--vers=%d" % vers, "--scale=%g" % (module / 2),
            "--whitesp=2", "--vwhitesp=2", "--batch", "--mirror", "-i", ids_txt]
    run_timed(zint, theirs)
    if geometry(os.path.join(theirs, chosen[0]["id"] + ".png")) != (rows_ours, module):
        sys.exit("label_png: zint's symbol is not the one labelgen draws: %s vs %s" % (
            geometry(os.path.join(theirs, chosen[0]["id"] + ".png")), (rows_ours, module)))

    # A warm-up of each above; then the rounds, each at N labels and at 1 (the process's
    # own start-up: fontconfig's configuration, the fonts, libraries).
    one_csv, one_ids = os.path.join(work, "one.csv"), os.path.join(work, "one_ids.txt")
    with open(png_csv) as f, open(one_csv, "w") as g:
        g.writelines(f.readlines()[:2])
    with open(one_ids, "w") as f:
        f.write(chosen[0]["id"] + "\n")
    lg_one = lg[:2] + [one_csv] + lg[3:-1] + [ours + "1/"]
    zint_one = zint[:-1] + [one_ids]
    cpu = collections.defaultdict(list)
    wall = collections.defaultdict(list)
    for _ in range(a.rounds):
        for key, argv, out in (("lg", lg, ours), ("zint", zint, theirs),
                               ("lg1", lg_one, ours + "1"), ("zint1", zint_one, theirs + "1")):
            c, t = run_timed(argv, out)
            cpu[key].append(c)
            wall[key].append(t)

    # The last round's files, read back.
    want = [r["id"] for r in chosen]
    if decode([os.path.join(ours, i + ".png") for i in want], "labelgen") != want:
        sys.exit("label_png: dmtxread did not read labelgen's IDs in order")
    if decode([os.path.join(theirs, i + ".png") for i in want], "zint") != want:
        sys.exit("label_png: dmtxread did not read zint's IDs in order")
    bars = subprocess.run(["zbarimg", "-q", "--raw", "-Sdisable", "-Scode128.enable",
                           os.path.join(ours, want[0] + ".png")], capture_output=True, text=True).stdout
    if bars.strip():
        sys.exit("label_png: labelgen's label holds a Code 128; zint would have to draw it too")

    n = a.n
    med = {k: statistics.median(v) for k, v in cpu.items()}
    ratio = statistics.median(x / y for x, y in zip(cpu["lg"], cpu["zint"]))
    # What one more label costs: the N-label run less the 1-label run, per label.
    per = {k: statistics.median((x - y) / (n - 1) for x, y in zip(cpu[k], cpu[k + "1"]))
           for k in ("lg", "zint")}
    res = [
        ("png_n", n),
        ("png_dm", "%dx%d at %d px a module" % (rows_ours, rows_ours, module)),
        ("png_rounds", a.rounds),
        ("png_cpu_ms_per_label", "%.4f" % (med["lg"] * 1000 / n)),
        ("zint_cpu_ms_per_label", "%.4f" % (med["zint"] * 1000 / n)),
        ("png_cpu_ratio", "%.2f" % ratio),
        ("png_cpu_ratio_min", "%.2f" % min(x / y for x, y in zip(cpu["lg"], cpu["zint"]))),
        ("png_cpu_ratio_max", "%.2f" % max(x / y for x, y in zip(cpu["lg"], cpu["zint"]))),
        ("png_start_ms", "%.1f" % (med["lg1"] * 1000)),
        ("zint_start_ms", "%.1f" % (med["zint1"] * 1000)),
        ("png_marginal_ms", "%.4f" % (per["lg"] * 1000)),
        ("zint_marginal_ms", "%.4f" % (per["zint"] * 1000)),
        ("png_wall_ms_per_label", "%.4f" % (statistics.median(wall["lg"]) * 1000 / n)),
        ("zint_wall_ms_per_label", "%.4f" % (statistics.median(wall["zint"]) * 1000 / n)),
        ("png_decoded", "%d of %d labels and %d of %d zint symbols" % (n, n, n, n)),
    ]
    lines = "".join("%s=%s\n" % kv for kv in res)
    sys.stdout.write(lines)
    if a.results:
        with open(a.results, "a") as f:
            f.write(lines)


if __name__ == "__main__":
    main()
