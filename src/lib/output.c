// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/output.h"

#include "lib/attrib.h"
#include "lib/output_addr.h"
#include "lib/output_vm.h"
#include "lib/released.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

int gmem_parse_format(const char *s, enum gmem_format *out)
{
	if (!strcmp(s, "table"))
		*out = GMEM_FMT_TABLE;
	else if (!strcmp(s, "json"))
		*out = GMEM_FMT_JSON;
	else if (!strcmp(s, "csv"))
		*out = GMEM_FMT_CSV;
	else
		return -EINVAL;
	return 0;
}

void gmem_format_age(char *buf, size_t len, __u64 ns)
{
	__u64 ms = ns / 1000000, s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%llu.%llus", s, (ms % 1000) / 100);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(buf, len, "%lluh%02llum", s / 3600, (s / 60) % 60);
}

static __u64 age_ns(const struct gmem_snapshot *s, __u64 then)
{
	return then && s->time_ns > then ? s->time_ns - then : 0;
}

static void dev_str(char *buf, size_t len, __u32 dev)
{
	/* the kernel's s_dev encoding: 12-bit major, 20-bit minor */
	snprintf(buf, len, "%u:%u", dev >> 20, dev & 0xfffff);
}

static bool limit(const struct gmem_render_opts *o, size_t i)
{
	return o->rows > 0 && i >= (size_t)o->rows;
}

/* The names of the APIs in 'mask', separated by 'sep'. */
static void api_list(char *buf, size_t len, __u32 mask, const char *sep)
{
	buf[0] = '\0';
	for (int a = 0; a < GMEM_API_NR; a++)
		if (mask & (1u << a))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? sep : "",
				 gmem_api_name(a));
}

static bool complete(const struct gmem_snapshot *s)
{
	return !gmem_stats_lost(&s->stats) && !s->bad_records;
}

/* ---- table ---- */

static void table_header(FILE *out, const struct gmem_snapshot *s,
			 const struct gmem_render_opts *o)
{
	__u64 lost = gmem_stats_lost(&s->stats) + s->bad_records;
	char when[32] = "";
	time_t t = (time_t)(s->realtime_ns / 1000000000);
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "gmemtop %s  kernel %s  tracking %s  scan %s  lost %llu%s\n", when,
		o->kernel ? o->kernel : "?", !s->tracking ? "off" : o->attach ? o->attach : "on",
		s->scanned ? "on" : "off",
		lost, lost ? "  (INCOMPLETE: counts are low)" : "");
	if (s->filter.pid)
		fprintf(out, "filter: pid %u (other processes' pins on its files count as "
			     "UNTRACKED)\n", s->filter.pid);
	if (s->filter.cgroup_id)
		fprintf(out, "filter: cgroup %llu (files it pins; their KERNEL and UNTRACKED "
			     "counts are the whole file's)\n", s->filter.cgroup_id);
	for (size_t i = 0; s->tracking && i < s->nr_files; i++)
		if (s->files[i].untracked_pins) {
			fprintf(out, "note: UNTRACKED pins were taken before tracking began%s "
				     "(the kernel counts them; who took them is unknown)\n",
				s->filter.pid ? ", or by other processes" : "");
			break;
		}
	if (s->stats.v[GMEM_STAT_UNPIN_UNKNOWN])
		fprintf(out, "note: %llu unpins of guest memory pinned before tracking began\n",
			(__u64)s->stats.v[GMEM_STAT_UNPIN_UNKNOWN]);
	if (s->stats.v[GMEM_STAT_UNPIN_RUNS_MISSED])
		fprintf(out, "note: the kernel skipped %llu unpin runs (recursion guard); %llu pins "
			     "released meanwhile were recovered from its counts\n",
			(__u64)s->stats.v[GMEM_STAT_UNPIN_RUNS_MISSED],
			(__u64)s->stats.v[GMEM_STAT_UNPIN_RECOVERED]);
}

