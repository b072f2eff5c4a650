# bench/completeness.sh — the completeness report's figure (scripts/bench
# --completeness; issue 17), sourced by scripts/bench once the cluster runs
# and the schema is migrated, with its helpers (sql, psql_su, res, settle,
# median, p90, say, die) and variables defined. It makes its own data set
# in SQL, the size of the whole MASC cohort: 1,660 participants x 6
# timepoints x 5 specimen types, 10^6 specimens (24 tubes a cell; one visit
# in twelve never happened and a tenth of the other cells are empty; three
# tubes in four in storage), a protocol
# expecting 10 tubes a cell, visits done where tubes were registered; then
# biobankd times GET /api/v1/studies/MASC/completeness as JSON and as CSV,
# and the SQL function alone. Figures as name=value lines in $results; the
# section between completeness:begin and completeness:end of
# docs/performance.md is rewritten with them (unless --no-doc).

c_participants=${c_participants:-1660}
c_per_cell=${c_per_cell:-24}
c_runs=${c_runs:-11}
say "completeness: $c_participants participants x 6 timepoints x 5 types, $c_per_cell tubes a cell"
t0=$(date +%s)
psql_su <<SQL >/dev/null
SET session_replication_role = replica; -- no triggers: the ledger is not what is measured
INSERT INTO studies (code, name) VALUES ('MASC', 'Myositis cohort (benchmark)');
INSERT INTO participants (study_id, code, sex, birth_year, diagnosis, enrolled_on)
SELECT (SELECT id FROM studies WHERE code = 'MASC'), 'P' || lpad(n::text, 5, '0'),
       CASE WHEN n % 2 = 0 THEN 'female' ELSE 'male' END, 1950 + n % 50, 'DM',
       date '2021-01-01' + (n * 7) % 1400
  FROM generate_series(1, $c_participants) n;
-- (the path the locations_path trigger would keep)
INSERT INTO locations (kind, name, path) VALUES ('site', 'Main lab', '["Main lab"]'), ('site', 'Annex', '["Annex"]');
INSERT INTO locations (parent_id, kind, name, temperature_c, path)
SELECT id, 'freezer', name || ' freezer', -80, path || to_jsonb(name || ' freezer') FROM locations WHERE kind = 'site';
CREATE TEMP TABLE cells AS
SELECT p.id AS pid, p.study_id, t.code AS tp, t.ord, ty.type, ty.k
  FROM participants p
 CROSS JOIN (VALUES ('baseline', 0), ('m6', 1), ('m12', 2), ('m24', 3), ('m36', 4), ('m48', 5)) t(code, ord)
 CROSS JOIN (VALUES ('serum', 0), ('plasma', 1), ('whole_blood', 2), ('pbmc', 3), ('dna', 4)) ty(type, k)
 -- one visit in twelve never happened; a tenth of the other cells were never collected
 WHERE (p.id * 7 + t.ord * 5) % 12 <> 0 AND (p.id * 7 + t.ord * 3 + ty.k) % 10 <> 0;
CREATE TEMP TABLE tubes AS
SELECT row_number() OVER () AS serial, c.*, i
  FROM cells c CROSS JOIN generate_series(1, $c_per_cell) i;
-- 81 stored tubes a 9x9 box, the boxes split over the two sites.
CREATE TEMP TABLE stored AS
SELECT serial, row_number() OVER (ORDER BY serial) - 1 AS slot FROM tubes WHERE i % 4 <> 0;
INSERT INTO boxes (barcode, rows, cols, location_id)
SELECT 'CB-' || b, 9, 9, (SELECT id FROM locations WHERE kind = 'freezer' ORDER BY id LIMIT 1 OFFSET b % 2)
  FROM generate_series(0, (SELECT max(slot) FROM stored) / 81) b;
SELECT setval('specimen_serial', (SELECT max(serial) FROM tubes) + 1000);
INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint, collected_at, quantity, unit,
	status, box_id, pos_row, pos_col, protocol_version, sprec)
