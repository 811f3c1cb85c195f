// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Folios whose tracked pins have all been released, as long as the tracker
 * keeps their entries (until they have been idle IDLE_ENTRY_NS, tracker.c).
 * A pin held for microseconds, like KVM's kvm_vcpu_map() of a guest page
 * for one exit, is never seen held by a snapshot; its last holder, the API
 * and the stack it came through stay visible here, and the pins and unpins
 * it cost are in the snapshot's counters.
 */
#include "lib/released.h"

#include "lib/attrib.h"
#include "lib/output.h"
#include "lib/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>

int gmem_snapshot_add_released(struct gmem_snapshot *s, __u64 folio,
			       const struct gmem_folio_pins *v)
{
	struct gmem_released_pin *r = gmem_array_grow((void **)&s->released, &s->nr_released,
						      &s->cap_released, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->folio = folio;
	r->v = *v;
	r->v.comm[GMEM_COMM_LEN - 1] = '\0';
	gmem_sanitize_comm(r->v.comm, GMEM_COMM_LEN);
	return 0;
}

static struct json_object *jint(__u64 v) { return json_object_new_int64((int64_t)v); }

static __u64 age_ms(const struct gmem_snapshot *s, __u64 then)
{
	return then && s->time_ns > then ? (s->time_ns - then) / 1000000 : 0;
}

static struct json_object *json_released_pin(const struct gmem_snapshot *s,
					     const struct gmem_released_pin *r)
{
	const struct gmem_stack *st = gmem_snapshot_find_stack(s, r->v.stack_id);
	struct json_object *j = json_object_new_object();
	char addr[24], dev[24];

	snprintf(addr, sizeof(addr), "0x%016llx", r->folio);
	snprintf(dev, sizeof(dev), "%u:%u", r->v.dev >> 20, r->v.dev & 0xfffff);
	json_object_object_add(j, "folio", json_object_new_string(addr));
	json_object_object_add(j, "dev", json_object_new_string(dev));
	json_object_object_add(j, "ino", jint(r->v.ino));
	json_object_object_add(j, "index", jint(r->v.index));
	json_object_object_add(j, "pid", jint(r->v.tgid));
	json_object_object_add(j, "tid", jint(r->v.pid));
	json_object_object_add(j, "comm", json_object_new_string(r->v.comm));
	json_object_object_add(j, "cgroup_id", jint(r->v.cgroup_id));
	json_object_object_add(j, "longterm",
			       json_object_new_boolean(r->v.flags & GMEM_PIN_F_LONGTERM));
	json_object_object_add(j, "first_pin_age_ms", jint(age_ms(s, r->v.first_pin_ns)));
	json_object_object_add(j, "last_pin_age_ms", jint(age_ms(s, r->v.last_pin_ns)));
	json_object_object_add(j, "api", json_object_new_string(
						 gmem_api_name(st ? st->api : GMEM_API_OTHER)));
	json_object_object_add(j, "stack", gmem_json_stack(st));
	return j;
}

struct json_object *gmem_json_released(const struct gmem_snapshot *s)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < s->nr_released; i++)
		if (!s->filter.cgroup_id || s->released[i].v.cgroup_id == s->filter.cgroup_id)
			json_object_array_add(arr, json_released_pin(s, &s->released[i]));
	return arr;
}
