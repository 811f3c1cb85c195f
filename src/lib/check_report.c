// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* gmem-check's reports (check_report.h; schemas in doc/gmem-check.md). */
#include "lib/check_report.h"
#include "lib/model.h"
#include "lib/output.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

void gmem_check_add_reason(struct gmem_check_run *r, const char *reason)
{
	if (r->nr_reasons < GMEM_CHECK_MAX_REASONS)
		r->reasons[r->nr_reasons++] = reason;
}

const char *gmem_check_result_name(enum gmem_check_result result)
{
	switch (result) {
	case GMEM_CHECK_PASS: return "pass";
	case GMEM_CHECK_VIOLATION: return "violation";
	case GMEM_CHECK_INCONCLUSIVE: return "inconclusive";
	case GMEM_CHECK_SKIPPED: return "skipped";
	}
	return "?";
}

static const struct gmem_stack *violation_stack(const struct gmem_check_run *r,
						const struct gmem_violation *v)
{
	return r->stacks && v->stack >= 0 ? &r->stacks->stacks[v->stack] : NULL;
}

static void comm_of(char *buf, const char *comm)
{
	memcpy(buf, comm, GMEM_COMM_LEN);
	buf[GMEM_COMM_LEN] = '\0';
}

static const char *memory_name(const struct gmem_violation *v)
{
	return v->shared ? "shared_backing" : "guest_memfd";
}

/* A punch or a release: memory discarded, not converted. */
static bool is_discard(const struct gmem_check_event *e)
{
	return e->kind == GMEM_CHECK_PUNCH || e->kind == GMEM_CHECK_RELEASE;
}

/* A duration for people: microseconds to hours. */
static void format_duration(char *buf, size_t len, __u64 ns)
{
	if (ns < 1000000)
		snprintf(buf, len, "%llu us", ns / 1000);
	else if (ns < 10000000000ull)
		snprintf(buf, len, "%llu ms", ns / 1000000);
	else
		gmem_format_age(buf, len, ns);
}

/* BPF's own frames (the trampoline that ran the program) say nothing of
 * who pinned. */
static bool frame_shown(const char *frame)
{
	return strncmp(frame, "bpf_trampoline_", 15) && strncmp(frame, "bpf_prog_", 9);
}

/* Do violations a and b read as one line: the same event, holder and
 * outcome, on the next pages? */
static bool same_run(const struct gmem_checker *c, const struct gmem_violation *a,
		     const struct gmem_violation *b)
{
	const struct gmem_folio_pins *x = &c->episodes[a->episode].v, *y = &c->episodes[b->episode].v;

	return a->event == b->event && a->shared == b->shared && a->still_held == b->still_held &&
	       a->api == b->api && x->tgid == y->tgid && x->pid == y->pid &&
	       x->stack_id == y->stack_id && x->ino == y->ino && x->dev == y->dev &&
	       b->first_index == a->first_index + a->nr_pages;
}