static void table_procs(FILE *out, const struct gmem_snapshot *s,
			const struct gmem_render_opts *o)
{
	fprintf(out, "\nPROCESSES\n%8s  %-16s %8s %8s %6s %9s  %-10s %s\n", "PID", "COMM",
		"FOLIOS", "PINS", "GETS", "LONGTERM", "FIRST_PIN", "API");
	for (size_t i = 0; i < s->nr_procs && !limit(o, i); i++) {
		const struct gmem_process *p = &s->procs[i];
		char age[32];

		char apis[192];

		gmem_format_age(age, sizeof(age), age_ns(s, p->first_pin_ns));
		api_list(apis, sizeof(apis), p->api_mask, ",");
		strncat(age, " ago", sizeof(age) - strlen(age) - 1);
		fprintf(out, "%8u  %-16s %8u %8llu %6llu %9s  %-10s %s\n", p->tgid, p->comm,
			p->folios, p->pins, p->gets, p->longterm ? "yes" : "no", age, apis);
	}
	if (!s->nr_procs)
		fprintf(out, "%8s  (no pins tracked)\n", "-");
}

static void table_files(FILE *out, const struct gmem_snapshot *s,
			const struct gmem_render_opts *o)
{
	fprintf(out, "\nGUEST_MEMFD FILES\n%-8s %8s %8s  %-16s %10s  %14s %10s %10s  %s\n",
		"DEV", "INODE", "PID", "COMM", "SIZE", "TRACKED", "UNTRACKED", "UNEXPL.", "KERNEL");
	fprintf(out, "%-8s %8s %8s  %-16s %10s  %14s %10s %10s  %s\n", "", "", "", "", "",
		"FOLIOS/PINS", "PINS", "REFS", "FOLIOS/PINNED/PINS/EXTRA_REF");
	for (size_t i = 0; i < s->nr_files && !limit(o, i); i++) {
		const struct gmem_file *f = &s->files[i];
		char dev[24], tracked[32], kernel[64], untracked[24] = "-", unexpl[24] = "-";

		dev_str(dev, sizeof(dev), f->dev);
		snprintf(tracked, sizeof(tracked), "%u/%llu", f->tracked_folios, f->tracked_pins);
		if (f->scanned)
			snprintf(kernel, sizeof(kernel), "%u/%u/%llu/%u%s", f->kernel_folios,
				 f->kernel_pinned_folios, f->kernel_pins, f->kernel_extra_ref_folios,
				 f->truncated ? " (truncated)" : "");
		else
			snprintf(kernel, sizeof(kernel), "-");
		if (s->tracking && f->scanned)
			snprintf(untracked, sizeof(untracked), "%llu", f->untracked_pins);
		if (f->scanned)
			snprintf(unexpl, sizeof(unexpl), "%llu", f->unattributed_refs);
		fprintf(out, "%-8s %8llu %8u  %-16s %10llu  %14s %10s %10s  %s\n", dev, f->ino,
			f->owner_tgid, f->owner_tgid ? f->owner_comm : "-", f->size,
			s->tracking ? tracked : "-", untracked, unexpl, kernel);
	}
	if (!s->nr_files)
		fprintf(out, "%-8s  (no guest_memfd files)\n", "-");
}

/* "pid:api:refs" of each page_ref holder the kernel's surplus confirms,
 * separated by 'sep' (table and CSV). */
static void print_ref_holders(FILE *out, const struct gmem_snapshot *s,
			      const struct gmem_folio *f, const char *sep)
{
	int n = 0;

	for (size_t i = 0; s->page_ref && i < s->nr_ref_holders; i++) {
		const struct gmem_ref_holder_entry *e = &s->ref_holders[i];
		const struct gmem_stack *st;

		if (e->folio != f->addr || !e->shown_refs)
			continue;
		st = gmem_snapshot_find_stack(s, e->h.stack_id);
		fprintf(out, "%s%u:%s:%u", n++ ? sep : "", e->h.tgid,
			gmem_api_name(st ? st->api : GMEM_API_OTHER), e->shown_refs);
	}
}

