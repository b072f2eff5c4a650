#!/usr/bin/env bash
# bench/import.sh — the inventory import's figures (docs/performance.md,
# "Inventory import"): a throwaway cluster with the settings of scripts/run,
# biobankd on loopback as biobank_daemon, a generated file of ROWS rows
# (bench/import_gen.py), then through POST /api/v1/imports: the dry run, the
# commit, the same file again (the dry run's and the commit's PostgreSQL CPU
# seconds too); verify-ledger after; the daemon's peak RSS.
#
# usage: nice -n -20 bench/import.sh [--rows N] [--verify] [--keep]
#   --rows   data rows in the file (default 100000)
#   --verify run biobankd verify-ledger after the import, timed
#   --keep   keep the cluster under var/bench-import
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
cd "$BB_ROOT"

rows=100000 keep=no verify=no
while [ $# -gt 0 ]; do
	case $1 in
	--rows) rows=$2; shift ;;
	--keep) keep=yes ;;
	--verify) verify=yes ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see bench/import.sh --help)" ;;
	esac
	shift
done
[[ $rows =~ ^[0-9]+$ && $rows -ge 10 ]] || die "--rows: a number, at least 10"

# The build of scripts/bench (debugoptimized), or another given as BENCH_BUILD.
build=${BENCH_BUILD:-build-bench}
bb_install_deps
say "building in $build/"
bb_build "$build" "server/biobankd"
biobankd=$BB_ROOT/$build/server/biobankd

work=$BB_ROOT/var/bench-import
pgdata=$work/pg/data
pgsock=$work/pg/sock
port=$(bb_free_port)
daemon_pid=''
cleanup() {
	trap - INT TERM EXIT
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	bb_pg_stop "$pgdata"
	if [ "$keep" = no ]; then rm -rf "$work/pg"; fi
}
bb_pg_stop "$pgdata"
rm -rf "$work"
mkdir -p "$work/pg"
chmod 755 "$BB_ROOT/var" "$work" "$work/pg" 2>/dev/null || true
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting PostgreSQL under var/bench-import/pg"
bb_pg_init "$pgdata" "$pgsock" "$port"
bb_pg_start "$pgdata" "$pgsock" "$port"
export BIOBANK_DATABASE_URL="host=$pgsock port=$port dbname=biobank user=biobank"
"$biobankd" migrate >/dev/null
"$PG_BIN/psql" -X -q -h "$pgsock" -p "$port" -U biobank -d biobank \
	-c "INSERT INTO studies (code, name) VALUES ('BENCH', 'Import benchmark')"
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
printf '%s\n' "$password" | "$biobankd" user add --role admin bench >/dev/null

say "generating $rows rows"
python3 bench/import_gen.py "$rows" "$work/import.csv"
bytes=$(stat -c %s "$work/import.csv")

hport=$(bb_free_port)
url=http://127.0.0.1:$hport
BIOBANK_DATABASE_URL="host=$pgsock port=$port dbname=biobank user=biobank_daemon" \
	"$biobankd" serve --listen "127.0.0.1:$hport" --threads 4 >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
	curl -fsS "$url/healthz" >/dev/null 2>&1 && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; die "biobankd did not start"; }
	sleep 0.1
