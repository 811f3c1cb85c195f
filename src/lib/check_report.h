/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * gmem-check's verdict and its reports: a summary for people (stderr), and
 * JSON and JUnit XML for CI servers, with the schemas of doc/gmem-check.md.
 */
#ifndef GMEM_CHECK_REPORT_H
#define GMEM_CHECK_REPORT_H

#include "lib/checker.h"

#include <stdio.h>

/* The exit codes are the verdicts. */
enum gmem_check_result {
	GMEM_CHECK_PASS = 0,
	GMEM_CHECK_VIOLATION = 1,
	GMEM_CHECK_INCONCLUSIVE = 2,
	GMEM_CHECK_SKIPPED = 4,
};

#define GMEM_CHECK_MAX_REASONS 16
#define GMEM_CHECK_SCHEMA "gmem-check/1"

struct gmem_check_run {
	enum gmem_check_result result;
	const char *kernel;        /* uname release */
	char *const *argv;         /* CMD (NULL: --pid mode) */
	int argc;
	__u32 pid;                 /* --pid mode: the process watched */
	bool cmd_ran;              /* CMD was started and waited for */
	int cmd_exit;              /* its exit status, or 128 + signal */
	__u64 start_ns;            /* CLOCK_MONOTONIC when watching began (0: not known) */
	__u64 duration_ns;
	__u64 lost;                /* events lost, every kind */
	bool conversions_watched;  /* else: conversions_missing says why */
	const char *conversions_missing;
	bool punches_watched;
	const char *punches_missing;
	/* why the verdict is not a pass or a violation, or what it depends on */
	const char *reasons[GMEM_CHECK_MAX_REASONS];
	int nr_reasons;
	const struct gmem_check_opts *opts;
	const struct gmem_checker *c;
	const struct gmem_snapshot *stacks; /* symbolised stacks (may be NULL) */
};

void gmem_check_add_reason(struct gmem_check_run *r, const char *reason);
const char *gmem_check_result_name(enum gmem_check_result result);
void gmem_check_report_text(FILE *out, const struct gmem_check_run *r);
int gmem_check_report_json(FILE *out, const struct gmem_check_run *r);
int gmem_check_report_junit(FILE *out, const struct gmem_check_run *r);

#endif