static void table_folios(FILE *out, const struct gmem_snapshot *s,
			 const struct gmem_render_opts *o)
{
	size_t shown = 0;

	fprintf(out, "\nFOLIOS\n%-18s %8s %8s %6s %6s %8s  %-16s %-10s %8s %6s %7s  %-14s  %s\n",
		"FOLIO", "INODE", "INDEX", "PINS", "GETS", "PID", "COMM", "API", "K_REFS", "K_PINS",
		"K_EXTRA", "PIN_ADDR", s->page_ref ? "REF HOLDERS (PID:API:REFS)" : "");
	for (size_t i = 0; i < s->nr_folios && !limit(o, shown); i++) {
		const struct gmem_folio *f = &s->folios[i];
		char pin_addr[24];

		shown++;
		fprintf(out, "0x%016llx %8llu %8llu %6u %6u %8u  %-16s %-10s ", f->addr,
			f->ino, f->index, gmem_folio_tracked_pins(f), f->gets_held,
			f->tracked ? f->t.tgid : 0, f->tracked ? f->t.comm : "-",
			f->tracked ? gmem_api_name(gmem_folio_api(s, f)) : "-");
		if (f->scanned)
			fprintf(out, "%8d %6u ", f->k.refcount, f->k.pins);
		else
			fprintf(out, "%8s %6s ", "-", "-");
		if (f->extra_refs >= 0)
			fprintf(out, "%7d  ", f->extra_refs);
		else
			fprintf(out, "%7s  ", "-");
		gmem_format_pin_addr(pin_addr, sizeof(pin_addr), f);
		fprintf(out, "%-14s  ", pin_addr);
		print_ref_holders(out, s, f, ",");
		fputc('\n', out);
	}
}

static int render_table(FILE *out, const struct gmem_snapshot *s,
			const struct gmem_render_opts *o)
{
	table_header(out, s, o);
	gmem_table_vms(out, s, o->rows);
	table_procs(out, s, o);
	table_files(out, s, o);
	if (o->folios)
		table_folios(out, s, o);
	fputc('\n', out);
	/* a snapshot is read as soon as it is written (tail -f, pipes) */
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

/* ---- JSON (schema: doc/gmemtop-json.md) ---- */

static struct json_object *jint(__u64 v) { return json_object_new_int64((int64_t)v); }

static struct json_object *json_stats(const struct gmem_snapshot *s)
{
	struct json_object *o = json_object_new_object();

	for (int i = 0; i < GMEM_STAT_NR; i++)
		json_object_object_add(o, gmem_stat_name(i), jint(s->stats.v[i]));
	json_object_object_add(o, "bad_records", jint(s->bad_records));
	json_object_object_add(o, "lost", jint(gmem_stats_lost(&s->stats)));
	return o;
}

/* Unset filters are null: 0 is never a pid or a cgroup id we filter on. */
static struct json_object *jopt(__u64 v) { return v ? jint(v) : NULL; }

static struct json_object *json_filter(const struct gmem_filter *f)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", jopt(f->pid));
	json_object_object_add(o, "cgroup_id", jopt(f->cgroup_id));
	return o;
}

static struct json_object *json_apis(__u32 mask)
{
	struct json_object *arr = json_object_new_array();

	for (int a = 0; a < GMEM_API_NR; a++)
		if (mask & (1u << a))
			json_object_array_add(arr, json_object_new_string(gmem_api_name(a)));
	return arr;
}

struct json_object *gmem_json_stack(const struct gmem_stack *st)
{
	struct json_object *arr;

	if (!st)
		return NULL;
	arr = json_object_new_array();
	for (int i = 0; i < st->nr; i++)
		json_object_array_add(arr, json_object_new_string(st->frames[i]));
	return arr;
}

static struct json_object *json_procs(const struct gmem_snapshot *s,
				      const struct gmem_render_opts *o)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < s->nr_procs && !limit(o, i); i++) {
		const struct gmem_process *p = &s->procs[i];
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "pid", jint(p->tgid));
		json_object_object_add(j, "comm", json_object_new_string(p->comm));
		json_object_object_add(j, "pinned_folios", jint(p->folios));
		json_object_object_add(j, "pins", jint(p->pins));
		json_object_object_add(j, "gets", jint(p->gets));
		json_object_object_add(j, "longterm", json_object_new_boolean(p->longterm));
		json_object_object_add(j, "first_pin_age_ms", jint(age_ns(s, p->first_pin_ns) / 1000000));
		json_object_object_add(j, "apis", json_apis(p->api_mask));
		json_object_array_add(arr, j);
	}
	return arr;
}