SELECT 'B' || lpad(upper(to_hex(t.serial)), 7, '0'), t.serial, t.study_id, t.pid, t.type, t.tp,
       timestamptz '2024-01-01' + t.ord * interval '180 days', 0.5, 'mL',
       CASE WHEN s.slot IS NOT NULL THEN 'in_storage' WHEN t.serial % 3 = 0 THEN 'consumed' ELSE 'checked_out' END,
       (SELECT b.id FROM boxes b WHERE b.barcode = 'CB-' || (s.slot / 81)),
       CASE WHEN s.slot IS NOT NULL THEN (s.slot % 81) / 9 + 1 END,
       CASE WHEN s.slot IS NOT NULL THEN s.slot % 9 + 1 END, 1, 'SER-SST-A-B-N-B-A'
  FROM tubes t LEFT JOIN stored s ON s.serial = t.serial;
INSERT INTO visits (participant_id, timepoint, status, actual_date, protocol_version, updated_by)
SELECT DISTINCT pid, tp, 'done', date '2024-01-01' + ord * 180, 1, 'bench' FROM cells;
-- a fifth of the visits that never happened were marked missed; the rest are overdue or not due
INSERT INTO visits (participant_id, timepoint, status, reason, protocol_version, updated_by)
SELECT p.id, t.code, 'missed', 'moved away', 1, 'bench'
  FROM participants p CROSS JOIN (VALUES ('baseline', 0), ('m6', 1), ('m12', 2), ('m24', 3), ('m36', 4), ('m48', 5)) t(code, ord)
 WHERE (p.id * 7 + t.ord * 5) % 12 = 0 AND p.id % 5 = 0;
SET session_replication_role = origin;
SELECT bb_protocol_put('MASC', (SELECT jsonb_agg(jsonb_build_object('code', t.code, 'label', t.code,
	'order', t.ord, 'day_offset', t.ord * 180, 'window_days', 30,
	'specimens', (SELECT jsonb_agg(jsonb_build_object('type', ty, 'aliquots', 10))
		FROM unnest(ARRAY['serum', 'plasma', 'whole_blood', 'pbmc', 'dna']) ty)) ORDER BY t.ord)
	FROM (VALUES ('baseline', 0), ('m6', 1), ('m12', 2), ('m24', 3), ('m36', 4), ('m48', 5)) t(code, ord)),
	'benchmark protocol', NULL, NULL, 'bench', NULL);
SELECT bb_held_counts_rebuild(); -- the triggers were off while loading
VACUUM ANALYZE; -- the held-tubes index is read alone once the pages are all-visible
SQL
res c_load_seconds $(($(date +%s) - t0))
res c_runs "$c_runs"
res c_participants "$c_participants"
res c_specimens "$(sql "SELECT count(*) FROM specimens")"
res c_held "$(sql "SELECT count(*) FROM specimens WHERE status = 'in_storage'")"
res c_cells "$(sql "SELECT count(*) FROM participants p JOIN protocol_timepoints t ON t.study_id = p.study_id")"
res load_avg "$(cut -d' ' -f1-3 /proc/loadavg)"
res cores "$(nproc)"
res pg_version "$(sql "SHOW server_version")"

# The daemon, as in production (biobank_daemon with biobank_app's rights).
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
printf '%s\n' "$password" | "$biobankd" user add --role admin bench >/dev/null
hport=$(bb_free_port)
url=http://127.0.0.1:$hport
BIOBANK_DATABASE_URL="host=$pgsock port=$port dbname=biobank user=biobank_daemon" \
	"$biobankd" serve --listen "127.0.0.1:$hport" --threads 2 >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
	curl -fsS "$url/healthz" >/dev/null 2>&1 && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; die "biobankd did not start"; }
	sleep 0.1
