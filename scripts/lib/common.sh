# common.sh — shared by scripts/run, scripts/test and scripts/bench.
# Installs what is missing, builds, and manages private PostgreSQL clusters.
# Sourced, not run.

BB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin

# Debian 12 packages the build, the tests and the daemon need.
BB_PACKAGES=(
	build-essential meson ninja-build pkg-config git python3
	libmicrohttpd-dev libpq-dev libcjson-dev libsodium-dev nettle-dev libcurl4-gnutls-dev
	libzint-dev zint libcairo2-dev libpng-dev zlib1g-dev
	postgresql-15 postgresql-client-15
	curl ca-certificates openssl tzdata
	clang libclang-rt-14-dev
	dmtx-utils zbar-tools poppler-utils librsvg2-bin fonts-dejavu-core fonts-dejavu-extra
	# labels: Pango; DejaVu covers Latin, Cyrillic and Arabic, these add
	# Chinese (7 MB, not the 90 MB fonts-noto-cjk) and an Arabic face (1 MB)
	libpango1.0-dev fonts-droid-fallback fonts-kacst
	chromium
	wrk time procps
	pgbouncer nginx
	# scripts/package: its test's Debian 12 chroot
	dpkg-dev debootstrap
	# single sign-on: JWT signatures, LDAP logins, the directory the tests start
	libssl-dev libldap-dev slapd ldap-utils
	# backups with point-in-time recovery (scripts/backup-test) and automatic
	# failover (scripts/ha-test): docs/operations.md
	pgbackrest pg-auto-failover-cli postgresql-15-auto-failover
)

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

bb_missing_packages() {
	local p missing=()
	for p in "${BB_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] || printf '%s\n' "${missing[@]}"
}

bb_install_deps() {
	local missing
	mapfile -t missing < <(bb_missing_packages)
	# Node.js may come from elsewhere than Debian (with npm inside): only the
	# commands matter.
	command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
	[ "${#missing[@]}" -eq 0 ] && return 0
	say "installing Debian packages: ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 ||
			die "missing packages (${missing[*]}) and neither root nor sudo is available; install them and run again"
		sudo=(sudo)
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
		die "apt-get update failed"
	# Servers the tests start themselves (PostgreSQL, pgbouncer, nginx) must not also be
	# started as system services by their packages: forbid that for the install.
	local policy=/usr/sbin/policy-rc.d own_policy=no
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null &&
			"${sudo[@]}" chmod 755 "$policy" && own_policy=yes
	fi
	local rc=0
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	[ "$own_policy" = yes ] && "${sudo[@]}" rm -f "$policy"
	[ "$rc" -eq 0 ] || die "apt-get install failed for: ${missing[*]}"
}

# bb_build DIR TARGETS [meson options...]: configure once, then build
# TARGETS (space-separated ninja targets; empty for everything).
bb_build() {
	local dir=$1 targets=$2
	shift 2
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$BB_ROOT" "$@" >"$dir.setup.log" 2>&1 || {
			cat "$dir.setup.log" >&2
			die "meson setup failed"
		}
	fi
	# shellcheck disable=SC2086
	ninja -C "$dir" $targets >"$dir.build.log" 2>&1 || {
		cat "$dir.build.log" >&2
		die "build failed"
	}
}

# PostgreSQL refuses to run as root: run the cluster as 'postgres' then.
bb_pg_user() {
	if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

bb_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# bb_pg_init DATADIR SOCKETDIR PORT: a cluster reachable only through a
# Unix socket in SOCKETDIR, with a 'biobank' login role owning database 'biobank'.
bb_pg_init() {
	local data=$1 sock=$2 port=$3
	mkdir -p "$data" "$sock"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$data" "$sock"
		runuser -u postgres -- test -w "$data" ||
			die "user 'postgres' cannot write $data (a parent folder is closed to it); clone the project where other users can enter"
	fi
	chmod 700 "$data"
	# Text sorted by code point either way; "C" is the collation PostgreSQL
	# compares with memcmp and sorts with abbreviated keys, C.UTF-8 through
	# strcoll: an index on specimen IDs built 4x faster (docs/operations.md).
	bb_as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
		--locale=C.UTF-8 --lc-collate=C >"$data.initdb.log" 2>&1 || {
		cat "$data.initdb.log" >&2
		die "initdb failed"
	}
	# A quarter of the RAM for PostgreSQL's own cache (128 MB to 8 GB), the
	# usual starting point. The working set then stays in shared memory, which
	# the kernel does not drop the way it drops cached file pages when it
	# reclaims memory, so a lookup does not wait on a disk read after a quiet
	# spell (seen on the benchmark machine, which reclaims idle pages).
	local ram_mb shared_mb
	ram_mb=$(awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
	shared_mb=$((ram_mb / 4))
	if [ "$shared_mb" -lt 128 ]; then shared_mb=128; fi
	if [ "$shared_mb" -gt 8192 ]; then shared_mb=8192; fi
	cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sock'
unix_socket_permissions = 0770
port = $port
max_connections = 200
shared_buffers = ${shared_mb}MB
effective_cache_size = $((ram_mb / 2))MB
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
}

bb_pg_start() {
	local data=$1 sock=$2 port=$3
	bb_as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null ||
		{ tail -20 "$data/server.log" >&2; die "PostgreSQL did not start"; }
	# Create the application role and database once.
	if ! "$PG_BIN/psql" -h "$sock" -p "$port" -U postgres -d postgres -tAc \
		"SELECT 1 FROM pg_roles WHERE rolname = 'biobank'" | grep -q 1; then
		"$PG_BIN/psql" -q -h "$sock" -p "$port" -U postgres -d postgres \
			-c "CREATE ROLE biobank LOGIN CREATEDB" \
			-c "CREATE DATABASE biobank OWNER biobank" >/dev/null ||
			die "could not create the biobank role and database"
	fi
	bb_pg_roles "$sock" "$port"
}

# bb_pg_roles SOCKETDIR PORT: the daemon's login role biobank_daemon, in
# biobank_app. biobankd migrate (as biobank) grants biobank_app what the
# daemon may do (migrations/0016_roles.sql); a database owner may not create
# roles, so the superuser makes them here (docs/operations.md).
bb_pg_roles() {
	local sock=$1 port=$2
	if ! "$PG_BIN/psql" -h "$sock" -p "$port" -U postgres -d postgres -tAc \
		"SELECT 1 FROM pg_roles WHERE rolname = 'biobank_daemon'" | grep -q 1; then
		"$PG_BIN/psql" -q -h "$sock" -p "$port" -U postgres -d postgres \
			-c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'biobank_app')
			    THEN CREATE ROLE biobank_app NOLOGIN; END IF; END \$\$" \
			-c "CREATE ROLE biobank_daemon LOGIN IN ROLE biobank_app" >/dev/null ||
			die "could not create the biobank_app and biobank_daemon roles"
	fi
}

bb_pg_stop() {
	local data=$1
	[ -f "$data/postmaster.pid" ] || return 0
	bb_as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

bb_free_port() {
	python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}