static struct json_object *json_files(const struct gmem_snapshot *s,
				      const struct gmem_render_opts *o)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < s->nr_files && !limit(o, i); i++) {
		const struct gmem_file *f = &s->files[i];
		struct json_object *j = json_object_new_object(), *t, *k, *own;
		char dev[24];

		dev_str(dev, sizeof(dev), f->dev);
		json_object_object_add(j, "dev", json_object_new_string(dev));
		json_object_object_add(j, "ino", jint(f->ino));
		json_object_object_add(j, "size", jint(f->size));
		own = NULL;
		if (f->owner_tgid) {
			own = json_object_new_object();
			json_object_object_add(own, "pid", jint(f->owner_tgid));
			json_object_object_add(own, "comm", json_object_new_string(f->owner_comm));
			json_object_object_add(own, "fd", jint(f->owner_fd));
		}
		json_object_object_add(j, "owner", own);
		t = NULL;
		if (s->tracking) {
			t = json_object_new_object();
			json_object_object_add(t, "pinned_folios", jint(f->tracked_folios));
			json_object_object_add(t, "pins", jint(f->tracked_pins));
		}
		json_object_object_add(j, "tracked", t);
		k = NULL;
		if (f->scanned) {
			k = json_object_new_object();
			json_object_object_add(k, "folios", jint(f->kernel_folios));
			json_object_object_add(k, "pinned_folios", jint(f->kernel_pinned_folios));
			json_object_object_add(k, "pins", jint(f->kernel_pins));
			json_object_object_add(k, "extra_ref_folios", jint(f->kernel_extra_ref_folios));
			json_object_object_add(k, "extra_refs", jint(f->kernel_extra_refs));
			json_object_object_add(k, "complete", json_object_new_boolean(!f->truncated));
		}
		json_object_object_add(j, "kernel", k);
		json_object_object_add(j, "untracked_pins",
				       s->tracking && f->scanned ? jint(f->untracked_pins) : NULL);
		json_object_object_add(j, "unattributed_refs",
				       f->scanned ? jint(f->unattributed_refs) : NULL);
		json_object_object_add(j, "first_pin_age_ms", f->first_pin_ns
				       ? jint(age_ns(s, f->first_pin_ns) / 1000000) : NULL);
		gmem_json_file_vm(j, s, f);
		json_object_array_add(arr, j);
	}
	return arr;
}

/* The page_ref holders of folio f whose references the kernel confirms. */
static struct json_object *json_ref_holders(const struct gmem_snapshot *s,
					    const struct gmem_folio *f)
{
	struct json_object *arr;

	if (!s->page_ref)
		return NULL;
	arr = json_object_new_array();
	for (size_t i = 0; i < s->nr_ref_holders; i++) {
		const struct gmem_ref_holder_entry *e = &s->ref_holders[i];
		const struct gmem_stack *st;
		struct json_object *j;

		if (e->folio != f->addr || !e->shown_refs)
			continue;
		st = gmem_snapshot_find_stack(s, e->h.stack_id);
		j = json_object_new_object();
		json_object_object_add(j, "refs", jint(e->shown_refs));
		json_object_object_add(j, "pid", jint(e->h.tgid));
		json_object_object_add(j, "tid", jint(e->h.pid));
		json_object_object_add(j, "comm", json_object_new_string(e->h.comm));
		json_object_object_add(j, "cgroup_id", jint(e->h.cgroup_id));
		json_object_object_add(j, "first_ref_age_ms",
				       jint(age_ns(s, e->h.first_ns) / 1000000));
		json_object_object_add(j, "api", json_object_new_string(
						       gmem_api_name(st ? st->api : GMEM_API_OTHER)));
		json_object_object_add(j, "stack", gmem_json_stack(st));
		json_object_array_add(arr, j);
	}
	return arr;
}

static struct json_object *json_folios(const struct gmem_snapshot *s)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < s->nr_folios; i++) {
		const struct gmem_folio *f = &s->folios[i];
		struct json_object *j = json_object_new_object(), *t = NULL, *k = NULL;
		char addr[24], dev[24];

