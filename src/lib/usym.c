// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/usym.h"

#include "lib/model.h" /* gmem_array_grow() */
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- /proc/PID/maps ---- */

static int add_umap(struct gmem_umaps *m, const struct gmem_umap *u)
{
	struct gmem_umap *n = gmem_array_grow((void **)&m->maps, &m->nr, &m->cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	*n = *u;
	n->path = strdup(u->path);
	return n->path ? 0 : -ENOMEM; /* freed with the rest: nr counts it */
}

/* "START-END PERMS OFFSET MAJ:MIN INODE   PATH": the path may hold spaces. */
static int parse_umap_line(const char *line, struct gmem_umap *u, const char **path)
{
	int n = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %x:%x %" SCNu64 " %n",
		   (uint64_t *)&u->start, (uint64_t *)&u->end, (uint64_t *)&u->offset,
		   &u->dev_major, &u->dev_minor, (uint64_t *)&u->ino, &n) < 6 || !n)
		return -EINVAL;
	*path = line + n;
	return 0;
}

int gmem_umaps_parse(struct gmem_umaps *m, FILE *f)
{
	char *line = NULL;
	size_t len = 0;
	int err = 0;

	while (!err && getline(&line, &len, f) > 0) {
		struct gmem_umap u = {};
		const char *path;

		line[strcspn(line, "\n")] = '\0';
		if (parse_umap_line(line, &u, &path) || path[0] != '/')
			continue; /* anonymous, [heap], [vdso], ... */
		u.path = (char *)path;
		err = add_umap(m, &u);
	}
	free(line);
	return err;
}

int gmem_umaps_load(struct gmem_umaps *m, __u32 pid)
{
	char path[64];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	err = gmem_umaps_parse(m, f);
	fclose(f);
	return err;
}

void gmem_umaps_free(struct gmem_umaps *m)
{
	for (size_t i = 0; i < m->nr; i++)
		free(m->maps[i].path);
	free(m->maps);
	memset(m, 0, sizeof(*m));
}

const struct gmem_umap *gmem_umaps_find(const struct gmem_umaps *m, __u64 addr)
{
	for (size_t i = 0; m && i < m->nr; i++)
		if (addr >= m->maps[i].start && addr < m->maps[i].end)
			return &m->maps[i];
	return NULL;
}

/* ---- ELF symbol tables ---- */

struct usym {
	__u64 addr, size;
	char *name;
};

/* A loaded segment: file offsets [offset, offset + size) sit at vaddr. */
struct segment {
	__u64 offset, size, vaddr;
};

struct module {
	char *path;
	__u64 ino;
	unsigned int dev_major, dev_minor;
	struct usym *syms;  /* functions, by address (none: no symbol table) */
	size_t nr_syms;
	struct segment *segs;
	size_t nr_segs;
};

struct gmem_usyms {
	struct module *mods;
	size_t nr, cap;
};

static int cmp_usym(const void *a, const void *b)
{
	const struct usym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int read_segments(Elf *elf, struct module *mod)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return -EINVAL;
	mod->segs = calloc(n ? n : 1, sizeof(*mod->segs));
	if (!mod->segs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		mod->segs[mod->nr_segs++] = (struct segment){ ph.p_offset, ph.p_filesz, ph.p_vaddr };
	}
	return 0;
}

/* The functions of one symbol table section (symtab or dynsym). */
static int read_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct module *mod)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	struct usym *syms;

	if (!data || !n)
		return 0;
	syms = realloc(mod->syms, (mod->nr_syms + n) * sizeof(*syms));
	if (!syms)
		return -ENOMEM;
	mod->syms = syms;
	for (size_t i = 0; i < n; i++) {
		const char *name;
		GElf_Sym s;

		if (!gelf_getsym(data, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
		    s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		syms[mod->nr_syms].name = strdup(name);
		if (!syms[mod->nr_syms].name)
			return -ENOMEM;
		syms[mod->nr_syms].addr = s.st_value;
		syms[mod->nr_syms].size = s.st_size;
		mod->nr_syms++;
	}
	return 0;
}

/* .symtab where there is one (unstripped), else .dynsym. */
static int read_symbols(Elf *elf, struct module *mod)
{
	Elf_Scn *scn = NULL, *dynsym = NULL;
	GElf_Shdr sh, dyn_sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			return read_symtab(elf, scn, &sh, mod);
		if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dyn_sh = sh;
		}
	}
	return dynsym ? read_symtab(elf, dynsym, &dyn_sh, mod) : 0;
}

