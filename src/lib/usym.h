/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User-space symbols: a process's mappings (/proc/PID/maps) turn a user
 * address into module+offset, and the module's ELF symbol table (read once
 * per module and kept) into function+offset.
 */
#ifndef GMEM_USYM_H
#define GMEM_USYM_H

#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>

/* One file mapping of a process: [start, end) maps 'path' from 'offset'. */
struct gmem_umap {
	__u64 start, end, offset;
	__u64 ino;
	unsigned int dev_major, dev_minor;
	char *path;
};

struct gmem_umaps {
	struct gmem_umap *maps; /* file mappings only, in address order */
	size_t nr, cap;
};

/* Reads /proc/PID/maps lines; keeps mappings of files (path starts '/'). */
int gmem_umaps_parse(struct gmem_umaps *m, FILE *f);
/* /proc/PID/maps; -ENOENT when the process is gone. */
int gmem_umaps_load(struct gmem_umaps *m, __u32 pid);
void gmem_umaps_free(struct gmem_umaps *m);
const struct gmem_umap *gmem_umaps_find(const struct gmem_umaps *m, __u64 addr);

/* Modules' symbol tables, each read once (by path, device and inode). */
struct gmem_usyms;

struct gmem_usyms *gmem_usyms_new(void);
void gmem_usyms_free(struct gmem_usyms *c);
/* Modules read so far (tests: a module is read once). */
size_t gmem_usyms_nr_modules(const struct gmem_usyms *c);

/*
 * One frame as text: "function+0xOFF (module+0xOFF)" where the module has
 * a symbol covering the address, "module+0xOFF" where it has none, and
 * "0xADDR" outside every file mapping (anonymous code, a process gone).
 * 'module' is the file's base name, OFF its file offset.
 */
void gmem_usyms_frame(struct gmem_usyms *c, const struct gmem_umaps *m, __u64 addr, char *buf,
		      size_t len);

#endif