		snprintf(addr, sizeof(addr), "0x%016llx", f->addr);
		dev_str(dev, sizeof(dev), f->dev);
		json_object_object_add(j, "folio", json_object_new_string(addr));
		json_object_object_add(j, "dev", json_object_new_string(dev));
		json_object_object_add(j, "ino", jint(f->ino));
		json_object_object_add(j, "index", jint(f->index));
		if (f->tracked) {
			t = json_object_new_object();
			json_object_object_add(t, "pins", jint(gmem_folio_tracked_pins(f)));
			json_object_object_add(t, "gets", jint(f->gets_held));
			json_object_object_add(t, "gets_taken", jint(f->t.gets));
			json_object_object_add(t, "pid", jint(f->t.tgid));
			json_object_object_add(t, "tid", jint(f->t.pid));
			json_object_object_add(t, "comm", json_object_new_string(f->t.comm));
			json_object_object_add(t, "longterm",
					       json_object_new_boolean(f->t.flags & GMEM_PIN_F_LONGTERM));
			json_object_object_add(t, "first_pin_age_ms",
					       jint(age_ns(s, f->t.first_pin_ns) / 1000000));
			json_object_object_add(t, "cgroup_id", jint(f->t.cgroup_id));
			json_object_object_add(t, "api", json_object_new_string(
							       gmem_api_name(gmem_folio_api(s, f))));
			json_object_object_add(t, "stack",
					       gmem_json_stack(gmem_snapshot_find_stack(s, f->t.stack_id)));
			gmem_json_folio_addr(t, s, f);
		}
		json_object_object_add(j, "tracked", t);
		if (f->scanned) {
			k = json_object_new_object();
			json_object_object_add(k, "refcount", json_object_new_int(f->k.refcount));
			json_object_object_add(k, "mapcount", json_object_new_int(f->k.mapcount));
			json_object_object_add(k, "pins", jint(f->k.pins));
			json_object_object_add(k, "order", jint(f->k.order));
		}
		json_object_object_add(j, "kernel", k);
		json_object_object_add(j, "untracked_pins", s->tracking && f->scanned
				       ? jint(gmem_folio_untracked_pins(f)) : NULL);
		json_object_object_add(j, "extra_refs", f->extra_refs >= 0 ? jint(f->extra_refs) : NULL);
		json_object_object_add(j, "unattributed_refs", f->extra_refs >= 0
				       ? jint(gmem_folio_unattributed_refs(f)) : NULL);
		json_object_object_add(j, "refs_attributed", s->page_ref && f->extra_refs >= 0
				       ? jint(f->refs_attributed) : NULL);
		json_object_object_add(j, "ref_holders", json_ref_holders(s, f));
		gmem_json_folio_vm(j, s, f);
		json_object_array_add(arr, j);
	}
	return arr;
}

