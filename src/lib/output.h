/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Renderers of a snapshot: one per format, shared by every program. */
#ifndef GMEM_OUTPUT_H
#define GMEM_OUTPUT_H

#include "lib/model.h"

#include <stdio.h>

enum gmem_format {
	GMEM_FMT_TABLE,
	GMEM_FMT_JSON, /* one object per snapshot, one line each (JSON lines) */
	GMEM_FMT_CSV,  /* one row per record, typed by column 1 (doc/gmemtop-csv.md) */
};

struct gmem_render_opts {
	enum gmem_format fmt;
	int rows;            /* at most this many rows per table (0: all) */
	bool folios;         /* list folios too (JSON always does) */
	const char *kernel;  /* release string to show */
	const char *attach;  /* how pins are tracked: "fentry", "kprobe" (NULL: not) */
};

int gmem_parse_format(const char *s, enum gmem_format *out);
/* Once, before the first snapshot: CSV's header lines (nothing for the
 * other formats). */
int gmem_render_begin(FILE *out, const struct gmem_render_opts *o);
int gmem_render_snapshot(FILE *out, const struct gmem_snapshot *s,
			 const struct gmem_render_opts *o);
/* ",field": quoted as RFC 4180 has it when it holds a comma, a quote or a
 * line break; NULL is an empty field. */
void gmem_csv_field(FILE *out, const char *field);
/* A stack as one field: frames innermost first, separated by ';' (nr < 0:
 * an empty field, none recorded). */
void gmem_csv_frames(FILE *out, char *const *frames, int nr);
/* A kernel stack's frames as a JSON array (NULL: none recorded). */
struct json_object;
struct json_object *gmem_json_stack(const struct gmem_stack *st);
/* "1.5s", "3m02s", "2h05m": a duration for humans. */
void gmem_format_age(char *buf, size_t len, __u64 ns);

#endif
