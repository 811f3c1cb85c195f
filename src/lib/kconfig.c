// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/kconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A config is ~300 KiB; more than this is not a config. */
#define KCONFIG_MAX (16u << 20)

int gmem_kconfig_read(struct gmem_kconfig *c, const char *path)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = NULL, *bigger;
	gzFile f;
	int n, err = 0;

	f = gzopen(path, "rb"); /* reads plain files as they are */
	if (!f)
		return errno ? -errno : -ENOMEM;
	do {
		if (len + 1 >= cap || !buf) {
			bigger = cap <= KCONFIG_MAX ? realloc(buf, cap *= 2) : NULL;
			if (!bigger) {
				err = cap > KCONFIG_MAX ? -EFBIG : -ENOMEM;
				break;
			}
			buf = bigger;
		}
		n = gzread(f, buf + len, (unsigned int)(cap - len - 1));
		if (n < 0)
			err = -EIO;
		else
			len += (size_t)n;
	} while (!err && n > 0);
	gzclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	free(c->text);
	c->text = buf;
	snprintf(c->source, sizeof(c->source), "%s", path);
	return 0;
}

int gmem_kconfig_load(struct gmem_kconfig *c, const char *release)
{
	char path[128];

	memset(c, 0, sizeof(*c));
	if (!gmem_kconfig_read(c, "/proc/config.gz"))
		return 0;
	snprintf(path, sizeof(path), "/boot/config-%s", release);
	return gmem_kconfig_read(c, path) ? -ENOENT : 0;
}

void gmem_kconfig_free(struct gmem_kconfig *c)
{
	free(c->text);
	c->text = NULL;
}

/* The line of 'text' starting at 'p', without its newline, into val. */
static void copy_value(const char *p, char *val, size_t len)
{
	size_t n = strcspn(p, "\n");

	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(val, p, n);
	val[n] = '\0';
}

enum gmem_kconfig_state gmem_kconfig_lookup(const char *text, const char *name, char *val,
					    size_t len)
{
	size_t nlen = strlen(name);

	if (!text)
		return GMEM_KCONFIG_UNKNOWN;
	for (const char *line = text; *line; line += strcspn(line, "\n"), line += !!*line) {
		/* "CONFIG_X=..." only: "CONFIG_XY=" and comments do not match */
		if (!strncmp(line, name, nlen) && line[nlen] == '=') {
			copy_value(line + nlen + 1, val, len);
			return GMEM_KCONFIG_SET;
		}
	}
	return GMEM_KCONFIG_UNSET;
}

int gmem_kconfig_enabled(const struct gmem_kconfig *c, const char *name)
{
	char v[8];

	return gmem_kconfig_lookup(c->text, name, v, sizeof(v)) == GMEM_KCONFIG_SET &&
	       (!strcmp(v, "y") || !strcmp(v, "m"));
}

void gmem_kconfig_describe(const struct gmem_kconfig *c, const char *name, char *buf,
			   size_t len)
{
	char v[256];

	switch (gmem_kconfig_lookup(c->text, name, v, sizeof(v))) {
	case GMEM_KCONFIG_SET:
		snprintf(buf, len, "%s=%s", name, v);
		break;
	case GMEM_KCONFIG_UNSET:
		snprintf(buf, len, "%s is not set", name);
		break;
	default:
		snprintf(buf, len, "%s unknown (no kernel config)", name);
	}
}