static int render_json(FILE *out, const struct gmem_snapshot *s,
		       const struct gmem_render_opts *o)
{
	struct json_object *root = json_object_new_object();

	json_object_object_add(root, "version", jint(GMEM_ABI_VERSION));
	json_object_object_add(root, "time_ns", jint(s->realtime_ns));
	json_object_object_add(root, "kernel", json_object_new_string(o->kernel ? o->kernel : ""));
	json_object_object_add(root, "tracking", json_object_new_boolean(s->tracking));
	json_object_object_add(root, "attach", s->tracking && o->attach
				       ? json_object_new_string(o->attach) : NULL);
	json_object_object_add(root, "page_ref", json_object_new_boolean(s->page_ref));
	json_object_object_add(root, "ustack", json_object_new_boolean(s->ustack));
	json_object_object_add(root, "scanned", json_object_new_boolean(s->scanned));
	json_object_object_add(root, "complete", json_object_new_boolean(complete(s)));
	json_object_object_add(root, "filter", json_filter(&s->filter));
	json_object_object_add(root, "sort", json_object_new_string(gmem_sort_name(s->sort)));
	json_object_object_add(root, "stats", json_stats(s));
	if (s->tracking && s->map_entries) {
		struct json_object *m = json_object_new_object();

		json_object_object_add(m, "max_folios", jint(s->map_entries));
		json_object_object_add(m, "bytes", jint(s->map_bytes));
		json_object_object_add(m, "bytes_per_folio", jint(s->map_bytes / s->map_entries));
		json_object_object_add(root, "folio_map", m);
	}
	json_object_object_add(root, "vm_tracking", json_object_new_boolean(s->lifecycle));
	json_object_object_add(root, "vms", gmem_json_vms(s, o->rows));
	json_object_object_add(root, "processes", json_procs(s, o));
	json_object_object_add(root, "files", json_files(s, o));
	json_object_object_add(root, "folios", json_folios(s));
	json_object_object_add(root, "released_pins", gmem_json_released(s));
	fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

/* ---- CSV (layout: doc/gmemtop-csv.md) ---- */

void gmem_csv_field(FILE *out, const char *field)
{
	fputc(',', out);
	if (!field)
		return;
	if (!strpbrk(field, ",\"\r\n")) {
		fputs(field, out);
		return;
	}
	fputc('"', out);
	for (const char *c = field; *c; c++) {
		if (*c == '"')
			fputc('"', out);
		fputc(*c, out);
	}
	fputc('"', out);
}

static void csv_u64(FILE *out, __u64 v) { fprintf(out, ",%llu", v); }
static void csv_s64(FILE *out, __s64 v) { fprintf(out, ",%lld", v); }
static void csv_bool(FILE *out, bool v) { fputs(v ? ",true" : ",false", out); }
/* An empty field is null: not measured, never zero. */
static void csv_opt(FILE *out, bool known, __u64 v)
{
	if (known)
		csv_u64(out, v);
	else
		fputc(',', out);
}

static void csv_nulls(FILE *out, int n)
{
	while (n-- > 0)
		fputc(',', out);
}

static void csv_row(FILE *out, const char *record, const struct gmem_snapshot *s)
{
	fprintf(out, "%s,%llu", record, s->realtime_ns);
}

static const char csv_proc_header[] =
	"proc,time_ns,pid,comm,pinned_folios,pins,gets,longterm,first_pin_age_ms,apis\n";
static const char csv_file_header[] =
	"file,time_ns,dev,ino,size,owner_pid,owner_comm,owner_fd,"
	"tracked_pinned_folios,tracked_pins,kernel_folios,kernel_pinned_folios,kernel_pins,"
	"kernel_extra_ref_folios,kernel_extra_refs,kernel_complete,untracked_pins,"
	"unattributed_refs,first_pin_age_ms," GMEM_CSV_FILE_VM_COLUMNS "\n";
static const char csv_folio_header[] =
	"folio,time_ns,addr,dev,ino,index,tracked_pins,tracked_gets,tracked_gets_taken,"
	"tracked_pid,tracked_tid,"
	"tracked_comm,tracked_longterm,tracked_first_pin_age_ms,tracked_cgroup_id,tracked_api,"
	"tracked_stack,kernel_refcount,kernel_mapcount,kernel_pins,kernel_order,untracked_pins,"
	"extra_refs,unattributed_refs,refs_attributed,ref_holders," GMEM_CSV_FOLIO_VM_COLUMNS ","
	GMEM_CSV_FOLIO_ADDR_COLUMNS "\n";

static void csv_snapshot_header(FILE *out)
{
	fputs("snapshot,time_ns,version,kernel,tracking,page_ref,scanned,complete,filter_pid,"
	      "filter_cgroup_id,sort", out);
	for (int i = 0; i < GMEM_STAT_NR; i++)
		fprintf(out, ",%s", gmem_stat_name(i));
	fputs(",bad_records,lost,folio_map_max_folios,folio_map_bytes,"
	      "folio_map_bytes_per_folio,vm_tracking,attach,ustack\n", out);
}

static int render_csv_begin(FILE *out)
{
	csv_snapshot_header(out);
	fputs(csv_proc_header, out);
	fputs(csv_file_header, out);
	fputs(csv_folio_header, out);
	gmem_csv_vm_headers(out);
	return ferror(out) ? -EIO : 0;
}

static void csv_snapshot(FILE *out, const struct gmem_snapshot *s,
			 const struct gmem_render_opts *o)
{
	bool map = s->tracking && s->map_entries;

	csv_row(out, "snapshot", s);
	csv_u64(out, GMEM_ABI_VERSION);
	gmem_csv_field(out, o->kernel ? o->kernel : "");
	csv_bool(out, s->tracking);
	csv_bool(out, s->page_ref);
	csv_bool(out, s->scanned);
	csv_bool(out, complete(s));
	csv_opt(out, s->filter.pid, s->filter.pid);
	csv_opt(out, s->filter.cgroup_id, s->filter.cgroup_id);
	gmem_csv_field(out, gmem_sort_name(s->sort));
	for (int i = 0; i < GMEM_STAT_NR; i++)
		csv_u64(out, s->stats.v[i]);
	csv_u64(out, s->bad_records);
	csv_u64(out, gmem_stats_lost(&s->stats));
	csv_opt(out, map, s->map_entries);
	csv_opt(out, map, s->map_bytes);
	csv_opt(out, map, map ? s->map_bytes / s->map_entries : 0);
	csv_bool(out, s->lifecycle);
	gmem_csv_field(out, s->tracking ? o->attach : NULL);
	csv_bool(out, s->ustack);
	fputc('\n', out);
}

static void csv_procs(FILE *out, const struct gmem_snapshot *s,
		      const struct gmem_render_opts *o)
{
	for (size_t i = 0; i < s->nr_procs && !limit(o, i); i++) {
		const struct gmem_process *p = &s->procs[i];
		char apis[192];

		csv_row(out, "proc", s);
		csv_u64(out, p->tgid);
		gmem_csv_field(out, p->comm);
		csv_u64(out, p->folios);
		csv_u64(out, p->pins);
		csv_u64(out, p->gets);
		csv_bool(out, p->longterm);
		csv_u64(out, age_ns(s, p->first_pin_ns) / 1000000);
		api_list(apis, sizeof(apis), p->api_mask, ";");
		gmem_csv_field(out, apis);
		fputc('\n', out);
	}
}

static void csv_file_owner(FILE *out, const struct gmem_file *f)
{
	if (!f->owner_tgid) {
		csv_nulls(out, 3);
		return;
	}
	csv_u64(out, f->owner_tgid);
	gmem_csv_field(out, f->owner_comm);
	csv_u64(out, f->owner_fd);
}

static void csv_file_kernel(FILE *out, const struct gmem_file *f)
{
	if (!f->scanned) {
		csv_nulls(out, 6);
		return;
	}
	csv_u64(out, f->kernel_folios);
	csv_u64(out, f->kernel_pinned_folios);
	csv_u64(out, f->kernel_pins);
	csv_u64(out, f->kernel_extra_ref_folios);
	csv_u64(out, f->kernel_extra_refs);
	csv_bool(out, !f->truncated);
}

static void csv_files(FILE *out, const struct gmem_snapshot *s,
		      const struct gmem_render_opts *o)
{
	for (size_t i = 0; i < s->nr_files && !limit(o, i); i++) {
		const struct gmem_file *f = &s->files[i];
		char dev[24];

		dev_str(dev, sizeof(dev), f->dev);
		csv_row(out, "file", s);
		gmem_csv_field(out, dev);
		csv_u64(out, f->ino);
		csv_u64(out, f->size);
		csv_file_owner(out, f);
		csv_opt(out, s->tracking, f->tracked_folios);
		csv_opt(out, s->tracking, f->tracked_pins);
		csv_file_kernel(out, f);
		csv_opt(out, s->tracking && f->scanned, f->untracked_pins);
		csv_opt(out, f->scanned, f->unattributed_refs);
		csv_opt(out, f->first_pin_ns, age_ns(s, f->first_pin_ns) / 1000000);
		gmem_csv_file_vm(out, s, f);
		fputc('\n', out);
	}
}

void gmem_csv_frames(FILE *out, char *const *frames, int nr)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (nr < 0 || !(m = open_memstream(&buf, &len))) {
		gmem_csv_field(out, NULL);
		return;
	}
	for (int i = 0; i < nr; i++)
		fprintf(m, "%s%s", i ? ";" : "", frames[i]);
	fclose(m);
	gmem_csv_field(out, buf);
	free(buf);
}

