# bench/fhir_export.sh — the FHIR Bulk Data export's figures (scripts/bench
# --fhir-export; issue 20), sourced by scripts/bench once the cluster runs
# and the schema is migrated, with its helpers (sql, psql_su, res, settle,
# say, die) and variables defined. It makes its own data set in SQL: one
# study of fx_participants participants with 500 specimens each (2,000
# make 10^6): per collection a parent tube and four aliquots of it, three
# in four stored in 9x9 boxes, a tube barcode and a quantity each, and the
# custody event each specimen's meta.lastUpdated is read from. Then
# biobankd (2 request threads, 2 long-work threads) runs
# GET /api/v1/fhir/Group/{study}/$export as a bulk client does: kick-off,
# polling every second, each file downloaded; the daemon's RSS is sampled
# throughout. A sample of the downloaded lines is checked with Medplum's
# validator (tests/fhir) when it is installed. Figures as name=value lines
# in $results; the section between fhir-export:begin and fhir-export:end
# of docs/performance.md is rewritten with them (unless --no-doc).

fx_participants=${fx_participants:-2000}
say "fhir-export: $fx_participants participants x 500 specimens"
t0=$(date +%s)
psql_su <<SQL >/dev/null
INSERT INTO locations (kind, name) VALUES ('site', 'Main lab');
INSERT INTO locations (parent_id, kind, name, temperature_c)
SELECT id, 'freezer', 'Freezer 1', -80 FROM locations WHERE kind = 'site';
SET session_replication_role = replica; -- no triggers: the ledger is not what is measured
INSERT INTO studies (code, name) VALUES ('MASC', 'Myositis cohort (benchmark)');
INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)
SELECT (SELECT id FROM studies WHERE code = 'MASC'), 'P' || lpad(n::text, 5, '0'),
       CASE WHEN n % 2 = 0 THEN 'female' ELSE 'male' END, 1950 + n % 50, 'DM'
  FROM generate_series(1, $fx_participants) n;
CREATE TEMP TABLE tubes AS
SELECT row_number() OVER (ORDER BY p.id, k) AS serial, p.id AS pid, p.study_id, k
  FROM participants p CROSS JOIN generate_series(0, 499) k;
CREATE TEMP TABLE stored AS
SELECT serial, row_number() OVER (ORDER BY serial) - 1 AS slot FROM tubes WHERE serial % 4 <> 0;
INSERT INTO boxes (barcode, rows, cols, location_id)
SELECT 'FX-' || b, 9, 9, (SELECT id FROM locations WHERE kind = 'freezer')
  FROM generate_series(0, (SELECT max(slot) FROM stored) / 81) b;
SELECT setval('specimen_serial', (SELECT max(serial) FROM tubes) + 1000);
-- Every fifth tube a collection, the four after it its aliquots.
INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint, collected_at, quantity, unit,
	status, box_id, pos_row, pos_col, parent_id, derivation, tube_barcode, ledger_seq)
SELECT 'F' || lpad(upper(to_hex(t.serial)), 7, '0'), t.serial, t.study_id, t.pid,
       CASE WHEN t.k % 10 < 5 THEN 'serum' ELSE 'plasma' END, 'baseline',
       timestamptz '2024-01-01' + (t.k / 5) * interval '7 days', 0.5, 'mL',
       CASE WHEN s.slot IS NOT NULL THEN 'in_storage' ELSE 'registered' END,
       (SELECT b.id FROM boxes b WHERE b.barcode = 'FX-' || (s.slot / 81)),
       CASE WHEN s.slot IS NOT NULL THEN (s.slot % 81) / 9 + 1 END,
       CASE WHEN s.slot IS NOT NULL THEN s.slot % 9 + 1 END,
       CASE WHEN t.k % 5 <> 0 THEN 'F' || lpad(upper(to_hex(t.serial - t.k % 5)), 7, '0') END,
       CASE WHEN t.k % 5 <> 0 THEN 'aliquot' END,
       'TB' || lpad(t.serial::text, 9, '0'), 1
  FROM tubes t LEFT JOIN stored s ON s.serial = t.serial
 ORDER BY t.serial;
INSERT INTO events (specimen_id, seq, type, at, actor, prev_hash, hash)
SELECT id, 1, 'registered', timestamptz '2024-06-01' + serial * interval '1 second', 'bench',
       decode(repeat('00', 32), 'hex'), sha256(id::bytea)
  FROM specimens;
SET session_replication_role = origin;
VACUUM ANALYZE;
SQL
res fx_load_seconds $(($(date +%s) - t0))
res fx_specimens "$(sql "SELECT count(*) FROM specimens")"
res fx_participants "$fx_participants"
res load_avg "$(cut -d' ' -f1-3 /proc/loadavg)"
res cores "$(nproc)"
res pg_version "$(sql "SHOW server_version")"
study=$(sql "SELECT id FROM studies WHERE code = 'MASC'")

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
printf '%s\n' "$password" | "$biobankd" user add --role admin bench >/dev/null
hport=$(bb_free_port)
url=http://127.0.0.1:$hport
BIOBANK_DATABASE_URL="host=$pgsock port=$port dbname=biobank user=biobank_daemon" \
	"$biobankd" serve --listen "127.0.0.1:$hport" --threads 2 --long-workers 2 >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
	curl -fsS "$url/healthz" >/dev/null 2>&1 && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; die "biobankd did not start"; }
	sleep 0.1