/* Violations [first, first + n): one event, one holder, consecutive pages. */
static void text_run(FILE *out, const struct gmem_check_run *r, size_t first, size_t n)
{
	const struct gmem_checker *c = r->c;
	const struct gmem_violation *v = &c->violations[first], *last = &c->violations[first + n - 1];
	const struct gmem_check_event *e = &c->events[v->event];
	const struct gmem_check_episode *p = &c->episodes[v->episode];
	const struct gmem_stack *st = violation_stack(r, v);
	const struct gmem_check_target *t = &e->targets[v->target];
	char actor[GMEM_COMM_LEN + 1], holder[GMEM_COMM_LEN + 1], held[32], after[48];
	__u64 pages = last->first_index + last->nr_pages - v->first_index, pins = 0;

	for (size_t i = first; i < first + n; i++)
		pins += c->episodes[c->violations[i].episode].v.pins;
	comm_of(actor, e->comm);
	comm_of(holder, p->v.comm);
	format_duration(held, sizeof(held), v->held_ns);
	if (v->still_held) {
		snprintf(after, sizeof(after), "still held at the end");
	} else {
		format_duration(after, sizeof(after), v->released_after_ns);
		strncat(after, " after it", sizeof(after) - strlen(after) - 1);
	}
	fprintf(out, "  %s", gmem_check_kind_name(e->kind));
	if (r->start_ns && e->time_ns >= r->start_ns)
		fprintf(out, " at +%.3fs", (e->time_ns - r->start_ns) / 1e9);
	fprintf(out, " by %s (pid %u)", actor, e->tgid);
	if (e->memslot)
		fprintf(out, ": vm 0x%llx memslot %u gfn 0x%llx-0x%llx (%s, pages %llu-%llu)\n",
			(unsigned long long)e->c.kvm, e->c.m.id, (unsigned long long)v->first_gfn,
			(unsigned long long)(v->first_gfn + pages - 1), memory_name(v),
			(unsigned long long)v->first_index,
			(unsigned long long)(v->first_index + pages - 1));
	else
		fprintf(out, ": %s %u:%u ino %llu pages %llu-%llu\n", memory_name(v), t->dev >> 20,
			t->dev & 0xfffff, (unsigned long long)t->ino,
			(unsigned long long)v->first_index,
			(unsigned long long)(v->first_index + pages - 1));
	fprintf(out, "    %zu folio%s (first 0x%llx), %llu pin%s%s by %s (pid %u tid %u) via %s, "
		     "pinned %s before, released: %s\n",
		n, n == 1 ? "" : "s", (unsigned long long)p->folio, pins, pins == 1 ? "" : "s",
		p->v.flags & GMEM_PIN_F_LONGTERM ? " (longterm)" : "", holder, p->v.tgid, p->v.pid,
		v->api_name, held, after);
	for (int i = 0, shown = 0; st && i < st->nr && shown < 12; i++)
		if (frame_shown(st->frames[i])) {
			fprintf(out, "      %s\n", st->frames[i]);
			shown++;
		}
}

/* Every violation in runs; 'punch' < 0: all, else only punches (1) or
 * conversions (0). */
static void text_violations(FILE *out, const struct gmem_check_run *r, int punch)
{
	const struct gmem_checker *c = r->c;

	for (size_t i = 0, n; i < c->nr_violations; i += n) {
		bool is_punch = is_discard(&c->events[c->violations[i].event]);

		for (n = 1; i + n < c->nr_violations &&
			    same_run(c, &c->violations[i + n - 1], &c->violations[i + n]); n++)
			;
		if (punch < 0 || punch == is_punch)
			text_run(out, r, i, n);
	}
}

void gmem_check_report_text(FILE *out, const struct gmem_check_run *r)
{
	const struct gmem_checker *c = r->c;

	fprintf(out, "gmem-check: %s", gmem_check_result_name(r->result));
	if (r->result == GMEM_CHECK_VIOLATION)
		fprintf(out, ": %zu pinned folio%s when guest memory was converted to private or "
			     "punched out",
			c->nr_violations, c->nr_violations == 1 ? "" : "s");
	fputc('\n', out);
	text_violations(out, r, -1);
	for (int i = 0; i < r->nr_reasons; i++)
		fprintf(out, "  %s\n", r->reasons[i]);
	fprintf(out, "gmem-check: %llu conversion request%s: %llu conversion%s to private, %llu to shared; %llu hole punch%s, "
		     "%llu guest_memfd release%s, %zu pin episode%s, %llu allowed, %llu released "
		     "within the grace period, lost %llu\n",
		(unsigned long long)c->requests, c->requests == 1 ? "" : "s",
		(unsigned long long)c->to_private, c->to_private == 1 ? "" : "s",
		(unsigned long long)c->to_shared, (unsigned long long)c->punches,
		c->punches == 1 ? "" : "es", (unsigned long long)c->file_releases,
		c->file_releases == 1 ? "" : "s", c->nr_episodes, c->nr_episodes == 1 ? "" : "s",
		(unsigned long long)c->allowed, (unsigned long long)c->within_grace,
		(unsigned long long)r->lost);
}

