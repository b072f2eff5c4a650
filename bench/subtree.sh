#!/bin/bash
# subtree.sh — "the tubes in one of 50 freezers holding 10^6 tubes, first
# page" (issue 18, docs/performance.md "Finding things below a location").
# Generates the benchmark's data set with its boxes spread over 50 freezers
# (bench/gen.py --freezers 50), loads its storage (locations with their
# ancestors, boxes, specimens: the events play no part) into database
# subtree of the cluster named by PGHOST/PGPORT/PGUSER (a superuser), and
# times bb_specimen_list with ?location= for three freezers and the site:
# on a new connection, and the best of three on the same connection.
#
# usage: bench/subtree.sh BIOBANKD [WORKDIR]   (run it under nice -n -20)
set -euo pipefail
biobankd=$1
work=${2:-$(mktemp -d /tmp/subtree.XXXXXX)}
cd "$(dirname "$0")/.."
[ -f "$work/data/specimens.csv" ] ||
	python3 bench/gen.py --participants 2000 --freezers 50 --out "$work/data"
psql -qX -c "DROP DATABASE IF EXISTS subtree" -c "CREATE DATABASE subtree"
BIOBANK_DATABASE_URL="dbname=subtree" "$biobankd" migrate >/dev/null
copy() { PGOPTIONS='-c session_replication_role=replica' psql -qX -d subtree \
	-c "\\copy $1 ($2) FROM '$work/data/$1.csv' WITH (FORMAT csv)"; }
copy studies "id, code, name"
copy participants "id, study_id, code, sex, birth_year, diagnosis"
copy locations "id, parent_id, kind, name, temperature_c, barcode, path, ancestors"
copy boxes "id, barcode, rows, cols, location_id"
copy specimens "id, serial, study_id, participant_id, type, timepoint, collected_at, quantity,
	unit, parent_id, derivation, tube_barcode, status, freeze_thaw_count, consent_withdrawn,
	box_id, pos_row, pos_col, notes, created_at, ledger_seq, ledger_head"
psql -qX -d subtree -c "VACUUM ANALYZE"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# Four calls in one session: the first plans and compiles what it runs (a
# connection's first call); the daemon keeps its connections, so the best
# of the next three is what a request costs.
for name in "Freezer 1" "Freezer 19" "Freezer 36" "Main site"; do
	id=$(psql -qXAt -d subtree -c "SELECT id FROM locations WHERE name = '$name' ORDER BY id LIMIT 1")
	q="SELECT length(bb_specimen_list(NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 50, NULL, $id)::text)"
	times=$(psql -qXAt -d subtree -c '\timing on' -c "$q" -c "$q" -c "$q" -c "$q" |
		awk '/^Time:/ {print $2}')
	first=$(echo "$times" | head -1)
	best=$(echo "$times" | tail -3 | sort -n | head -1)
	echo "$name (location $id): first page of 50: $first ms on a new connection, best of 3 after: $best ms"
done
