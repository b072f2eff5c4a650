#!/usr/bin/env bash
# demo.sh URL USER PASSWORD — demo data through the public API, so that it
# passes every check a real client's data does (and leaves custody events):
# a site with a room, a −80 °C freezer with two racks of 9×9 boxes and an
# LN2 tank, study MASC with participants, collections at baseline and 12
# months split into aliquots and stored, and demo accounts.
set -euo pipefail
url=$1 user=$2 password=$3

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

token=$(curl -fsS -H 'Content-Type: application/json' \
	-d "{\"username\":\"$user\",\"password\":\"$password\"}" "$url/api/v1/sessions" | json '["token"]')

post() {
	curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d "$2" "$url$1"
}

post /api/v1/users '{"username":"tech","password":"tech-password","role":"technician"}' >/dev/null
post /api/v1/users '{"username":"manager","password":"manager-password","role":"manager"}' >/dev/null
post /api/v1/users '{"username":"auditor","password":"auditor-password","role":"auditor"}' >/dev/null
post /api/v1/studies '{"code":"MASC","name":"Myositis and systemic sclerosis cohort"}' >/dev/null

site=$(post /api/v1/locations '{"kind":"site","name":"Main biobank"}' | json '["id"]')
room=$(post /api/v1/locations "{\"kind\":\"room\",\"name\":\"Room B.112\",\"parent\":$site}" | json '["id"]')
freezer=$(post /api/v1/locations "{\"kind\":\"freezer\",\"name\":\"Freezer F1 (-80)\",\"parent\":$room,\"temperature_c\":-80}" | json '["id"]')
tank=$(post /api/v1/locations "{\"kind\":\"freezer\",\"name\":\"LN2 tank T1\",\"parent\":$room,\"temperature_c\":-196}" | json '["id"]')
for r in 1 2; do
	rack=$(post /api/v1/locations "{\"kind\":\"rack\",\"name\":\"Rack $r\",\"parent\":$freezer}" | json '["id"]')
	for b in 1 2 3; do
		post /api/v1/boxes "{\"barcode\":\"F1-R$r-B$b\",\"rows\":9,\"cols\":9,\"parent\":$rack}" >/dev/null
	done
done
canister=$(post /api/v1/locations "{\"kind\":\"rack\",\"name\":\"Canister 1\",\"parent\":$tank}" | json '["id"]')
post /api/v1/boxes "{\"barcode\":\"T1-C1-B1\",\"rows\":10,\"cols\":10,\"parent\":$canister}" >/dev/null

diagnoses=(DM IBM SSc IMNM ASyS control)
for p in 1 2 3 4 5 6; do
	code=$(printf 'P%03d' "$p")
	post /api/v1/participants "{\"study\":\"MASC\",\"code\":\"$code\",\"sex\":\"$([ $((p % 2)) -eq 0 ] && echo male || echo female)\",\"birth_year\":$((1950 + p * 5)),\"diagnosis\":\"${diagnoses[$((p - 1))]}\"}" >/dev/null
done

# Serum collections of the first three participants, 4 aliquots each, filled into box F1-R1-B1.
slot=0
for p in 1 2 3; do
	code=$(printf 'P%03d' "$p")
	for tp in baseline m12; do
		ids=$(post /api/v1/specimens "{\"participant\":{\"study\":\"MASC\",\"code\":\"$code\"},\"type\":\"serum\",\"timepoint\":\"$tp\",\"collected_at\":\"2026-0$((p + 2))-1${p}T09:30:00Z\",\"quantity\":{\"value\":2,\"unit\":\"mL\"},\"aliquots\":4}" |
			python3 -c 'import json,sys; print(" ".join(a["id"] for a in json.load(sys.stdin)["aliquots"]))')
		for id in $ids; do
			pos="$(printf "\\x$(printf %x $((65 + slot / 9)))")$((slot % 9 + 1))"
			post "/api/v1/specimens/$id/store" "{\"box\":\"F1-R1-B1\",\"position\":\"$pos\"}" >/dev/null
			slot=$((slot + 1))
		done
	done
done
echo "demo data: study MASC, 6 participants, 24 serum aliquots in box F1-R1-B1" >&2
echo "demo accounts: tech / tech-password, manager / manager-password, auditor / auditor-password" >&2
