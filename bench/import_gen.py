#!/usr/bin/env python3
"""bench/import_gen.py — an inventory file for bench/import.sh (docs/import.md).

Writes ROWS data rows in the import template: per participant one consumed
whole-blood tube (row key W<n>) and 9 aliquots whose parent is that key,
stored 81 to a 9x9 box, 100 boxes to a rack path; a tube barcode, a legacy
ID and now and then a note with a comma, a quote and a newline. UTF-8, ','
and CRLF as a spreadsheet writes them. Deterministic: the same ROWS give the
same bytes.

usage: bench/import_gen.py ROWS OUT.csv [--study CODE]
"""
import argparse

HEADER = ("key,study,participant_code,sex,birth_year,diagnosis,consent_scope,consent_status,"
          "consent_date,consent_version,specimen_type,timepoint,collected_at,quantity,unit,"
          "tube_barcode,parent,location_path,box_barcode,box_grid,position,status,"
          "freeze_thaw_count,legacy_id,notes")
DIAG = ["DM", "IBM", "PM", "SSc", "ASyS", "IMNM"]
TYPES = ["serum", "plasma", "serum", "pbmc", "serum", "plasma", "serum", "plasma", "dna"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", type=int)
    ap.add_argument("out")
    ap.add_argument("--study", default="BENCH")
    a = ap.parse_args()
    stored = 0
    with open(a.out, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\r\n")
        n = 0
        p = 0
        while n < a.rows:
            p += 1
            code = "BP-%06d" % p
            year = 1940 + p % 60
            day = 1 + p % 28
            month = 1 + p % 12
            wkey = "W%d" % p
            f.write("%s,%s,%s,%s,%d,%s,biobank,given,2015-%02d-%02d,v1,whole_blood,baseline,"
                    "2016-%02d-%02dT08:00:00+01:00,10,mL,,,,,,,consumed,0,LEG-%d,\r\n"
                    % (wkey, a.study, code, "FM"[p % 2], year, DIAG[p % len(DIAG)], month, day,
                       month, day, n + 1))
            n += 1
            for i in range(9):
                if n >= a.rows:
                    break
                box = stored // 81
                slot = stored % 81
                rack = box // 100
                path = "Bench site / Room 1 / Freezer %d / Shelf %d / Rack %d" % (
                    rack // 20 + 1, rack // 5 % 4 + 1, rack % 5 + 1)
                note = ""
                if n % 50 == 0:
                    note = '"hémolysé, ""léger""\nà recontrôler"'
                f.write("S%d,%s,%s,,,,,,,,%s,baseline,2016-%02d-%02dT09:%02d:00+01:00,0.5,mL,"
                        "BT%08d,%s,%s,BENCH-BOX-%05d,9x9,%s%d,in_storage,%d,LEG-%d,%s\r\n"
                        % (n + 1, a.study, code, TYPES[i], month, day, i, n + 1, wkey, path, box,
                           "ABCDEFGHI"[slot // 9], slot % 9 + 1, i % 3, n + 1, note))
                stored += 1
                n += 1


if __name__ == "__main__":
    main()