done
token=$(curl -fsS -H 'Content-Type: application/json' \
	-d "{\"username\":\"bench\",\"password\":\"$password\"}" "$url/api/v1/sessions" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
rss_idle=$(awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status")

# Run as `nice -n -20 bench/import.sh` on a shared machine. With autogroup
# scheduling (kernel.sched_autogroup_enabled = 1) a nice value ranks a process
# only against the others of its session, and pg_ctl and every PostgreSQL
# backend start a session of their own (setsid): the nice value alone left the
# measured backend at the weight of any other session, runnable but waiting
# for a core 84% of the time at load 17. So this script's nice value is given
# to the autogroups of its own session and of the cluster's processes, before
# each request (a backend started since has a new one).
niceness=$(nice)
autogroups="off"
renice_autogroups() {
	[ "$niceness" -lt 0 ] && [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] ||
		return 0
	local p pm
	pm=$(head -1 "$pgdata/postmaster.pid")
	for p in $$ "$pm" $(pgrep -P "$pm"); do
		echo "$niceness" >"/proc/$p/autogroup" 2>/dev/null || return 0
	done
	autogroups="nice $niceness"
}

# The CPU time of the cluster's processes (utime + stime of /proc/PID/stat),
# in clock ticks, one "PID TICKS" line each, and "exited TICKS" for the
# postmaster's own and its waited-for children's (cutime + cstime: backends
# that have exited). A busy machine stretches the wall time of a request
# (waiting for a core) much more than its CPU time, so each request's CPU
# is reported too: the busiest backend's (the one running the import) and
# the whole cluster's (with the daemon's other connections and the
# cluster's own workers).
tck=$(getconf CLK_TCK)
pg_cpu() {
	local pm p
	pm=$(head -1 "$pgdata/postmaster.pid")
	awk '{ sub(/^.*\) /, ""); split($0, f, " "); print "exited", f[12] + f[13] + f[14] + f[15] }' "/proc/$pm/stat"
	for p in $(pgrep -P "$pm"); do
		awk -v p="$p" '{ sub(/^.*\) /, ""); split($0, f, " "); print p, f[12] + f[13] }' "/proc/$p/stat" 2>/dev/null || true
	done
}
# cpu_since BEFORE: "BUSIEST TOTAL" in seconds since the snapshot BEFORE.
cpu_since() {
	awk -v tck="$tck" 'NR == FNR { a[$1] = $2; next } { d = $2 - a[$1]; t += d; if ($1 != "exited" && d > m) m = d }
		END { printf "%.2f %.2f\n", m / tck, t / tck }' <(echo "$1") <(pg_cpu)
}

# post QUERY OUT: the file through the API; prints "STATUS SECONDS".
post() {
	curl -sS -o "$2" -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $token" \
		-H 'Content-Type: text/csv' --data-binary "@$work/import.csv" "$url/api/v1/imports?$1"
}
field() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "dry run"
renice_autogroups
c0=$(pg_cpu)
read -r dry_status dry_s < <(post "" "$work/dry.json")
read -r dry_cpu dry_cpu_all < <(cpu_since "$c0")
[ "$dry_status" = 200 ] || { cat "$work/dry.json" >&2; die "the dry run answered $dry_status"; }
[ "$(field "$work/dry.json" 'd["problem_count"]')" = 0 ] || die "the generated file has problems"
say "commit"
renice_autogroups
c0=$(pg_cpu)
read -r commit_status commit_s < <(post "commit=true" "$work/commit.json")
read -r commit_cpu commit_cpu_all < <(cpu_since "$c0")
[ "$commit_status" = 201 ] || { head -c 2000 "$work/commit.json" >&2; die "the commit answered $commit_status"; }
made=$(field "$work/commit.json" 'd["import"]["summary"]["specimens"]')
say "the same file again"
renice_autogroups
read -r again_status again_s < <(post "commit=true" "$work/again.json")
[ "$(field "$work/again.json" 'd["already_imported"]')" = True ] || die "the file again was not 'already imported'"
rss_peak=$(awk '/^VmHWM/ {print $2}' "/proc/$daemon_pid/status")
verify_line="not run (--verify)"
if [ "$verify" = yes ]; then
	say "verify-ledger"
	renice_autogroups
	t0=$(date +%s.%N)
	"$biobankd" verify-ledger >"$work/verify.txt" 2>&1 ||
		{ cat "$work/verify.txt" >&2; die "verify-ledger failed after the import"; }
	verify_line="$(echo "$(date +%s.%N) - $t0" | bc) s ($(head -1 "$work/verify.txt"))"
fi

cat <<REPORT
rows=$rows bytes=$bytes specimens_made=$made
dry_run: $dry_s s (HTTP $dry_status), PostgreSQL CPU: importing backend $dry_cpu s, cluster $dry_cpu_all s
commit: $commit_s s (HTTP $commit_status), PostgreSQL CPU: importing backend $commit_cpu s, cluster $commit_cpu_all s
again: $again_s s (HTTP $again_status, already imported)
verify_ledger: $verify_line
daemon_rss_kb: idle $rss_idle, peak $rss_peak (VmHWM, the whole run)
load average before: $load_before
scheduling: nice $niceness, autogroups of the script's session and the cluster's: $autogroups
machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)
REPORT
