/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GMEM_LOG_H
#define GMEM_LOG_H

#include <stdbool.h>

/* The program name that prefixes every message ("gmemtop: ..."). */
void gmem_log_init(const char *prog, int verbosity);
int gmem_log_verbosity(void);
/* With JSON output, errors are JSON objects on stderr too. */
void gmem_log_set_json(bool json);
/* Trial runs (probing) expect failures: while quiet, errors and warnings
 * show only with -vv.  Returns the previous setting. */
bool gmem_log_set_quiet(bool quiet);

void gmem_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The text of the last gmem_err(), printed or not (quiet); "" before any. */
const char *gmem_log_last_error(void);
void gmem_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What to do next, after an error: {"hint": ...} under JSON. */
void gmem_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gmem_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gmem_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
