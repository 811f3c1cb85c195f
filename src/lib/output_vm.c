// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The guest memory model's part of every format: the per-VM table with its
 * memslots, the "vms" JSON array and the VM fields of files and folios,
 * and CSV's vm and memslot rows.
 */
#include "lib/output_vm.h"

#include <stdio.h>
#include <string.h>

static __u64 age_ms(const struct gmem_snapshot *s, __u64 then)
{
	return then && s->time_ns > then ? (s->time_ns - then) / 1000000 : 0;
}

static const char *vm_name(const struct gmem_snapshot *s, int vm)
{
	return vm >= 0 && (size_t)vm < s->nr_vms ? s->vms[vm].name : NULL;
}

static const struct gmem_memslot_info *memslot_of(const struct gmem_snapshot *s,
						  const struct gmem_folio *f)
{
	return f->memslot >= 0 && (size_t)f->memslot < s->nr_memslots ? &s->memslots[f->memslot]
									: NULL;
}

static bool preexisting_vm(const struct gmem_vm_info *vm)
{
	return !vm->tracked || (vm->v.flags & GMEM_OBJ_F_PREEXISTING);
}

/* ---- table ---- */

static void table_memslot(FILE *out, const struct gmem_memslot_info *ms)
{
	const struct gmem_memslot *m = &ms->m;
	char gmem[48] = "-", backing[48] = "-";

	if (m->gmem_ino)
		snprintf(gmem, sizeof(gmem), "%llu+0x%llx", m->gmem_ino, m->gmem_pgoff);
	if (m->state & GMEM_OBJ_F_BACKING_ANON)
		snprintf(backing, sizeof(backing), "anon+0x%llx", m->backing_pgoff);
	else if (m->backing_ino)
		snprintf(backing, sizeof(backing), "%llu+0x%llx", m->backing_ino, m->backing_pgoff);
	fprintf(out, "  %4u %2u  0x%09llx-0x%09llx  0x%012llx-0x%012llx  %-18s %-18s %6llu %6llu%s\n",
		m->id, m->as_id, m->base_gfn, m->base_gfn + m->npages - 1, m->userspace_addr,
		m->userspace_addr + (m->npages << 12) - 1, gmem, backing, ms->gmem_pins,
		ms->shared_pins, ms->tracked ? "" : "  (pre-existing)");
}

void gmem_table_vms(FILE *out, const struct gmem_snapshot *s, int rows)
{
	fprintf(out, "\nVMS\n%-14s %8s  %-16s %4s %8s %6s %9s %11s %9s  %s\n", "VM", "PID", "COMM",
		"TYPE", "MEMSLOTS", "FILES", "GMEM_PINS", "SHARED_PINS", "UNTRACKED", "SINCE");
	for (size_t i = 0; i < s->nr_vms && (!rows || i < (size_t)rows); i++) {
		const struct gmem_vm_info *vm = &s->vms[i];
		char since[32] = "pre-existing";

		if (!preexisting_vm(vm)) {
			snprintf(since, sizeof(since), "%llu.%llus ago", age_ms(s, vm->v.created_ns) / 1000,
				 age_ms(s, vm->v.created_ns) % 1000 / 100);
		}
		char type[16] = "-";

		if (vm->tracked)
			snprintf(type, sizeof(type), "%u", vm->v.type);
		fprintf(out, "%-14s %8u  %-16s %4s %8u %6u %9llu %11llu %9llu  %s\n", vm->name,
			vm->v.tgid, vm->v.comm, type, vm->nr_memslots, vm->nr_files,
			vm->gmem_pins, vm->shared_pins, vm->untracked_pins, since);
		fprintf(out, "  %4s %2s  %-25s  %-29s  %-18s %-18s %6s %6s\n", "SLOT", "AS",
			"GFN RANGE", "USERSPACE_ADDR RANGE", "GMEM INO+PGOFF", "SHARED INO+PGOFF",
			"G_PINS", "S_PINS");
		for (size_t m = 0; m < s->nr_memslots; m++)
			if (s->memslots[m].vm == (int)i)
				table_memslot(out, &s->memslots[m]);
	}
	if (!s->nr_vms)
		fprintf(out, "%-14s (no VMs%s)\n", "-", s->lifecycle ? "" : " found: VM tracking is off");
}

/* ---- JSON (doc/gmemtop-json.md) ---- */

static struct json_object *jint(__u64 v) { return json_object_new_int64((int64_t)v); }

static struct json_object *jaddr(__u64 v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%016llx", v);
	return json_object_new_string(buf);
}

static struct json_object *jstr(const char *v) { return v ? json_object_new_string(v) : NULL; }

/* {"dev": "MAJ:MIN", "ino": N, "pgoff": N}, or null */
static struct json_object *json_file_ref(__u32 dev, __u64 ino, __u64 pgoff)
{
	struct json_object *j;
	char buf[24];

