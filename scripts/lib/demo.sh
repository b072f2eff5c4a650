#!/usr/bin/env bash
# demo.sh URL USER PASSWORD — demo data through the public API, so that it
# passes every check a real client's data does (and leaves custody events).
set -euo pipefail
url=$1 user=$2 password=$3

token=$(curl -fsS -H 'Content-Type: application/json' \
	-d "{\"username\":\"$user\",\"password\":\"$password\"}" "$url/api/v1/sessions" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

post() {
	curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d "$2" "$url$1"
}

post /api/v1/users '{"username":"tech","password":"tech-password","role":"technician"}' >/dev/null
post /api/v1/users '{"username":"manager","password":"manager-password","role":"manager"}' >/dev/null
echo "demo accounts: tech / tech-password, manager / manager-password" >&2
