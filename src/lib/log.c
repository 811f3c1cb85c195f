// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/log.h"

#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>

static const char *log_prog = "gmem";
static int log_verbosity;
static bool log_json;
static bool log_quiet;

/* libbpf's own messages only with -v: they are long and mostly noise. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbosity < 2)
		return 0;
	if (level != LIBBPF_DEBUG && log_verbosity < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void gmem_log_init(const char *prog, int verbosity)
{
	log_prog = prog;
	log_verbosity = verbosity;
	libbpf_set_print(libbpf_print);
}

int gmem_log_verbosity(void) { return log_verbosity; }
void gmem_log_set_json(bool json) { log_json = json; }

bool gmem_log_set_quiet(bool quiet)
{
	bool was = log_quiet;

	log_quiet = quiet;
	return was;
}

/* level: "error", "warning", "hint", "info", "debug"; errors, hints and
 * infos carry no prefix in text. */
static void vlog(const char *level, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, level, json_object_new_string(buf));
		json_object_object_add(o, "program", json_object_new_string(log_prog));
		fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	if (level[0] == 'e' || level[0] == 'i' || level[0] == 'h')
		fprintf(stderr, "%s: %s\n", log_prog, buf);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog, level, buf);
}

/* The last error, also while quiet: a caller that tried two ways can
 * name both failures in one message. */
static char last_error[1024];

const char *gmem_log_last_error(void) { return last_error; }

#define DEFINE_LOG(fn, level, min)                          \
	void fn(const char *fmt, ...)                       \
	{                                                   \
		va_list ap;                                 \
		if (level[0] == 'e') {                      \
			va_start(ap, fmt);                  \
			vsnprintf(last_error, sizeof(last_error), fmt, ap); \
			va_end(ap);                         \
		}                                           \
		if (log_verbosity < (min) ||                \
		    (log_quiet && log_verbosity < 2))       \
			return;                             \
		va_start(ap, fmt);                          \
		vlog(level, fmt, ap);                       \
		va_end(ap);                                 \
	}

DEFINE_LOG(gmem_err, "error", 0)
DEFINE_LOG(gmem_warn, "warning", 0)
DEFINE_LOG(gmem_hint, "hint", 0)
DEFINE_LOG(gmem_info, "info", 1)
DEFINE_LOG(gmem_debug, "debug", 2)
