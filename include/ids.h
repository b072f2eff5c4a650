/*
 * ids.h — specimen identifiers.
 *
 * An ID is BB_ID_LEN characters of Crockford base-32 (no I, L, O, U): seven
 * characters carrying a scrambled serial number and a check character
 * computed with Luhn mod 32 over the alphabet. Luhn mod N misses exactly one
 * adjacent swap, that of the first and last symbols ('0' and 'Z'), so serials
 * whose ID would hold those two side by side are never issued: for every
 * issued ID, any single wrong character and any swap of two adjacent
 * characters fails the check. PostgreSQL issues IDs with the same algorithm
 * (migrations, function bb_specimen_id); tests keep the two in step.
 */
#ifndef BB_IDS_H
#define BB_IDS_H

#include "biobank.h"

enum { BB_ID_LEN = 8 };

extern const char bb_id_alphabet[33];

/* The check character for the first n characters of body (already normalized). */
char bb_id_check_char(const char *body, size_t n);

/*
 * Reads a typed or scanned ID: case-insensitive, I and L read as 1, O as 0,
 * hyphens and spaces ignored. On success writes the canonical ID to out.
 * Otherwise returns BB_EINVAL and sets *why to a sentence for the user.
 */
enum bb_err bb_id_parse(const char *s, char out[BB_ID_LEN + 1], const char **why);

/*
 * The one reader of a specimen reference, as typed, scanned or sent: a value
 * shaped like an ID (bb_id_shaped) is an ID and must pass its check — then
 * *is_id is true and the canonical ID is written to id; any other value is a
 * tube barcode, to be looked up as given (*is_id false, id untouched). An
 * ID-shaped value whose check character does not match is never read as a
 * barcode: BB_EINVAL, with *why a sentence for the user.
 */
enum bb_err bb_ref_read(const char *s, char id[BB_ID_LEN + 1], bool *is_id, const char **why);

/* True when s has the shape of an ID (length and alphabet), check aside. */
bool bb_id_shaped(const char *s);

/*
 * The ID for serial (1 ≤ serial < 2^35). Returns false, writing nothing,
 * for serials that are never issued (see above).
 */
bool bb_id_from_serial(uint64_t serial, char out[BB_ID_LEN + 1]);

#endif
