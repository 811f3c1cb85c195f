// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

int gmem_parse_u64(const char *s, unsigned long long min, unsigned long long max,
		   unsigned long long *out)
{
	unsigned long long v;
	char *end;

	/* a digit first: strtoull() would skip any whitespace, then take a sign
	 * ("\t-1" is 2^64-1, without ERANGE) */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int gmem_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > 86400.0 * 365)
		return -EINVAL;
	*out = v;
	return 0;
}

int gmem_sleep(double seconds, volatile sig_atomic_t *stop)
{
	struct timespec ts = { .tv_sec = (time_t)seconds };

	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		if (*stop)
			return 1;
	return *stop ? 1 : 0;
}

void gmem_sanitize_comm(char *comm, unsigned int len)
{
	for (unsigned int i = 0; i < len && comm[i]; i++)
		if ((unsigned char)comm[i] < 0x20 || (unsigned char)comm[i] > 0x7e)
			comm[i] = '?';
}

void gmem_sort_array(void *base, size_t nr, size_t size,
		     int (*cmp)(const void *, const void *))
{
	if (nr > 1)
		qsort(base, nr, size, cmp);
}

void gmem_free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}
