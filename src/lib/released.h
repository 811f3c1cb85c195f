/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Pins taken and released between two snapshots: their last holders. */
#ifndef GMEM_RELEASED_H
#define GMEM_RELEASED_H

#include "lib/model.h"

struct json_object;

/* "released_pins": one object per such folio, with its last holder; the
 * -c cgroup filter applies (-p is applied by the BPF programs). */
struct json_object *gmem_json_released(const struct gmem_snapshot *s);

#endif