done
token=$(curl -fsS -H 'Content-Type: application/json' \
	-d "{\"username\":\"bench\",\"password\":\"$password\"}" "$url/api/v1/sessions" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

# c_time NAME QUERY: the median and p90 of c_runs requests (after one unmeasured).
c_time() {
	local name=$1 q=$2
	: >"$work/$name.ms"
	for i in $(seq 0 "$c_runs"); do
		read -r code secs < <(curl -sS -o "$work/$name.out" -w '%{http_code} %{time_total}\n' \
			-H "Authorization: Bearer $token" "$url/api/v1/studies/MASC/completeness$q")
		[ "$code" = 200 ] || die "completeness$q answered $code: $(head -c 300 "$work/$name.out")"
		[ "$i" -gt 0 ] && awk -v s="$secs" 'BEGIN {printf "%.1f\n", s * 1000}' >>"$work/$name.ms"
	done
	res "${name}_ms" "$(median "$work/$name.ms")"
	res "${name}_p90_ms" "$(p90 "$work/$name.ms")"
	res "${name}_kb" "$(($(stat -c %s "$work/$name.out") / 1024))"
}
settle
c_time c_json ""
res c_items "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$work/c_json.out")"
res c_summary "$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["summary"];
print(", ".join("%s %d" % kv for kv in s.items()))' "$work/c_json.out")"
c_time c_csv "?format=csv"
c_time c_site "?site=Annex"
c_time c_filtered "?timepoint=m12&type=serum"
# The database alone: the SQL function, one call, timed by psql.
for _ in 1 2 3; do
	psql_su -tA -c '\timing on' -c "SELECT length(bb_completeness('MASC', NULL, NULL, NULL, NULL, NULL)::text)" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
done | sort -n | head -1 >"$work/c_db.ms"
res c_db_ms "$(cat "$work/c_db.ms")"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=''

if [ "$doc" = yes ]; then
	python3 - "$results" docs/performance.md <<'PY'
import re, sys
r = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]) if "=" in l)
ok = lambda ms: "yes" if float(ms) < 1000 else "**no**"
table = f"""<!-- completeness:begin -->
| request | biobankd, median (p90) of {r['c_runs']} requests | answer | target | met |
|---|---|---|---|---|
| `GET /api/v1/studies/MASC/completeness` (JSON) | {r['c_json_ms']} ms ({r['c_json_p90_ms']} ms) | {r['c_items']} items, {r['c_json_kb']} KB | < 1 s | {ok(r['c_json_ms'])} |
| the same as CSV (`?format=csv`) | {r['c_csv_ms']} ms ({r['c_csv_p90_ms']} ms) | {r['c_csv_kb']} KB | < 1 s | {ok(r['c_csv_ms'])} |
| held at one site (`?site=Annex`) | {r['c_site_ms']} ms ({r['c_site_p90_ms']} ms) | {r['c_site_kb']} KB | < 1 s | {ok(r['c_site_ms'])} |
| one timepoint and type (`?timepoint=m12&type=serum`) | {r['c_filtered_ms']} ms ({r['c_filtered_p90_ms']} ms) | {r['c_filtered_kb']} KB | < 1 s | {ok(r['c_filtered_ms'])} |
| the SQL function alone (`bb_completeness`, best of 3) | {r['c_db_ms']} ms | | | |

{r['c_participants']} participants x 6 timepoints x 5 types ({r['c_cells']} participant-timepoints), {r['c_specimens']} specimens of which {r['c_held']} in storage; states: {r['c_summary']}. Data made in {r['c_load_seconds']} s. Machine: {r['cores']} cores, PostgreSQL {r['pg_version']}, load average before the requests {r['load_avg']}.
<!-- completeness:end -->"""
doc = open(sys.argv[2]).read()
if "<!-- completeness:begin -->" in doc:
    doc = re.sub(r"<!-- completeness:begin -->.*?<!-- completeness:end -->", lambda m: table, doc, flags=re.S)
else:
    doc = doc.rstrip("\n") + "\n\n## Completeness\n\n" + table + "\n"
open(sys.argv[2], "w").write(doc)
PY
fi
