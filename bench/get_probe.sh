#!/usr/bin/env bash
# bench/get_probe.sh — the CPU of one GET /api/v1/specimens/{id} by process
# (biobankd, its PostgreSQL backends, the HTTP client) and of one pgbench
# transaction of the same statement, read from /proc/PID/stat around each
# run, on the data set `scripts/bench --load-only` kept under var/bench.
# CPU per request holds on a busy machine where requests per second do not
# (docs/performance.md, "GET by ID: where the time goes").
#
# usage: bench/get_probe.sh [ROUNDS]
#   BIN=path        the biobankd to measure (default build-bench/server/biobankd)
#   CLIENT=wrk|httpload|both|none   the HTTP client (default both, alternated in each round)
#   PGBENCH=0       skip the pgbench rounds
#   STRACE=1        count the daemon's system calls (strace -c -f) over one extra run
#   SECONDS_RUN=N   seconds a run (default 15)
#   THREADS=N       the daemon's --threads, its database connections (default 16)
#   PGCLIENTS=N     pgbench's clients (default 16)
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
rounds=${1:-2}
W=$root/var/probe
mkdir -p "$W"
SOCK=$root/var/bench/pg/sock
[ -S "$SOCK/.s.PGSQL.5432" ] || { echo "no cluster at $SOCK: scripts/bench --load-only, then bench/start" >&2; exit 1; }
OWNER="host=$SOCK port=5432 dbname=biobank user=biobank"
SUPER="host=$SOCK port=5432 dbname=biobank user=postgres"
BIN=${BIN:-build-bench/server/biobankd}
HTTPLOAD=${HTTPLOAD:-build-bench/bench/httpload}
CLIENT=${CLIENT:-both}
dur=${SECONDS_RUN:-15}
port=${PORT:-18997}
ck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$1/stat 2>/dev/null || echo 0; }
[ -f $W/ids.txt ] || psql "$OWNER" -Atc "SELECT id FROM bench_ids ORDER BY n" > $W/ids.txt
nspec=$(wc -l < $W/ids.txt)
if [ ! -f $W/pw ]; then
	head -c 12 /dev/urandom | base64 | tr -d '/+=' > $W/pw
	BIOBANK_DATABASE_URL="$OWNER" $BIN user add --role admin getprobe < $W/pw >/dev/null
fi
BIOBANK_DATABASE_URL="host=$SOCK port=5432 dbname=biobank user=biobank_daemon" \
	$BIN serve --listen 127.0.0.1:$port --threads "${THREADS:-16}" --sequencer=false > $W/daemon.log 2>&1 &