/* The stack as one field: frames innermost first, separated by ';'. */
static void csv_stack(FILE *out, const struct gmem_stack *st)
{
	gmem_csv_frames(out, st ? st->frames : NULL, st ? st->nr : -1);
}

static void csv_folio_tracked(FILE *out, const struct gmem_snapshot *s,
			      const struct gmem_folio *f)
{
	if (!f->tracked) {
		csv_nulls(out, 11);
		return;
	}
	csv_u64(out, gmem_folio_tracked_pins(f));
	csv_u64(out, f->gets_held);
	csv_u64(out, f->t.gets);
	csv_u64(out, f->t.tgid);
	csv_u64(out, f->t.pid);
	gmem_csv_field(out, f->t.comm);
	csv_bool(out, f->t.flags & GMEM_PIN_F_LONGTERM);
	csv_u64(out, age_ns(s, f->t.first_pin_ns) / 1000000);
	csv_u64(out, f->t.cgroup_id);
	gmem_csv_field(out, gmem_api_name(gmem_folio_api(s, f)));
	csv_stack(out, gmem_snapshot_find_stack(s, f->t.stack_id));
}

static void csv_folio_kernel(FILE *out, const struct gmem_folio *f)
{
	if (!f->scanned) {
		csv_nulls(out, 4);
		return;
	}
	csv_s64(out, f->k.refcount);
	csv_s64(out, f->k.mapcount);
	csv_u64(out, f->k.pins);
	csv_u64(out, f->k.order);
}

