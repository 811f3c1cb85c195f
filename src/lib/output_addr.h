/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a folio's holder pinned it, and its user stack: the part of each
 * renderer (output.c calls these). */
#ifndef GMEM_OUTPUT_ADDR_H
#define GMEM_OUTPUT_ADDR_H

#include "lib/model.h"

#include <json-c/json.h>
#include <stdio.h>

/* "mm", "addr" (hex strings, null: not known) and "ustack" (an array of
 * frames, null: not recorded) in a folio's "tracked" object. */
void gmem_json_folio_addr(struct json_object *tracked, const struct gmem_snapshot *s,
			  const struct gmem_folio *f);
/* CSV: the columns at the end of folio rows, and their fields. */
#define GMEM_CSV_FOLIO_ADDR_COLUMNS "tracked_mm,tracked_addr,tracked_ustack"
void gmem_csv_folio_addr(FILE *out, const struct gmem_snapshot *s, const struct gmem_folio *f);
/* Table: the user address, "unknown" where the pin path did not tell it,
 * "-" for a folio not tracked. */
void gmem_format_pin_addr(char *buf, size_t len, const struct gmem_folio *f);

#endif
