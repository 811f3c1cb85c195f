/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The running kernel's build configuration, when some file has it. */
#ifndef GMEM_KCONFIG_H
#define GMEM_KCONFIG_H

#include <stddef.h>

struct gmem_kconfig {
	char *text;       /* the whole file; NULL when no config is readable */
	char source[128]; /* the file it came from */
};

enum gmem_kconfig_state {
	GMEM_KCONFIG_UNKNOWN, /* no config to look in */
	GMEM_KCONFIG_UNSET,   /* "# CONFIG_X is not set", or absent */
	GMEM_KCONFIG_SET,     /* "CONFIG_X=value" */
};

/* /proc/config.gz, else /boot/config-RELEASE; -ENOENT when neither is
 * readable (c->text stays NULL: every option is then unknown). */
int gmem_kconfig_load(struct gmem_kconfig *c, const char *release);
/* One file, gzip-compressed or not. */
int gmem_kconfig_read(struct gmem_kconfig *c, const char *path);
void gmem_kconfig_free(struct gmem_kconfig *c);

/* Option 'name' ("CONFIG_X") in config text (NULL: unknown); on SET, its
 * value without quotes goes to val ("y", "m", "landlock,bpf"). */
enum gmem_kconfig_state gmem_kconfig_lookup(const char *text, const char *name, char *val,
					    size_t len);
/* True when the option is y or m; false when unset or unknown. */
int gmem_kconfig_enabled(const struct gmem_kconfig *c, const char *name);
/* "CONFIG_X=y", "CONFIG_X is not set", "CONFIG_X unknown (no kernel config)" */
void gmem_kconfig_describe(const struct gmem_kconfig *c, const char *name, char *buf,
			   size_t len);

#endif