/* JSON's ref_holders as one field, "pid:api:refs" separated by ';'
 * (stacks only in JSON); empty without page_ref. */
static void csv_ref_holders(FILE *out, const struct gmem_snapshot *s, const struct gmem_folio *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (!s->page_ref || !(m = open_memstream(&buf, &len))) {
		gmem_csv_field(out, NULL);
		return;
	}
	print_ref_holders(m, s, f, ";");
	fclose(m);
	gmem_csv_field(out, buf);
	free(buf);
}

/* Every folio, as JSON lists them: -r limits only the tables. */
static void csv_folios(FILE *out, const struct gmem_snapshot *s)
{
	for (size_t i = 0; i < s->nr_folios; i++) {
		const struct gmem_folio *f = &s->folios[i];
		char addr[24], dev[24];

		snprintf(addr, sizeof(addr), "0x%016llx", f->addr);
		dev_str(dev, sizeof(dev), f->dev);
		csv_row(out, "folio", s);
		gmem_csv_field(out, addr);
		gmem_csv_field(out, dev);
		csv_u64(out, f->ino);
		csv_u64(out, f->index);
		csv_folio_tracked(out, s, f);
		csv_folio_kernel(out, f);
		csv_opt(out, s->tracking && f->scanned, gmem_folio_untracked_pins(f));
		csv_opt(out, f->extra_refs >= 0, f->extra_refs);
		csv_opt(out, f->extra_refs >= 0, gmem_folio_unattributed_refs(f));
		csv_opt(out, s->page_ref && f->extra_refs >= 0, f->refs_attributed);
		csv_ref_holders(out, s, f);
		gmem_csv_folio_vm(out, s, f);
		gmem_csv_folio_addr(out, s, f);
		fputc('\n', out);
	}
}

static int render_csv(FILE *out, const struct gmem_snapshot *s,
		      const struct gmem_render_opts *o)
{
	csv_snapshot(out, s, o);
	csv_procs(out, s, o);
	csv_files(out, s, o);
	csv_folios(out, s);
	gmem_csv_vms(out, s, o->rows);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

int gmem_render_begin(FILE *out, const struct gmem_render_opts *o)
{
	return o->fmt == GMEM_FMT_CSV ? render_csv_begin(out) : 0;
}

int gmem_render_snapshot(FILE *out, const struct gmem_snapshot *s,
			 const struct gmem_render_opts *o)
{
	switch (o->fmt) {
	case GMEM_FMT_TABLE:
		return render_table(out, s, o);
	case GMEM_FMT_JSON:
		return render_json(out, s, o);
	case GMEM_FMT_CSV:
		return render_csv(out, s, o);
	}
	return -EINVAL;
}
