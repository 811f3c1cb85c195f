/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GMEM_UTIL_H
#define GMEM_UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* A whole number in [min, max], no trailing junk; -EINVAL or -ERANGE. */
int gmem_parse_u64(const char *s, unsigned long long min, unsigned long long max,
		   unsigned long long *out);
/* A positive number of seconds, fractions allowed ("0.5"). */
int gmem_parse_seconds(const char *s, double *out);
/* Sleeps, waking early (returning 1) when *stop becomes non-zero. */
int gmem_sleep(double seconds, volatile sig_atomic_t *stop);
/* Replace bytes that are not printable ASCII: comm is user-controlled. */
void gmem_sanitize_comm(char *comm, unsigned int len);
/* qsort(), which may not be given the NULL base of an empty array. */
void gmem_sort_array(void *base, size_t nr, size_t size,
		     int (*cmp)(const void *, const void *));

/* Frees a NULL-terminated array of strings and the array (NULL is fine). */
void gmem_free_strv(char **v);

#endif