static struct json_object *jint(__u64 v) { return json_object_new_int64((int64_t)v); }
static struct json_object *jstr(const char *s) { return json_object_new_string(s); }

static struct json_object *jcomm(const char *comm)
{
	char buf[GMEM_COMM_LEN + 1];

	comm_of(buf, comm);
	return jstr(buf);
}

static struct json_object *jhex(__u64 v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return jstr(buf);
}

static struct json_object *jdev(__u32 dev)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%u:%u", dev >> 20, dev & 0xfffff);
	return jstr(buf);
}

static struct json_object *json_violation(const struct gmem_check_run *r,
					  const struct gmem_violation *v)
{
	const struct gmem_check_event *e = &r->c->events[v->event];
	const struct gmem_check_episode *p = &r->c->episodes[v->episode];
	const struct gmem_stack *st = violation_stack(r, v);
	struct json_object *o = json_object_new_object(), *ev = json_object_new_object();
	struct json_object *h = json_object_new_object(), *stack = json_object_new_array();
	const struct gmem_check_target *t = &e->targets[v->target];

	json_object_object_add(ev, "kind", jstr(gmem_check_kind_name(e->kind)));
	json_object_object_add(ev, "time_ns", jint(e->time_ns));
	json_object_object_add(ev, "pid", jint(e->tgid));
	json_object_object_add(ev, "comm", jcomm(e->comm));
	if (e->memslot) {
		json_object_object_add(ev, "vm", jhex(e->c.kvm));
		json_object_object_add(ev, "memslot", jint(e->c.m.id));
		json_object_object_add(ev, "address_space", jint(e->c.m.as_id));
		json_object_object_add(ev, "first_gfn", jint(e->c.start_gfn));
		json_object_object_add(ev, "nr_gfns", jint(e->c.end_gfn - e->c.start_gfn));
	} else {
		json_object_object_add(ev, "dev", jdev(t->dev));
		json_object_object_add(ev, "ino", jint(t->ino));
		json_object_object_add(ev, "first_page", jint(t->start));
		json_object_object_add(ev, "nr_pages", jint(t->end - t->start));
	}
	json_object_object_add(o, "event", ev);
	json_object_object_add(o, "memory", jstr(memory_name(v)));
	if (v->has_gfn) {
		json_object_object_add(o, "first_gfn", jint(v->first_gfn));
		json_object_object_add(o, "nr_gfns", jint(v->nr_pages));
	}
	json_object_object_add(o, "dev", jdev(p->v.dev));
	json_object_object_add(o, "ino", jint(p->v.ino));
	json_object_object_add(o, "first_page", jint(v->first_index));
	json_object_object_add(o, "nr_pages", jint(v->nr_pages));
	json_object_object_add(o, "folio", jhex(p->folio));
	json_object_object_add(o, "pins", jint(p->v.pins));
	json_object_object_add(h, "pid", jint(p->v.tgid));
	json_object_object_add(h, "tid", jint(p->v.pid));
	json_object_object_add(h, "comm", jcomm(p->v.comm));
	json_object_object_add(h, "cgroup_id", jint(p->v.cgroup_id));
	json_object_object_add(h, "api", jstr(v->api_name));
	json_object_object_add(h, "longterm",
			       json_object_new_boolean(!!(p->v.flags & GMEM_PIN_F_LONGTERM)));
	if (p->v.mm) {
		json_object_object_add(h, "mm", jhex(p->v.mm));
		json_object_object_add(h, "address", jhex(p->v.addr));
	}
	for (int i = 0; st && i < st->nr; i++)
		if (frame_shown(st->frames[i]))
			json_object_array_add(stack, jstr(st->frames[i]));
	json_object_object_add(h, "stack", stack);
	json_object_object_add(o, "holder", h);
	json_object_object_add(o, "pinned_ns", jint(p->start_ns));
	json_object_object_add(o, "held_before_ns", jint(v->held_ns));
	json_object_object_add(o, "still_held", json_object_new_boolean(v->still_held));
	json_object_object_add(o, "released_after_ns",
			       v->still_held ? NULL : jint(v->released_after_ns));
	return o;
}

