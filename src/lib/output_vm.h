/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The guest memory model's part of each renderer (output.c calls these). */
#ifndef GMEM_OUTPUT_VM_H
#define GMEM_OUTPUT_VM_H

#include "lib/model.h"
#include "lib/output.h"

#include <json-c/json.h>
#include <stdio.h>

/* The VMS table: one row per VM, its memslots below it. */
void gmem_table_vms(FILE *out, const struct gmem_snapshot *s, int rows);
/* The "vms" array; the VM fields of a file's and of a folio's object. */
struct json_object *gmem_json_vms(const struct gmem_snapshot *s, int rows);
void gmem_json_file_vm(struct json_object *j, const struct gmem_snapshot *s,
		       const struct gmem_file *f);
void gmem_json_folio_vm(struct json_object *j, const struct gmem_snapshot *s,
			const struct gmem_folio *f);
/* CSV: the VM columns at the end of file and folio rows, and the fields. */
#define GMEM_CSV_FILE_VM_COLUMNS "vm,shared_backing,guest_memfd_flags"
#define GMEM_CSV_FOLIO_VM_COLUMNS "vm,backing,memslot,as_id,gfn"
void gmem_csv_file_vm(FILE *out, const struct gmem_snapshot *s, const struct gmem_file *f);
void gmem_csv_folio_vm(FILE *out, const struct gmem_snapshot *s, const struct gmem_folio *f);
/* CSV: the vm and memslot header lines, and the rows of a snapshot. */
void gmem_csv_vm_headers(FILE *out);
void gmem_csv_vms(FILE *out, const struct gmem_snapshot *s, int rows);

#endif
