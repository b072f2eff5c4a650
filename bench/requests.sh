# bench/requests.sh — allocation figures (scripts/bench --requests), sourced by
# scripts/bench once the data set is loaded and the daemon is up. For each
# size, a researcher files a request for one tube of the commonest type at
# the commonest timepoint of MASC from N donors, the admin approves it, and
# POST /api/v1/requests/{id}/allocate is timed (then released, so that every
# run finds the same tubes free); three runs, the median. Then the
# catalogue and the MIABIS report over the whole data set, timed once each.

req_sql() { sql "$1" | head -1; }
tp=$(req_sql "SELECT timepoint FROM specimens WHERE study_id = 1 AND status = 'in_storage'
	GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
rtype=$(req_sql "SELECT type FROM specimens WHERE study_id = 1 AND status = 'in_storage'
	AND timepoint = '$tp' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
runit=$(req_sql "SELECT unit FROM specimens WHERE study_id = 1 AND status = 'in_storage'
	AND timepoint = '$tp' AND type = '$rtype' AND unit IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
donors=$(req_sql "SELECT count(DISTINCT participant_id) FROM specimens WHERE study_id = 1
	AND status = 'in_storage' AND timepoint = '$tp' AND type = '$rtype' AND unit = '$runit'")
res requests_timepoint "$tp"
res requests_type "$rtype"
res requests_candidate_donors "$donors"
say "requests: MASC $rtype at $tp ($donors donors hold one in $runit)"

rpass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
printf '%s\n' "$rpass" | "$biobankd" user add --role researcher bench-researcher >/dev/null
rtoken=$(curl -fsS -H 'Content-Type: application/json' \
	-d "{\"username\":\"bench-researcher\",\"password\":\"$rpass\"}" "$url/api/v1/sessions" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
json_field() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
# post TOKEN PATH [BODY]: the answer, failing the bench on anything but 2xx
post() {
	curl -fsS -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		-X POST ${3:+-d "$3"} "$url$2"
}

for n in 1 100 $((donors < 1000 ? donors : 1000)); do
	[ "$n" -le "$donors" ] || continue
	: >"$work/alloc-$n.txt"
	for run in 1 2 3; do
		id=$(post "$rtoken" /api/v1/requests "{\"title\":\"bench $n/$run\",\"project\":\"bench\",
			\"ethics_ref\":\"E\",\"mta_ref\":\"M\",\"purpose\":\"non-genetic\",
			\"criteria\":{\"study\":\"MASC\",\"timepoints\":[\"$tp\"],\"types\":[\"$rtype\"],
			\"quantity\":{\"value\":0.001,\"unit\":\"$runit\"},\"participants\":$n,
			\"allow_last_aliquot\":true}}" | json_field '["id"]')
		post "$token" "/api/v1/requests/$id/approve" '{}' >/dev/null
		settle
		curl -fsS -o "$work/alloc.json" -w '%{time_total}\n' "${auth[@]}" -X POST \
			"$url/api/v1/requests/$id/allocate" | awk '{printf "%.1f\n", $1 * 1000}' >>"$work/alloc-$n.txt"
		got=$(json_field '["allocation"]["specimens"]' <"$work/alloc.json")
		[ "$got" = "$n" ] || die "allocation of $n donors reserved $got tubes"
		post "$token" "/api/v1/requests/$id/release" '{}' >/dev/null
	done
	res "requests_allocate_${n}_ms" "$(median "$work/alloc-$n.txt")"
	say "allocate $n donors: $(median "$work/alloc-$n.txt") ms (median of 3)"
done

settle
ms=$(curl -fsS -o /dev/null -w '%{time_total}' "${auth[@]}" "$url/api/v1/catalogue" | awk '{printf "%.0f", $1 * 1000}')
res requests_catalogue_ms "$ms"
say "catalogue: $ms ms"
settle
ms=$(curl -fsS -o /dev/null -w '%{time_total}' "${auth[@]}" "$url/api/v1/reports/miabis" | awk '{printf "%.0f", $1 * 1000}')
res requests_miabis_ms "$ms"
say "MIABIS report: $ms ms"
