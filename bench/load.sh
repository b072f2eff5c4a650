# bench/load.sh — bench/gen.py's data set into the cluster the way a DBA loads a
# large one, sourced by scripts/bench (and scripts/bench-load-test) with its helpers
# (sql, psql_su, res, say, die) and $work, $pgdata, $pgsock, $port, $participants,
# $pending and $bench_gen (bench/gen.c built: gen.py in C) set. At 10^7
# specimens the data set is 5x10^7 custody events and 10^8 log nodes; loaded
# as it was at 10^6 (the CSV written first, then COPY into indexed tables,
# then VACUUM) it would take over half an hour.
#
#  1. The cluster restarts with wal_level = minimal: a table truncated in the
#     transaction that loads it is then written without WAL and synced at commit
#     (half the bytes written, and no checkpoints during the load).
#  2. The indexes of the four large tables are dropped, their definitions kept
#     in bench_deferred_indexes, and with them the foreign keys that need one
#     (those referencing specimens' primary key, kept in bench_deferred_fkeys):
#     one sort per index afterwards costs less than 5x10^7 inserts into indexes
#     in random key order (specimens' primary key alone, maintained row by row,
#     cost its COPY 18 µs a row at 10^7, 180 of its 227 CPU-seconds).
#  3. bench/gen.c (gen.py in C, the same bytes: scripts/bench-load-test
#     compares them) writes those four tables into named pipes (widened to
#     1 MB; events and log_nodes in COPY's binary format), each read by its
#     own COPY while the rows are made (generation and loading on both cores at
#     once). The four tables are truncated in the COPY's transaction (nothing
#     references specimens while its foreign keys are dropped) and copied
#     FREEZE: no WAL, and the rows are written frozen on pages marked
#     all-visible, so VACUUM has nothing to do for them.
#     Triggers and foreign-key checks are off in those sessions only
#     (session_replication_role = replica); scripts/bench checks every
#     reference they would have checked once loaded.
#  4. The small tables follow from the generator's files.
#  5. The indexes are built again two at a time (one per core), largest table
#     first, and the constraints attached to them; the foreign keys are added
#     again and validated (PostgreSQL checks every reference they make); the
#     definitions are checked against the ones kept.
#  6. The cluster restarts with the settings of scripts/run.
#
# Each phase's seconds go to $results (load_*_s) for docs/performance.md.

# bench_restart: stop and start the cluster (for a setting only a start reads).
bench_restart() {
	bb_pg_stop "$pgdata"
	bb_pg_start "$pgdata" "$pgsock" "$port"
}

# bench_copy_pipe TABLE COLUMNS FREEZE [FORMAT]: COPY from the named pipe
# DIR/TABLE.csv (FORMAT csv, the default) or DIR/TABLE.bin (binary) in a
# session without triggers; with FREEZE=yes the table is truncated first in
# the same transaction (it is empty) and copied frozen without WAL. The
# server reads the pipe itself (COPY, not psql's \copy): psql would read it
# and send it on over a socket, a process and a copy more for every byte.
bench_copy_pipe() {
	local table=$1 cols freeze=$3 format=${4:-csv} file
	cols=$(tr -s ' \t\n' ' ' <<<"$2")
	file=$work/data/$table.csv
	[ "$format" = csv ] || file=$work/data/$table.bin
	file=$(realpath "$file")
	if [ "$freeze" = yes ]; then
		PGOPTIONS='-c session_replication_role=replica' psql_su <<SQL
BEGIN;
TRUNCATE $table;
COPY $table ($cols) FROM '$file' WITH (FORMAT $format, FREEZE);
COMMIT;
SQL
	else
		PGOPTIONS='-c session_replication_role=replica' psql_su \
			-c "COPY $table ($cols) FROM '$file' WITH (FORMAT $format)"
	fi
}

# bench_backends_cpu: the CPU seconds (user + system) of the backends that have
# ended so far, as the postmaster counts its reaped children.
bench_backends_cpu() {
	sleep 0.2 # (the last one reaped)
	awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f\n", ($16 + $17) / hz}' "/proc/$(head -1 "$pgdata/postmaster.pid")/stat"
}

