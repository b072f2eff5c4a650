# ops.sh — shared by scripts/backup-test and scripts/ha-test: TAP output and
# a biobankd started and stopped by process id. Sourced after common.sh.

tap_n=0
tap_failed=0
tap_ok() { tap_n=$((tap_n + 1)); printf 'ok %d - %s\n' "$tap_n" "$*"; }
tap_not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	printf 'not ok %d - %s\n' "$tap_n" "$*"
}
# tap_check DESCRIPTION COMMAND...: ok when COMMAND exits 0; its output as
# TAP comments either way.
tap_check() {
	local what=$1 out rc=0 t0 ms
	shift
	t0=$(date +%s%N)
	out=$("$@" 2>&1) || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
	if [ "$rc" -eq 0 ]; then tap_ok "$what ($ms ms)"; else tap_not_ok "$what (exit $rc, $ms ms)"; fi
	return 0
}
tap_note() { printf '# %s\n' "$*"; }
tap_bail() {
	printf 'Bail out! %s\n' "$*"
	exit 1
}
tap_end() {
	printf '1..%d\n' "$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# ops_daemon_start VAR URL LISTEN LOG [ENV=VALUE...]: biobankd serve in the
# background, its pid in VAR, once /healthz answers (10 s at most).
ops_daemon_start() {
	local var=$1 db=$2 listen=$3 log=$4
	shift 4
	env BIOBANK_DATABASE_URL="$db" BIOBANK_LISTEN="$listen" "$@" \
		"$OPS_BIOBANKD" serve >>"$log" 2>&1 &
	printf -v "$var" '%s' "$!"
	local _
	for _ in $(seq 1 100); do
		curl -fsS -o /dev/null "http://$listen/healthz" 2>/dev/null && return 0
		kill -0 "${!var}" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$log" >&2
	return 1
}

# ops_daemon_stop PID: SIGTERM, then wait for it (it drains within seconds).
ops_daemon_stop() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	wait "$pid" 2>/dev/null || true
}

# ops_psql CONNINFO SQL: one value or rows, tab-separated, no headers.
ops_psql() {
	"$PG_BIN/psql" -X -q -tA -F $'\t' -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# ops_login URL USER PASSWORD: a session token on standard output.
ops_login() {
	curl -fsS -H 'Content-Type: application/json' \
		-d "{\"username\":\"$2\",\"password\":\"$3\"}" "$1/api/v1/sessions" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# ops_tmpdir NAME: a folder for the test's clusters and repository, in
# memory when /dev/shm is there: these tests prove what is restored and what
# survives a failover, not the disk, and a shared machine's disk made a 32 MB
# backup take minutes (fsync of every file). Open to the postgres user.
ops_tmpdir() {
	local base=/tmp d
	[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
	d=$(mktemp -d "$base/$1.XXXXXX")
	chmod 755 "$d"
	printf '%s\n' "$d"
}