	if (!ino)
		return NULL;
	j = json_object_new_object();
	snprintf(buf, sizeof(buf), "%u:%u", dev >> 20, dev & 0xfffff);
	json_object_object_add(j, "dev", json_object_new_string(buf));
	json_object_object_add(j, "ino", jint(ino));
	json_object_object_add(j, "pgoff", jint(pgoff));
	return j;
}

/* A memslot's shared backing: a file, or anonymous memory (not yet
 * faulted in: no id yet). */
static struct json_object *json_backing_ref(const struct gmem_memslot *m)
{
	struct json_object *j;

	if (!(m->state & GMEM_OBJ_F_BACKING_ANON))
		return json_file_ref(m->backing_dev, m->backing_ino, m->backing_pgoff);
	j = json_object_new_object();
	json_object_object_add(j, "anonymous", json_object_new_boolean(1));
	json_object_object_add(j, "dev", json_object_new_string("0:0"));
	json_object_object_add(j, "ino", m->backing_ino ? jint(m->backing_ino) : NULL);
	json_object_object_add(j, "pgoff", jint(m->backing_pgoff));
	return j;
}

static struct json_object *json_memslot(const struct gmem_memslot_info *ms)
{
	const struct gmem_memslot *m = &ms->m;
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "slot", jint(m->id));
	json_object_object_add(j, "as_id", jint(m->as_id));
	json_object_object_add(j, "flags", jint(m->flags));
	json_object_object_add(j, "base_gfn", jint(m->base_gfn));
	json_object_object_add(j, "npages", jint(m->npages));
	json_object_object_add(j, "userspace_addr", jint(m->userspace_addr));
	json_object_object_add(j, "guest_memfd", json_file_ref(m->gmem_dev, m->gmem_ino,
							      m->gmem_pgoff));
	json_object_object_add(j, "shared_backing", json_backing_ref(m));
	json_object_object_add(j, "preexisting", json_object_new_boolean(!ms->tracked));
	json_object_object_add(j, "gmem_pinned_folios", jint(ms->gmem_folios));
	json_object_object_add(j, "gmem_pins", jint(ms->gmem_pins));
	json_object_object_add(j, "shared_pinned_folios", jint(ms->shared_folios));
	json_object_object_add(j, "shared_pins", jint(ms->shared_pins));
	return j;
}

struct json_object *gmem_json_vms(const struct gmem_snapshot *s, int rows)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < s->nr_vms && (!rows || i < (size_t)rows); i++) {
		const struct gmem_vm_info *vm = &s->vms[i];
		struct json_object *j = json_object_new_object(), *slots = json_object_new_array();

		json_object_object_add(j, "vm", json_object_new_string(vm->name));
		json_object_object_add(j, "kvm", jaddr(vm->kvm));
		json_object_object_add(j, "pid", jint(vm->v.tgid));
		json_object_object_add(j, "comm", json_object_new_string(vm->v.comm));
		json_object_object_add(j, "type", vm->tracked ? jint(vm->v.type) : NULL);
		json_object_object_add(j, "preexisting", json_object_new_boolean(preexisting_vm(vm)));
		json_object_object_add(j, "age_ms", preexisting_vm(vm) ? NULL
				       : jint(age_ms(s, vm->v.created_ns)));
		json_object_object_add(j, "guest_memfd_files", jint(vm->nr_files));
		json_object_object_add(j, "gmem_pinned_folios", jint(vm->gmem_folios));
		json_object_object_add(j, "gmem_pins", jint(vm->gmem_pins));
		json_object_object_add(j, "shared_pinned_folios", jint(vm->shared_folios));
		json_object_object_add(j, "shared_pins", jint(vm->shared_pins));
		json_object_object_add(j, "untracked_pins", jint(vm->untracked_pins));
		for (size_t m = 0; m < s->nr_memslots; m++)
			if (s->memslots[m].vm == (int)i)
				json_object_array_add(slots, json_memslot(&s->memslots[m]));
		json_object_object_add(j, "memslots", slots);
		json_object_array_add(arr, j);
	}
	return arr;
}

void gmem_json_file_vm(struct json_object *j, const struct gmem_snapshot *s,
		       const struct gmem_file *f)
{
	json_object_object_add(j, "vm", jstr(vm_name(s, f->vm)));
	json_object_object_add(j, "shared_backing", json_object_new_boolean(f->shared_backing));
	json_object_object_add(j, "guest_memfd_flags", f->lifecycle ? jint(f->gmem_flags) : NULL);
}