# bench_copy_cpu GEN_PID: each COPY's backend's CPU seconds in DIR/TABLE.cpu,
# sampled every second until it ends.
bench_copy_cpu() {
	local hz pid table alive
	hz=$(getconf CLK_TCK)
	# The four COPYs, once they have all started (on a loaded machine that took
	# minutes at 10^7: the generator's first write waits for them).
	for _ in $(seq 1 600); do
		# (The statement as bench_copy_pipe sends it: "COPY table (...) FROM ...".)
		sql "SELECT pid, (regexp_match(query, '^COPY\s+(\w+)'))[1] FROM pg_stat_activity
			WHERE query ~ '^COPY\s+\w+\s'" >"$work/data/copy.pids" || return 0
		[ "$(wc -l <"$work/data/copy.pids")" -lt 4 ] || break
		kill -0 "$1" 2>/dev/null || break # (a small load may be over first)
		sleep 1
	done
	alive=yes
	while [ "$alive" = yes ]; do
		alive=no
		while IFS='|' read -r pid table; do
			awk -v hz="$hz" '{printf "%.1f\n", ($14 + $15) / hz}' "/proc/$pid/stat" \
				>"$work/data/$table.cpu.new" 2>/dev/null || continue
			mv "$work/data/$table.cpu.new" "$work/data/$table.cpu"
			alive=yes
		done <"$work/data/copy.pids"
		sleep 1
	done
}

bench_load() {
	local t0 t1 gen_pid sampler cpu0 status=0 pids=() p
	t0=$(date +%s)
	say "bulk load: restarting PostgreSQL with wal_level = minimal"
	sql "ALTER SYSTEM SET wal_level = minimal" >/dev/null
	sql "ALTER SYSTEM SET max_wal_senders = 0" >/dev/null
	bench_restart

	# Every index of the large tables, and the foreign keys that need one of them.
	psql_su >/dev/null <<'SQL'
CREATE TABLE bench_deferred_fkeys AS
SELECT k.conrelid::regclass::text AS tbl, k.conname::text AS conname,
       pg_get_constraintdef(k.oid) AS def
  FROM pg_constraint k
  JOIN pg_index i ON i.indexrelid = k.conindid
  JOIN pg_class t ON t.oid = i.indrelid
 WHERE k.contype = 'f' AND t.relnamespace = 'public'::regnamespace
   AND t.relname IN ('specimens', 'events', 'log_entries', 'log_nodes');
SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', tbl, conname) FROM bench_deferred_fkeys
\gexec
CREATE TABLE bench_deferred_indexes AS
SELECT c.relname::text AS name, t.relname::text AS tbl, pg_get_indexdef(i.indexrelid) AS indexdef,
       k.conname::text AS conname, k.contype, k.condeferrable, k.condeferred,
       CASE t.relname WHEN 'events' THEN 0 WHEN 'log_nodes' THEN 1 WHEN 'log_entries' THEN 2 ELSE 3 END
         AS rank
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid
   AND k.contype IN ('p', 'u')
 WHERE t.relnamespace = 'public'::regnamespace
   AND t.relname IN ('specimens', 'events', 'log_entries', 'log_nodes')
   AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid
                    AND NOT (x.contype IN ('p', 'u') AND x.conrelid = i.indrelid));
SELECT CASE WHEN contype IS NULL THEN format('DROP INDEX %I', name)
            ELSE format('ALTER TABLE %I DROP CONSTRAINT %I', tbl, conname) END
  FROM bench_deferred_indexes
