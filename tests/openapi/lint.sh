#!/bin/sh
# lint.sh BIOBANKD REDOCLY_DIR — the OpenAPI document biobankd generates,
# linted by Redocly's recommended rules: no error and no warning may stand.
# TAP on stdout. Redocly is installed by scripts/test (npm ci --prefix tests/openapi);
# without it the check fails, naming what is missing, never skips.
biobankd=$1
dir=$2
echo "1..2"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
if "$biobankd" openapi >"$tmp/openapi.json" 2>"$tmp/err"; then
	echo "ok 1 - biobankd openapi prints the document"
else
	echo "not ok 1 - biobankd openapi prints the document"
	sed 's/^/# /' "$tmp/err"
fi
redocly=$dir/node_modules/.bin/redocly
if [ ! -x "$redocly" ]; then
	echo "not ok 2 - Redocly lints the document: $redocly is missing (npm ci --prefix tests/openapi)"
	exit 1
fi
# Offline: no telemetry, no update check.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
if "$redocly" lint --config "$dir/redocly.yaml" --max-problems 50 "$tmp/openapi.json" \
	>"$tmp/lint" 2>&1 && ! grep -Eq "You have [0-9]+ warnings?" "$tmp/lint"; then
	echo "ok 2 - Redocly lints the document: no error, no warning"
else
	echo "not ok 2 - Redocly lints the document: no error, no warning"
	sed 's/^/# /' "$tmp/lint"
	exit 1
fi
