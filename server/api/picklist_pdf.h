/*
 * picklist_pdf.h — a request's pick list as a printable PDF (A4), drawn
 * with cairo and Pango, which the daemon already links for label previews.
 */
#ifndef SRV_PICKLIST_PDF_H
#define SRV_PICKLIST_PDF_H

#include "biobank.h"

#include <libpq-fe.h>

/*
 * Append to out a PDF of the pick list rows (bb_request_pick_rows' columns:
 * line, freezer, temperature_c, location, box, position, specimen,
 * tube_barcode, type, timepoint, quantity, unit, picked) under the heading
 * title: one section per freezer, a row per tube with a box to tick, as many
 * pages as it takes. BB_EINTERNAL when cairo fails (out is left as it was).
 */
enum bb_err picklist_pdf(const char *title, const PGresult *rows, struct bb_buf *out);

#endif