/* A module's segments and functions; a file that cannot be read or is not
 * ELF gives a module without symbols (frames show module+offset). */
static int load_module(struct module *mod)
{
	int fd = open(mod->path, O_RDONLY | O_CLOEXEC), err = 0;
	Elf *elf;

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF) {
		err = read_segments(elf, mod);
		if (!err)
			err = read_symbols(elf, mod);
		if (!err)
			gmem_sort_array(mod->syms, mod->nr_syms, sizeof(*mod->syms), cmp_usym);
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

static void free_module(struct module *mod)
{
	for (size_t i = 0; i < mod->nr_syms; i++)
		free(mod->syms[i].name);
	free(mod->syms);
	free(mod->segs);
	free(mod->path);
}

struct gmem_usyms *gmem_usyms_new(void)
{
	return calloc(1, sizeof(struct gmem_usyms));
}

void gmem_usyms_free(struct gmem_usyms *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nr; i++)
		free_module(&c->mods[i]);
	free(c->mods);
	free(c);
}

size_t gmem_usyms_nr_modules(const struct gmem_usyms *c)
{
	return c->nr;
}

/* The module a mapping maps, read on first use (NULL: no memory). */
static struct module *module_of(struct gmem_usyms *c, const struct gmem_umap *u)
{
	struct module *mod;

	for (size_t i = 0; i < c->nr; i++) {
		mod = &c->mods[i];
		if (mod->ino == u->ino && mod->dev_major == u->dev_major &&
		    mod->dev_minor == u->dev_minor && !strcmp(mod->path, u->path))
			return mod;
	}
	mod = gmem_array_grow((void **)&c->mods, &c->nr, &c->cap, sizeof(*mod));
	if (!mod)
		return NULL;
	*mod = (struct module){ .ino = u->ino, .dev_major = u->dev_major,
				.dev_minor = u->dev_minor, .path = strdup(u->path) };
	if (!mod->path || load_module(mod)) {
		free_module(mod);
		c->nr--;
		return NULL;
	}
	return mod;
}

/* The function containing ELF address 'vaddr' (a symbol without a size
 * covers up to the next one). */
static const struct usym *find_usym(const struct module *mod, __u64 vaddr)
{
	size_t lo = 0, hi = mod->nr_syms;
	const struct usym *s;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mod->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &mod->syms[lo - 1];
	if (s->size && vaddr >= s->addr + s->size)
		return NULL;
	return s;
}

/* File offset -> the address the ELF file's symbols use. */
static int file_to_vaddr(const struct module *mod, __u64 off, __u64 *vaddr)
{
	for (size_t i = 0; i < mod->nr_segs; i++) {
		const struct segment *g = &mod->segs[i];

		if (off >= g->offset && off < g->offset + g->size) {
			*vaddr = off - g->offset + g->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

void gmem_usyms_frame(struct gmem_usyms *c, const struct gmem_umaps *m, __u64 addr, char *buf,
		      size_t len)
{
	const struct gmem_umap *u = gmem_umaps_find(m, addr);
	const struct usym *s = NULL;
	const struct module *mod;
	const char *base;
	__u64 off, vaddr;

	if (!u) {
		snprintf(buf, len, "0x%llx", (unsigned long long)addr);
		return;
	}
	off = addr - u->start + u->offset;
	base = strrchr(u->path, '/') ? strrchr(u->path, '/') + 1 : u->path;
	mod = module_of(c, u);
	if (mod && !file_to_vaddr(mod, off, &vaddr))
		s = find_usym(mod, vaddr);
	if (s)
		snprintf(buf, len, "%s+0x%llx (%s+0x%llx)", s->name,
			 (unsigned long long)(vaddr - s->addr), base, (unsigned long long)off);
	else
		snprintf(buf, len, "%s+0x%llx", base, (unsigned long long)off);
}
