// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/output_addr.h"

#include "lib/output.h"


static struct json_object *jhex(bool known, __u64 v)
{
	char buf[24];

	if (!known)
		return NULL;
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return json_object_new_string(buf);
}

void gmem_json_folio_addr(struct json_object *tracked, const struct gmem_snapshot *s,
			  const struct gmem_folio *f)
{
	const struct gmem_ustack *st = gmem_folio_ustack(s, f);
	struct json_object *arr = NULL;
	__u64 mm, addr;
	bool known = gmem_folio_pin_address(f, &mm, &addr);

	json_object_object_add(tracked, "mm", jhex(known, mm));
	json_object_object_add(tracked, "addr", jhex(known, addr));
	if (st) {
		arr = json_object_new_array();
		for (int i = 0; i < st->nr; i++)
			json_object_array_add(arr, json_object_new_string(st->frames[i]));
	}
	json_object_object_add(tracked, "ustack", arr);
}

static void csv_hex(FILE *out, bool known, __u64 v)
{
	if (known)
		fprintf(out, ",0x%llx", (unsigned long long)v);
	else
		fputc(',', out);
}

void gmem_csv_folio_addr(FILE *out, const struct gmem_snapshot *s, const struct gmem_folio *f)
{
	__u64 mm, addr;
	bool known = gmem_folio_pin_address(f, &mm, &addr);
	const struct gmem_ustack *st = gmem_folio_ustack(s, f);

	csv_hex(out, known, mm);
	csv_hex(out, known, addr);
	gmem_csv_frames(out, st ? st->frames : NULL, st ? st->nr : -1);
}

void gmem_format_pin_addr(char *buf, size_t len, const struct gmem_folio *f)
{
	__u64 mm, addr;

	if (!f->tracked)
		snprintf(buf, len, "-");
	else if (gmem_folio_pin_address(f, &mm, &addr))
		snprintf(buf, len, "0x%llx", (unsigned long long)addr);
	else
		snprintf(buf, len, "unknown");
}
