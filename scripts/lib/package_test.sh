#!/usr/bin/env bash
# package_test.sh DEB — what a hospital's IT does with the package, in a
# clean Debian 12 chroot: install it (apt resolves its Depends from Debian's
# archive), set up PostgreSQL as docs/operations.md says, upgrade to a newer
# version (whose postinst runs biobankd migrate), start biobankd the way its
# systemd unit does (its user, its EnvironmentFile, its ExecStart), ask it
# /healthz and /readyz, and print a Chinese label with the packaged labelgen.
#
# Needs root (chroot, mounts). The chroot is made once by debootstrap from
# Debian's archive and kept as a tarball in $BB_PACKAGE_CACHE
# (/var/cache/biobank), with apt's lists and downloaded packages, so a rerun
# needs no network and takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

deb=$(realpath "${1:?usage: package_test.sh DEB}")
[ "$(id -u)" -eq 0 ] || die "the package test needs root (chroot and mounts)"
cache=${BB_PACKAGE_CACHE:-/var/cache/biobank}
mirror=${BB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
tarball=$cache/debian12-minbase.tar.gz
mkdir -p "$cache"/apt-archives/partial "$cache"/apt-lists/partial
t0=$(date +%s)

if [ ! -s "$tarball" ]; then
	command -v debootstrap >/dev/null ||
		die "debootstrap is missing (apt-get install debootstrap) and there is no $tarball"
	say "package test: debootstrap Debian 12 from $mirror (once; cached in $tarball)"
	tmp=$(mktemp -d /var/tmp/biobank-debootstrap.XXXXXX)
	debootstrap --variant=minbase bookworm "$tmp" "$mirror" >/dev/null ||
		{ rm -rf "$tmp"; die "debootstrap failed"; }
	tar -C "$tmp" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
	rm -rf "$tmp"
fi

root=$(mktemp -d /var/tmp/biobank-chroot.XXXXXX)
mounted=()
daemon_pid=
cleanup() {
	set +e
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	if [ -x "$root/usr/lib/postgresql/15/bin/pg_ctl" ] && [ -d "$root/var/lib/pgtest" ]; then
		chroot "$root" runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl \
			-D /var/lib/pgtest -m fast stop >/dev/null 2>&1
	fi
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}"; done
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT INT TERM
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

tar -C "$root" -xzf "$tarball"
for m in proc sys dev; do
	mount --bind "/$m" "$root/$m" && mounted+=("$root/$m")
done
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives" &&
	mounted+=("$root/var/cache/apt/archives")
mount --bind "$cache/apt-lists" "$root/var/lib/apt/lists" && mounted+=("$root/var/lib/apt/lists")
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
# No service starts inside the chroot (there is no systemd in it): the test
# starts what it needs itself.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp "$deb" "$root/tmp/biobank.deb"

# Fresh lists at most once a day: the archive of a stable release moves slowly.
if [ -z "$(find "$cache/apt-lists" -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit)" ]; then
	in_root apt-get update -qq || die "apt-get update failed in the chroot"
fi
say "package test: installing the package and PostgreSQL 15 in a clean Debian 12"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	/tmp/biobank.deb postgresql-15 curl >"$root/tmp/install.log" 2>&1 ||
	{ tail -30 "$root/tmp/install.log"; die "the package did not install"; }
fails=0
check() { # check DESCRIPTION COMMAND...: one line per check, the failures counted
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then say "  ok: $what"; else say "  FAILED: $what"; fails=$((fails + 1)); fi
}
check "the first install says the database is not set up yet" \
	grep -q "database is not set up yet" "$root/tmp/install.log"
check "the system user biobank exists, with no login shell" \
	sh -c "chroot '$root' getent passwd biobank | grep -q nologin"
check "biobankd, labelgen and both man pages are installed" \
	test -x "$root/usr/sbin/biobankd" -a -x "$root/usr/bin/labelgen" \
	-a -f "$root/usr/share/man/man8/biobankd.8.gz" -a -f "$root/usr/share/man/man1/labelgen.1.gz"
check "the schema's SQL and the bench page's files are installed" \
	test -f "$root/usr/share/biobank/migrations/0014_print_jobs.sql" \
	-a -f "$root/usr/share/biobank/static/index.html"
check "the unit runs biobankd serve as the user biobank" \
	grep -qx "User=biobank" "$root/lib/systemd/system/biobankd.service"
check "the unit is enabled" test -L "$root/etc/systemd/system/multi-user.target.wants/biobankd.service"
check "the settings file is readable by root and the group biobank only" \
	sh -c "[ \"\$(chroot '$root' stat -c '%a %U %G' /etc/biobank/biobankd.env)\" = '640 root biobank' ]"

# PostgreSQL as a site sets it up (docs/operations.md, "Install").
install -d -o "$(in_root id -u postgres)" "$root/var/lib/pgtest" "$root/run/postgresql"
in_root runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D /var/lib/pgtest -E UTF8 \
	--locale=C.UTF-8 -A trust >/dev/null || die "initdb failed in the chroot"
in_root runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D /var/lib/pgtest -w \
	-l /var/lib/pgtest/log -o "-c listen_addresses='' -k /run/postgresql" start >/dev/null ||
	die "PostgreSQL did not start in the chroot"
in_root runuser -u postgres -- psql -qX -h /run/postgresql -v ON_ERROR_STOP=1 \
	-c 'CREATE ROLE biobank LOGIN' \
	-c "CREATE DATABASE biobank OWNER biobank ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8' TEMPLATE template0" \
	-c 'CREATE ROLE biobank_app NOLOGIN' \
	-c 'CREATE ROLE biobank_daemon LOGIN IN ROLE biobank_app' >/dev/null ||
	die "could not create the roles and the database"

# An upgrade to a newer version of the same files: its postinst migrates.
up=$root/tmp/up
dpkg-deb -R "$deb" "$up"
old=$(sed -n 's/^Version: //p' "$up/DEBIAN/control")
sed -i "s/^Version: .*/Version: $old.1/" "$up/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz --build "$up" "$root/tmp/biobank-up.deb" >/dev/null
if in_root dpkg -i /tmp/biobank-up.deb >"$root/tmp/upgrade.log" 2>&1; then
	say "  ok: the upgrade to $old.1 configured"
else
	say "  FAILED: the upgrade to $old.1 did not configure:"
	tail -20 "$root/tmp/upgrade.log" >&2
	fails=$((fails + 1))
fi
tables=$(in_root runuser -u postgres -- psql -qXAt -h /run/postgresql -d biobank \
	-c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" 2>/dev/null || echo 0)
check "its postinst ran biobankd migrate ($tables tables)" test "$tables" -gt 10
check "a second configure migrates again, changing nothing" \
	in_root dpkg-reconfigure biobank

# The daemon as its unit starts it: User=, EnvironmentFile=, ExecStart=.
unit=$root/lib/systemd/system/biobankd.service
user=$(sed -n 's/^User=//p' "$unit")
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
envfile=$(sed -n 's/^EnvironmentFile=//p' "$unit")
port=$(bb_free_port)
mapfile -t settings < <(grep -E '^[A-Z_]+=' "$root$envfile")
chroot "$root" env -i PATH=/usr/sbin:/usr/bin "${settings[@]}" BIOBANK_LISTEN="127.0.0.1:$port" \
	runuser -u "$user" -- $exec_start >"$root/tmp/biobankd.log" 2>&1 &
daemon_pid=$!
up_ok=no
for _ in $(seq 1 100); do
	if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then up_ok=yes; break; fi
	kill -0 "$daemon_pid" 2>/dev/null || break
	sleep 0.1
done
if [ "$up_ok" = yes ]; then say "  ok: biobankd started as $user and answers /readyz"; else
	say "  FAILED: biobankd did not answer /readyz:"
	tail -20 "$root/tmp/biobankd.log" >&2
	fails=$((fails + 1))
fi
check "/healthz answers 200" curl -fsS "http://127.0.0.1:$port/healthz"
uid=$(in_root id -u "$user")
check "it runs as the user $user (uid $uid)" \
	sh -c "ps -eo uid=,comm= | awk -v u=$uid '\$1 == u && \$2 == \"biobankd\" { f = 1 } END { exit !f }'"
# SIGTERM to biobankd itself, as systemd sends it (runuser passes its exit status on).
pid=$(ps -eo pid=,ppid=,uid=,comm= |
	awk -v u="$uid" '$3 == u && $4 == "biobankd" { print $1 }' | head -1)
[ -n "$pid" ] && kill -TERM "$pid"
wait "$daemon_pid" 2>/dev/null && status=0 || status=$?
daemon_pid=
check "SIGTERM stops it cleanly (exit $status)" test "$status" -eq 0

# labelgen with only the package's dependencies: Chinese needs a CJK font.
printf 'id,participant,timepoint\nKRVQKEB8,MASC/0042,\xe5\x9f\xba\xe7\xba\xbf\n' >"$root/tmp/l.csv"
check "the packaged labelgen prints a Chinese timepoint (fonts from Depends)" \
	in_root labelgen --input /tmp/l.csv --output /tmp/l.png
check "  into a PNG" sh -c "head -c 4 '$root/tmp/l.png' | grep -q PNG"

say "package test: $fails failed, $(($(date +%s) - t0)) s"
[ "$fails" -eq 0 ]