\gexec
SQL
	res load_deferred_indexes "$(sql "SELECT count(*) FROM bench_deferred_indexes")"
	res load_deferred_fkeys "$(sql "SELECT count(*) FROM bench_deferred_fkeys")"

	say "generating $participants participants ($((participants * 500)) specimens) into COPY"
	mkdir -p "$work/data"
	# events and log_nodes in COPY's binary format (bench/gen.c --binary): their
	# 4.9x10^7 and 9.8x10^7 rows at 10^7 cost PostgreSQL half the CPU that way
	# (docs/performance.md). gen.py (BENCH_GEN, to measure the reference) writes CSV.
	local ext=bin format=binary binary=--binary
	case $bench_gen in *.py) ext=csv format=csv binary='' ;; esac
	for p in specimens.csv events.$ext log_entries.csv log_nodes.$ext; do
		rm -f "$work/data/$p"
		mkfifo "$work/data/$p"
	done
	# Each COPY in the background, its exit status in DIR/TABLE.rc: one that failed
	# before opening its pipe would leave the generator waiting for a reader for ever.
	copy_bg() {
		(
			rc=0
			bench_copy_pipe "$@" >/dev/null || rc=$?
			echo "$rc" >"$work/data/$1.rc"
		) &
		pids+=($!)
	}
	rm -f "$work"/data/*.rc
	copy_bg specimens "id, serial, study_id, participant_id, type, timepoint, collected_at,
		quantity, unit, parent_id, derivation, tube_barcode, status, freeze_thaw_count,
		consent_withdrawn, box_id, pos_row, pos_col, notes, created_at, ledger_seq, ledger_head" yes
	copy_bg events "specimen_id, seq, type, at, actor, actor_id, from_box, from_pos, to_box,
		to_pos, reason, details, prev_hash, hash, format" yes "$format"
	copy_bg log_entries "idx, specimen_id, seq" yes
	copy_bg log_nodes "level, idx, hash" yes "$format"
	cpu0=$(bench_backends_cpu)
	/usr/bin/time -f '%U %S' -o "$work/gen.time" \
		"$bench_gen" --participants "$participants" --pending "$pending" $binary \
		--out "$work/data" &
	gen_pid=$!
	bench_copy_cpu "$gen_pid" &
	sampler=$!
	while kill -0 "$gen_pid" 2>/dev/null; do
		if grep -qv '^0$' "$work"/data/*.rc 2>/dev/null; then
			kill $(pgrep -P "$gen_pid") "$gen_pid" 2>/dev/null || true
			break
		fi
		sleep 0.5
	done
	wait "$gen_pid" || status=$?
	for p in "${pids[@]}"; do wait "$p" || true; done
	wait "$sampler" || true
	for p in specimens events log_entries log_nodes; do
		[ "$(cat "$work/data/$p.rc" 2>/dev/null)" = 0 ] || status="COPY $p: $(cat "$work/data/$p.rc" 2>/dev/null)"
	done
	[ "$status" = 0 ] || die "generating or copying the data set failed ($status)"
	rm -f "$work"/data/*.rc
	for p in specimens.csv events.$ext log_entries.csv log_nodes.$ext; do rm -f "$work/data/$p"; done
	t1=$(date +%s)
	res load_copy_s $((t1 - t0))
	# Where the time went: CPU seconds of the generator, of each COPY's backend, of all backends.
	res load_gen_cpu_s "$(awk '{print $1 + $2}' "$work/gen.time")"
	for p in specimens events log_entries log_nodes; do
		res "load_copy_${p}_cpu_s" "$(cat "$work/data/$p.cpu" 2>/dev/null || echo '?')"
	done
	res load_copy_pg_cpu_s "$(awk -v a="$cpu0" -v b="$(bench_backends_cpu)" 'BEGIN {print b - a}')"
	rm -f "$work"/data/*.cpu "$work"/data/*.cpu.new "$work/data/copy.pids"

	specimens='' events='' boxes='' freezers='' sscr_specimens='' log_size=''
	# shellcheck disable=SC1091 # sets the six above
	source "$work/data/counts.txt"
	res log_entries "$log_size"
	bench_copy_file studies "id, code, name"
	bench_copy_file participants "id, study_id, code, sex, birth_year, diagnosis"
	bench_copy_file consents "id, participant_id, scope, status, date, version, recorded_by"
	bench_copy_file locations "id, parent_id, kind, name, temperature_c, barcode, path, ancestors"
	bench_copy_file boxes "id, barcode, rows, cols, location_id"
	bench_copy_file log_pending "specimen_id, seq"
	sql "UPDATE log_state SET size = $log_size, backfilled = true, sequenced_at = now()" >/dev/null

	say "building $(sql "SELECT count(*) FROM bench_deferred_indexes") indexes, two at a time"
	# Largest tables first, so that the last build to end is a small one; two builds
	# of one table at once share their reads of it (synchronized scans).
	sql "SELECT indexdef FROM bench_deferred_indexes ORDER BY rank, name" >"$work/indexes.sql"
	cpu0=$(bench_backends_cpu)
	PGOPTIONS='-c maintenance_work_mem=1GB -c max_parallel_maintenance_workers=0' \
		xargs -d '\n' -P 2 -n 1 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgsock" -p "$port" \
		-U postgres -d biobank -c <"$work/indexes.sql" || die "building the indexes failed"
	psql_su >/dev/null <<'SQL'
SELECT format('ALTER TABLE %I ADD CONSTRAINT %I %s USING INDEX %I%s%s', tbl, conname,
              CASE contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, name,
              CASE WHEN condeferrable THEN ' DEFERRABLE' ELSE '' END,
              CASE WHEN condeferred THEN ' INITIALLY DEFERRED' ELSE '' END)
  FROM bench_deferred_indexes WHERE contype IS NOT NULL
\gexec
SQL
	res load_index_s $(($(date +%s) - t1))
	res load_index_cpu_s "$(awk -v a="$cpu0" -v b="$(bench_backends_cpu)" 'BEGIN {print b - a}')"

	say "adding $(sql "SELECT count(*) FROM bench_deferred_fkeys") foreign keys, validated two at a time"
	t1=$(date +%s)
	cpu0=$(bench_backends_cpu)
	psql_su >/dev/null <<'SQL'
SELECT format('ALTER TABLE %I ADD CONSTRAINT %I %s NOT VALID', tbl, conname, def)
  FROM bench_deferred_fkeys ORDER BY tbl, conname
\gexec
SQL
	# Each reference checked by PostgreSQL itself, two tables at a time (a
	# validation locks only the referencing table against the other's): on
	# tables frozen and all-visible, a merge of two index-only scans.
	sql "SELECT format('ALTER TABLE %I VALIDATE CONSTRAINT %I', tbl, conname)
		FROM bench_deferred_fkeys ORDER BY tbl = 'events' DESC, tbl, conname" >"$work/fkeys.sql"
	PGOPTIONS='-c maintenance_work_mem=1GB' \
		xargs -d '\n' -P 2 -n 1 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgsock" -p "$port" \
		-U postgres -d biobank -c <"$work/fkeys.sql" || die "the loaded data breaks a foreign key"
	# The same indexes and constraints as the migrations made, or the load stops.
	[ "$(sql "SELECT (SELECT count(*) FROM bench_deferred_indexes d
		WHERE NOT EXISTS (SELECT 1 FROM pg_indexes x WHERE x.schemaname = 'public'
		                   AND x.indexname = d.name AND x.indexdef = d.indexdef)
		   OR (d.contype IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_constraint k
		       WHERE k.conname = d.conname AND k.conrelid = d.tbl::regclass AND k.contype = d.contype
		         AND k.condeferrable = d.condeferrable AND k.condeferred = d.condeferred
		         AND k.conindid = d.name::regclass)))
		+ (SELECT count(*) FROM bench_deferred_fkeys d
		    WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = d.conname
		                       AND k.conrelid = d.tbl::regclass AND k.contype = 'f' AND k.convalidated
		                       AND pg_get_constraintdef(k.oid) = d.def))")" = 0 ] ||
		die "the rebuilt indexes or foreign keys differ from the migrations' ones"
	sql "DROP TABLE bench_deferred_indexes, bench_deferred_fkeys" >/dev/null
	res load_fkeys_s $(($(date +%s) - t1))
	res load_fkeys_cpu_s "$(awk -v a="$cpu0" -v b="$(bench_backends_cpu)" 'BEGIN {print b - a}')"

	say "bulk load: restarting PostgreSQL with the settings of scripts/run"
	sql "ALTER SYSTEM RESET wal_level" >/dev/null
	sql "ALTER SYSTEM RESET max_wal_senders" >/dev/null
	bench_restart
	t1=$(date +%s)
	cpu0=$(bench_backends_cpu)
	psql_su -f bench/load.sql >/dev/null
	res load_finish_s $(($(date +%s) - t1))
	res load_finish_cpu_s "$(awk -v a="$cpu0" -v b="$(bench_backends_cpu)" 'BEGIN {print b - a}')"
	res load_seconds $(($(date +%s) - t0))
}

# bench_copy_file TABLE COLUMNS: COPY from the generator's file DIR/TABLE.csv, triggers off.
bench_copy_file() {
	PGOPTIONS='-c session_replication_role=replica' psql_su \
		-c "\\copy $1 ($(tr -s ' \t\n' ' ' <<<"$2")) FROM '$work/data/$1.csv' WITH (FORMAT csv)" >/dev/null
}