static struct json_object *json_command(const struct gmem_check_run *r)
{
	struct json_object *a;

	if (!r->argv)
		return NULL;
	a = json_object_new_array();
	for (int i = 0; i < r->argc; i++)
		json_object_array_add(a, jstr(r->argv[i]));
	return a;
}

static struct json_object *json_watched(bool watched, const char *missing)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "watched", json_object_new_boolean(watched));
	json_object_object_add(o, "missing", watched || !missing ? NULL : jstr(missing));
	return o;
}

int gmem_check_report_json(FILE *out, const struct gmem_check_run *r)
{
	const struct gmem_checker *c = r->c;
	struct json_object *o = json_object_new_object(), *counts = json_object_new_object();
	struct json_object *vs = json_object_new_array(), *reasons = json_object_new_array();
	struct json_object *allow = json_object_new_array();
	int err = 0;

	json_object_object_add(o, "schema", jstr(GMEM_CHECK_SCHEMA));
	json_object_object_add(o, "result", jstr(gmem_check_result_name(r->result)));
	json_object_object_add(o, "exit_code", jint(r->result));
	json_object_object_add(o, "kernel", jstr(r->kernel ? r->kernel : ""));
	json_object_object_add(o, "command", json_command(r));
	json_object_object_add(o, "command_exit", r->cmd_ran ? jint(r->cmd_exit) : NULL);
	json_object_object_add(o, "pid", r->pid ? jint(r->pid) : NULL);
	json_object_object_add(o, "duration_ns", jint(r->duration_ns));
	json_object_object_add(o, "grace_ns", jint(r->opts ? r->opts->grace_ns : 0));
	for (size_t i = 0; r->opts && i < r->opts->nr_allow; i++)
		json_object_array_add(allow, jstr(r->opts->allow[i]));
	json_object_object_add(o, "allow", allow);
	json_object_object_add(o, "conversions",
			       json_watched(r->conversions_watched, r->conversions_missing));
	json_object_object_add(o, "punches", json_watched(r->punches_watched, r->punches_missing));
	json_object_object_add(counts, "requests", jint(c->requests));
	json_object_object_add(counts, "to_private", jint(c->to_private));
	json_object_object_add(counts, "to_shared", jint(c->to_shared));
	json_object_object_add(counts, "punches", jint(c->punches));
	json_object_object_add(counts, "file_releases", jint(c->file_releases));
	json_object_object_add(counts, "pin_episodes", jint(c->nr_episodes));
	json_object_object_add(counts, "violations", jint(c->nr_violations));
	json_object_object_add(counts, "allowed", jint(c->allowed));
	json_object_object_add(counts, "within_grace", jint(c->within_grace));
	json_object_object_add(counts, "lost", jint(r->lost));
	json_object_object_add(counts, "bad_records", jint(c->bad_records));
	json_object_object_add(counts, "other_processes", jint(c->others));
	json_object_object_add(o, "counts", counts);
	for (int i = 0; i < r->nr_reasons; i++)
		json_object_array_add(reasons, jstr(r->reasons[i]));
	json_object_object_add(o, "reasons", reasons);
	for (size_t i = 0; i < c->nr_violations; i++)
		json_object_array_add(vs, json_violation(r, &c->violations[i]));
	json_object_object_add(o, "violations", vs);
	if (fprintf(out, "%s\n",
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		err = -EIO;
	json_object_put(o);
	return err;
}

/* 's' as XML character data or attribute value. */
static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			/* XML 1.0 allows no other control characters */
			if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
				fputc('?', out);
			else
				fputc(ch, out);
		}
	}
}