void gmem_json_folio_vm(struct json_object *j, const struct gmem_snapshot *s,
			const struct gmem_folio *f)
{
	const struct gmem_memslot_info *ms = memslot_of(s, f);

	json_object_object_add(j, "vm", jstr(vm_name(s, f->vm)));
	json_object_object_add(j, "backing", json_object_new_string(f->shared ? "shared"
								       : "guest_memfd"));
	json_object_object_add(j, "memslot", ms ? jint(ms->m.id) : NULL);
	json_object_object_add(j, "as_id", ms ? jint(ms->m.as_id) : NULL);
	json_object_object_add(j, "gfn", ms ? jint(f->gfn) : NULL);
}

/* ---- CSV (doc/gmemtop-csv.md) ---- */

static const char csv_vm_header[] =
	"vm,time_ns,vm,kvm,pid,comm,type,preexisting,age_ms,guest_memfd_files,memslots,"
	"gmem_pinned_folios,gmem_pins,shared_pinned_folios,shared_pins,untracked_pins\n";
static const char csv_memslot_header[] =
	"memslot,time_ns,vm,slot,as_id,flags,base_gfn,npages,userspace_addr,gmem_dev,gmem_ino,"
	"gmem_pgoff,backing_dev,backing_ino,backing_pgoff,preexisting,gmem_pinned_folios,"
	"gmem_pins,shared_pinned_folios,shared_pins\n";

void gmem_csv_file_vm(FILE *out, const struct gmem_snapshot *s, const struct gmem_file *f)
{
	gmem_csv_field(out, vm_name(s, f->vm));
	fputs(f->shared_backing ? ",true" : ",false", out);
	if (f->lifecycle)
		fprintf(out, ",%llu", f->gmem_flags);
	else
		fputc(',', out);
}

void gmem_csv_folio_vm(FILE *out, const struct gmem_snapshot *s, const struct gmem_folio *f)
{
	const struct gmem_memslot_info *ms = memslot_of(s, f);

	gmem_csv_field(out, vm_name(s, f->vm));
	fputs(f->shared ? ",shared" : ",guest_memfd", out);
	if (ms)
		fprintf(out, ",%u,%u,%llu", ms->m.id, ms->m.as_id, f->gfn);
	else
		fputs(",,,", out);
}

void gmem_csv_vm_headers(FILE *out)
{
	fputs(csv_vm_header, out);
	fputs(csv_memslot_header, out);
}

static void csv_dev(FILE *out, __u32 dev, __u64 ino)
{
	if (ino)
		fprintf(out, ",%u:%u", dev >> 20, dev & 0xfffff);
	else
		fputc(',', out);
}

static void csv_memslot(FILE *out, const struct gmem_snapshot *s, const struct gmem_memslot_info *ms)
{
	const struct gmem_memslot *m = &ms->m;

	fprintf(out, "memslot,%llu,%s,%u,%u,%u,%llu,%llu,%llu", s->realtime_ns,
		vm_name(s, ms->vm) ? vm_name(s, ms->vm) : "", m->id, m->as_id, m->flags,
		m->base_gfn, m->npages, m->userspace_addr);
	csv_dev(out, m->gmem_dev, m->gmem_ino);
	if (m->gmem_ino)
		fprintf(out, ",%llu,%llu", m->gmem_ino, m->gmem_pgoff);
	else
		fputs(",,", out);
	csv_dev(out, m->backing_dev, m->backing_ino);
	if (m->backing_ino)
		fprintf(out, ",%llu,%llu", m->backing_ino, m->backing_pgoff);
	else
		fputs(",,", out);
	fprintf(out, ",%s,%u,%llu,%u,%llu\n", ms->tracked ? "false" : "true", ms->gmem_folios,
		ms->gmem_pins, ms->shared_folios, ms->shared_pins);
}

void gmem_csv_vms(FILE *out, const struct gmem_snapshot *s, int rows)
{
	for (size_t i = 0; i < s->nr_vms && (!rows || i < (size_t)rows); i++) {
		const struct gmem_vm_info *vm = &s->vms[i];

		fprintf(out, "vm,%llu,%s,0x%016llx,%u", s->realtime_ns, vm->name, vm->kvm, vm->v.tgid);
		gmem_csv_field(out, vm->v.comm);
		if (vm->tracked)
			fprintf(out, ",%u", vm->v.type);
		else
			fputc(',', out);
		fprintf(out, ",%s", preexisting_vm(vm) ? "true" : "false");
		if (preexisting_vm(vm))
			fputc(',', out);
		else
			fprintf(out, ",%llu", age_ms(s, vm->v.created_ns));
		fprintf(out, ",%u,%u,%u,%llu,%u,%llu,%llu\n", vm->nr_files, vm->nr_memslots,
			vm->gmem_folios, vm->gmem_pins, vm->shared_folios, vm->shared_pins,
			vm->untracked_pins);
	}
	for (size_t m = 0; m < s->nr_memslots; m++)
		csv_memslot(out, s, &s->memslots[m]);
}
