/*
 * forge.h — what an attacker with the owner's rights and the triggers off
 * does to hide a change: event 3 of one tube gets another reason, then its
 * whole chain, the tube's head, the log's leaves and every stored node are
 * recomputed, so that everything inside the database agrees again and only
 * a signed checkpoint kept elsewhere shows it. Shared by test_tamper and
 * test_witness. Three %s, each the tube's ID; no trailing semicolon.
 */
#ifndef BB_TEST_FORGE_H
#define BB_TEST_FORGE_H

#define FORGE_CHAIN_AND_LOG                                                                        \
	" UPDATE events SET reason = 'routine' WHERE specimen_id = '%s' AND seq = 3;"              \
	" DO $$ DECLARE e events; prev bytea;"                                                     \
	" BEGIN FOR e IN SELECT * FROM events WHERE specimen_id = '%s' ORDER BY seq LOOP"          \
	"  IF e.seq > 1 THEN UPDATE events SET prev_hash = prev WHERE specimen_id ="               \
	"   e.specimen_id AND seq = e.seq; e.prev_hash := prev; END IF;"                           \
	"  prev := bb_event_digest_v2(e.specimen_id, e.seq, e.type, e.at, e.actor,"                \
	"   e.from_box, e.from_pos, e.to_box, e.to_pos, e.reason, e.details, e.prev_hash);"        \
	"  UPDATE events SET hash = prev WHERE specimen_id = e.specimen_id AND seq = e.seq;"       \
	"  UPDATE log_nodes n SET hash = sha256('\\x00'::bytea || bb_event_bytes_v2("              \
	"   e.format, e.specimen_id, e.seq, e.type, e.at, e.actor, e.from_box, e.from_pos,"        \
	"   e.to_box, e.to_pos, e.reason, e.details, e.prev_hash))"                                \
	"   FROM log_entries l WHERE l.specimen_id = e.specimen_id AND l.seq = e.seq"              \
	"   AND n.level = 0 AND n.idx = l.idx;"                                                    \
	" END LOOP;"                                                                               \
	" UPDATE specimens SET ledger_head = prev WHERE id = '%s';"                                \
	" FOR lv IN 1..20 LOOP UPDATE log_nodes p SET hash = sha256('\\x01'::bytea ||"             \
	"  l.hash || r.hash) FROM log_nodes l, log_nodes r WHERE p.level = lv"                     \
	"  AND l.level = lv - 1 AND l.idx = 2 * p.idx AND r.level = lv - 1"                        \
	"  AND r.idx = 2 * p.idx + 1; END LOOP; END $$"

#endif