dp=$!
trap 'kill $dp 2>/dev/null; wait $dp 2>/dev/null' EXIT
for i in $(seq 100); do curl -fsS http://127.0.0.1:$port/healthz >/dev/null 2>&1 && break; sleep 0.2; done
token=$(curl -fsS -H 'Content-Type: application/json' \
	-d "{\"username\":\"getprobe\",\"password\":\"$(cat $W/pw)\"}" \
	http://127.0.0.1:$port/api/v1/sessions | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
export BENCH_TOKEN=$token BENCH_IDS=$W/ids.txt BENCH_LUA_DIR=$root/bench/wrk

client_cmd() { # client_cmd wrk|httpload SECONDS
	if [ "$1" = wrk ]; then
		echo "wrk -t2 -c16 -d${2}s -s bench/wrk/get.lua http://127.0.0.1:$port"
	else
		echo "$HTTPLOAD -t2 -c16 -d$2 -i $W/ids.txt -H 'Authorization: Bearer $token' 127.0.0.1:$port /api/v1/specimens/{id}"
	fi
}
eval "$(client_cmd wrk 5)" >/dev/null 2>&1 # warm-up: connections, plans, pages

http_round() { # http_round CLIENT ROUND
	local bpids b0=0 b1=0 d0 d1 n wu ws p
	bpids=$(psql "$SUPER" -Atc "SELECT pid FROM pg_stat_activity WHERE usename = 'biobank_daemon'")
	for p in $bpids; do b0=$((b0 + $(cpu $p))); done
	d0=$(cpu $dp)
	eval "/usr/bin/time -f '%U %S' -o $W/client.time $(client_cmd $1 $dur)" > $W/client.out 2>&1
	for p in $bpids; do b1=$((b1 + $(cpu $p))); done
	d1=$(cpu $dp)
	n=$(grep -o '[0-9]* requests in' $W/client.out | awk '{print $1}')
	[ -n "$n" ] || n=$(sed -n 's/^requests=//p' $W/client.out)
	read -r wu ws < $W/client.time
	python3 -c "
n=$n; ck=$ck
print('%-8s round $2: %7d req, %6.0f req/s; per request: daemon %5.1f us, backends %5.1f us, client %5.1f us' % ('$1', n, n/$dur, ($d1-$d0)/ck/n*1e6, ($b1-$b0)/ck/n*1e6, ($wu+$ws)/n*1e6))"
}

# CPU of pgbench's backends (user biobank; the daemon's are biobank_daemon), summed
# over the pids present at both reads, in the middle of the run.
pgb_backends() { # pgb_backends FILE: "pid cpu" lines
	local pm p
	pm=$(head -1 $root/var/bench/pg/data/postmaster.pid)
	ps -o pid=,args= --ppid $pm | awk '$2 == "postgres:" && $3 == "biobank" && $4 == "biobank" {print $1}' |
		while read -r p; do echo "$p $(cpu $p)"; done > "$1"
}

pgbench_round() { # pgbench_round ROUND
	local pg c n wu ws t0 t1
	/usr/bin/time -f '%U %S' -o $W/pgb.time pgbench -n -M prepared -h $SOCK -p 5432 -U biobank \
		-c"${PGCLIENTS:-16}" -j2 -T$((dur + 5)) -D nspec=$nspec -f bench/pgbench/get.sql biobank > $W/pgb.out 2>&1 &
	pg=$!
	sleep 4
	pgb_backends $W/pgb.0; t0=$(date +%s.%N)
	sleep $((dur - 4))
	pgb_backends $W/pgb.1; t1=$(date +%s.%N)
	wait $pg
	c=$(awk 'NR == FNR {a[$1] = $2; next} ($1 in a) {s += $2 - a[$1]} END {print s + 0}' $W/pgb.0 $W/pgb.1)
	n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' $W/pgb.out)
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' $W/pgb.out)
	read -r wu ws < $W/pgb.time
	python3 -c "
ck=$ck; tps=$tps
print('pgbench  round $1: %7d tx,  %6.0f tx/s;  per tx: backends %5.1f us, pgbench %5.1f us' % ($n, tps, $c/ck/(tps*($t1-$t0))*1e6, ($wu+$ws)/$n*1e6))"
}

for round in $(seq $rounds); do
	case $CLIENT in
	both) http_round wrk $round; http_round httpload $round ;;
	none) ;;
	*) http_round $CLIENT $round ;;
	esac
	[ "${PGBENCH:-1}" = 0 ] || pgbench_round $round
done

if [ "${STRACE:-0}" = 1 ]; then
	c=$([ "$CLIENT" = both ] && echo httpload || echo $CLIENT)
	strace -c -f -p $dp -o $W/strace.txt &
	sp=$!
	sleep 1
	eval "$(client_cmd $c 5)" > $W/client.out 2>&1
	kill -INT $sp; wait $sp 2>/dev/null
	n=$(grep -o '[0-9]* requests in' $W/client.out | awk '{print $1}')
	[ -n "$n" ] || n=$(sed -n 's/^requests=//p' $W/client.out)
	echo "strace over $n requests ($c): calls per request"
	awk -v n=$n '$1 ~ /^[0-9.]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {printf "  %-14s %6.2f\n", $NF, $4 / n}' $W/strace.txt
fi