static size_t violations_of(const struct gmem_checker *c, bool punch)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nr_violations; i++)
		n += is_discard(&c->events[c->violations[i].event]) == punch;
	return n;
}

/* One testcase: a failure per kind of event, with the text report's
 * lines of its violations. */
static void junit_case(FILE *out, const struct gmem_check_run *r, const char *name, bool punch,
		       bool watched, const char *missing, double secs)
{
	const struct gmem_checker *c = r->c;
	size_t n = violations_of(c, punch);

	fprintf(out, "    <testcase classname=\"gmem-check\" name=\"%s\" time=\"%.3f\">\n", name,
		secs);
	if (n) {
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);

		fprintf(out, "      <failure type=\"violation\" message=\"%zu pinned folio%s\">", n,
			n == 1 ? "" : "s");
		if (m) {
			text_violations(m, r, punch);
			fclose(m);
			xml_text(out, buf);
			free(buf);
		}
		fputs("</failure>\n", out);
	} else if (r->result == GMEM_CHECK_INCONCLUSIVE) {
		fputs("      <error type=\"inconclusive\" message=\"", out);
		for (int i = 0; i < r->nr_reasons; i++) {
			xml_text(out, r->reasons[i]);
			if (i + 1 < r->nr_reasons)
				fputs("; ", out);
		}
		fputs("\"/>\n", out);
	} else if (!watched || r->result == GMEM_CHECK_SKIPPED) {
		fputs("      <skipped message=\"", out);
		xml_text(out, missing ? missing : (r->nr_reasons ? r->reasons[0] : "skipped"));
		fputs("\"/>\n", out);
	}
	fputs("    </testcase>\n", out);
}

int gmem_check_report_junit(FILE *out, const struct gmem_check_run *r)
{
	const struct gmem_checker *c = r->c;
	size_t conv = violations_of(c, false), punch = violations_of(c, true);
	int failures = !!conv + !!punch, errors = 0, skipped = 0;
	double secs = r->duration_ns / 1e9;

	if (r->result == GMEM_CHECK_INCONCLUSIVE)
		errors = !conv + !punch;
	else if (r->result == GMEM_CHECK_SKIPPED)
		skipped = 2 - failures;
	else
		skipped = (!r->conversions_watched && !conv) + (!r->punches_watched && !punch);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out, "<testsuites name=\"gmem-check\" tests=\"2\" failures=\"%d\" errors=\"%d\" "
		     "skipped=\"%d\" time=\"%.3f\">\n",
		failures, errors, skipped, secs);
	fprintf(out, "  <testsuite name=\"gmem-check\" tests=\"2\" failures=\"%d\" errors=\"%d\" "
		     "skipped=\"%d\" time=\"%.3f\">\n",
		failures, errors, skipped, secs);
	fputs("    <properties>\n      <property name=\"result\" value=\"", out);
	xml_text(out, gmem_check_result_name(r->result));
	fputs("\"/>\n      <property name=\"kernel\" value=\"", out);
	xml_text(out, r->kernel ? r->kernel : "");
	fputs("\"/>\n", out);
	if (r->argv) {
		fputs("      <property name=\"command\" value=\"", out);
		for (int i = 0; i < r->argc; i++) {
			xml_text(out, r->argv[i]);
			if (i + 1 < r->argc)
				fputc(' ', out);
		}
		fputs("\"/>\n", out);
	}
	fputs("    </properties>\n", out);
	junit_case(out, r, "no pin survives a conversion to private", false,
		   r->conversions_watched, r->conversions_missing, secs);
	junit_case(out, r, "no pin survives a hole punch or release of guest memory", true,
		   r->punches_watched,
		   r->punches_missing, secs);
	fputs("  </testsuite>\n</testsuites>\n", out);
	return ferror(out) ? -EIO : 0;
}