done
token=$(curl -fsS -H 'Content-Type: application/json' \
	-d "{\"username\":\"bench\",\"password\":\"$password\"}" "$url/api/v1/sessions" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
auth=(-H "Authorization: Bearer $token")

rss() { awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status"; }
res fx_rss_idle_kb "$(rss)"
(
	max=0
	while :; do
		v=$(rss)
		[ "$v" -gt "$max" ] && max=$v && echo "$max" >"$work/fx_rss_max"
		sleep 0.1
	done
) &
sampler_pid=$!

settle
t1=$(date +%s.%N)
status=$(curl -fsS -o /dev/null -D - "${auth[@]}" -H 'Prefer: respond-async' \
	"$url/api/v1/fhir/Group/$study/\$export" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ocation: //p')
[ -n "$status" ] || die "the kick-off gave no Content-Location"
while :; do
	code=$(curl -sS -o "$work/fx_manifest.json" -w '%{http_code}' "${auth[@]}" "$status")
	[ "$code" = 202 ] || break
	sleep 1
done
[ "$code" = 200 ] || die "the export ended with $code: $(head -c 300 "$work/fx_manifest.json")"
t2=$(date +%s.%N)
res fx_export_s "$(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.1f", b - a}')"
: >"$work/fx_files.txt"
python3 -c 'import json, sys
for o in json.load(open(sys.argv[1]))["output"]: print(o["type"], o["url"], o["count"])' \
	"$work/fx_manifest.json" >"$work/fx_files.txt"
res fx_files "$(wc -l <"$work/fx_files.txt")"
bytes=0 lines=0
: >"$work/fx_sample.ndjson"
while read -r type furl count; do
	curl -fsS "${auth[@]}" "$furl" -o "$work/fx_file.ndjson"
	n=$(wc -l <"$work/fx_file.ndjson")
	[ "$n" = "$count" ] || die "$type $furl: $n lines, the manifest says $count"
	bytes=$((bytes + $(stat -c %s "$work/fx_file.ndjson")))
	lines=$((lines + n))
	# Every 500th line of each file for the validator.
	awk 'NR % 500 == 1' "$work/fx_file.ndjson" >>"$work/fx_sample.ndjson"
done <"$work/fx_files.txt"
rm -f "$work/fx_file.ndjson"
t3=$(date +%s.%N)
res fx_download_s "$(awk -v a="$t2" -v b="$t3" 'BEGIN {printf "%.1f", b - a}')"
res fx_resources "$lines"
res fx_mb "$((bytes / 1048576))"
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=''
res fx_rss_max_kb "$(cat "$work/fx_rss_max")"
res fx_db_mb "$(sql "SELECT pg_total_relation_size('fhir_export_chunks') / 1048576")"
if [ -d tests/fhir/node_modules/@medplum/core ]; then
	python3 -c 'import json, sys
print(json.dumps([["line %d" % i, json.loads(l)] for i, l in enumerate(open(sys.argv[1]))]))' \
		"$work/fx_sample.ndjson" >"$work/fx_sample.json"
	node tests/fhir/validate.mjs "$work/fx_sample.json" >"$work/fx_valid.txt" || true
	res fx_validated "$(grep -c '^valid ' "$work/fx_valid.txt")"
	res fx_invalid "$(grep -c '^invalid ' "$work/fx_valid.txt" || true)"
else
	res fx_validated 0
	res fx_invalid "not run (npm ci --prefix tests/fhir)"
fi
kill -TERM "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=''

if [ "$doc" = yes ]; then
	python3 - "$results" docs/performance.md <<'PY'
import re, sys
r = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]) if "=" in l)
met = "yes" if int(r["fx_rss_max_kb"]) < 64 * 1024 else "**no**"
table = f"""<!-- fhir-export:begin -->
| figure | measured | target | met |
|---|---|---|---|
| `Group/{{study}}/$export`, kick-off to manifest | {r['fx_export_s']} s | | |
| download of the {r['fx_files']} NDJSON files ({r['fx_resources']} resources, {r['fx_mb']} MB) | {r['fx_download_s']} s | | |
| biobankd RSS, largest while exporting and downloading (idle {int(r['fx_rss_idle_kb']) // 1024} MB) | {int(r['fx_rss_max_kb']) // 1024} MB | < 64 MB | {met} |
| the export's chunks in PostgreSQL (`fhir_export_chunks`, TOAST-compressed) | {r['fx_db_mb']} MB | | |
| sampled lines valid FHIR R4 (`@medplum/core`) | {r['fx_validated']} valid, {r['fx_invalid']} invalid | all | {"yes" if r['fx_invalid'] == "0" else "**no**"} |

{r['fx_participants']} participants, {r['fx_specimens']} specimens (a collection and four aliquots, three in four stored, each with a barcode, a quantity and its custody event). Data made in {r['fx_load_seconds']} s. Machine: {r['cores']} cores, PostgreSQL {r['pg_version']}, load average before the export {r['load_avg']}.
<!-- fhir-export:end -->"""
doc = open(sys.argv[2]).read()
if "<!-- fhir-export:begin -->" in doc:
    doc = re.sub(r"<!-- fhir-export:begin -->.*?<!-- fhir-export:end -->", lambda m: table, doc, flags=re.S)
else:
    doc = doc.rstrip("\n") + "\n\n## FHIR Bulk Data export\n\n" + table + "\n"
open(sys.argv[2], "w").write(doc)
PY
fi
