/* symbols.c — addresses of functions in the target: the module's own file
 * (read through /proc/PID/root, so containers work), its .dynsym via libelf,
 * and the load bias from /proc/PID/maps. */
#include "config.h"
#include "injector/inj_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct module_ctx {
	const char *prefix;     /* NULL: every module */
	int (*visit)(struct module_ctx *c, const struct ma_map *m);
	const char *symbol;
	unsigned long addr;
	char last[PATH_MAX];
	pid_t pid;
	int elf_errors;
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Looks sym up in the file's .dynsym.  A default version (no hidden bit in
 * .gnu.version) wins over an older compat one.  Returns the symbol's
 * st_value or 0; *first_vaddr gets the first PT_LOAD's page-aligned vaddr. */
static unsigned long elf_dynsym(int fd, const char *sym, unsigned long *first_vaddr,
				int *bad)
{
	Elf *e;
	Elf_Scn *scn = NULL, *dynsym = NULL, *versym = NULL;
	GElf_Shdr sh, dsh;
	Elf_Data *data, *vdata = NULL;
	size_t n, i, phnum;
	unsigned long best = 0;
	int best_hidden = 1;

	*bad = 0;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		*bad = 1;
		if (e)
			elf_end(e);
		return 0;
	}
	*first_vaddr = 0;
	if (elf_getphdrnum(e, &phnum) == 0) {
		for (i = 0; i < phnum; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD) {
				*first_vaddr = (ph.p_vaddr - ph.p_offset) & ~0xfffUL;
				break;
			}
		}
	}
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
		else if (sh.sh_type == SHT_GNU_versym)
			versym = scn;
	}
	if (!dynsym || !gelf_getshdr(dynsym, &dsh) || !(data = elf_getdata(dynsym, NULL))) {
		elf_end(e);
		return 0;
	}
	if (versym)
		vdata = elf_getdata(versym, NULL);
	n = dsh.sh_entsize ? dsh.sh_size / dsh.sh_entsize : 0;
	for (i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;
		int hidden = 0;

		if (!gelf_getsym(data, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(s.st_info) != STT_FUNC)
			continue;
		name = elf_strptr(e, dsh.sh_link, s.st_name);
		if (!name || strcmp(name, sym) != 0)
			continue;
		if (vdata && (i + 1) * sizeof(GElf_Versym) <= vdata->d_size)
			hidden = (((GElf_Versym *)vdata->d_buf)[i] & 0x8000) != 0;
		if (!best || (best_hidden && !hidden)) {
			best = s.st_value;
			best_hidden = hidden;
		}
	}
	elf_end(e);
	return best;
}

static int lookup_in(struct module_ctx *c, const struct ma_map *m)
{
	unsigned long v, first_vaddr = 0;
	int fd, bad;

	/* the mapped file itself: maps names it from our root, which may not
	 * be the target's (a chroot, another mount namespace) */
	fd = ma_proc_open_mapped(c->pid, m->start, m->end, m->path);
	if (fd < 0)
		return 0;
	v = elf_dynsym(fd, c->symbol, &first_vaddr, &bad);
	close(fd);
	c->elf_errors += bad;
	if (!v)
		return 0;
	/* The mapping at file offset 0 holds the first PT_LOAD's page. */
	c->addr = m->start - first_vaddr + v;
	return 1;
}

static int module_fn(const struct ma_map *m, void *vctx)
{
	struct module_ctx *c = vctx;

	/* Only the first mapping of each file: the one at offset 0. */
	if (m->path[0] != '/' || m->offset != 0 || strcmp(m->path, c->last) == 0)
		return 0;
	snprintf(c->last, sizeof(c->last), "%s", m->path);
	if (c->prefix && strncmp(base_name(m->path), c->prefix, strlen(c->prefix)) != 0)
		return 0;
	return c->visit(c, m);
}

int ma_inj_lookup(pid_t pid, const char *module_prefix, const char *symbol,
		  unsigned long *addr, struct ma_inj_error *err)
{
	struct module_ctx *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return ma_inj_fail(err, MA_INJ_ERR_SYSTEM, ENOMEM, "out of memory");
	c->prefix = module_prefix;
	c->visit = lookup_in;
	c->symbol = symbol;
	c->pid = pid;
	rc = ma_maps_foreach(pid, module_fn, c);
	if (rc < 0) {
		free(c);
		return ma_inj_fail(err, MA_INJ_ERR_NO_PROCESS, errno,
				   "cannot read /proc/%d/maps: the process is gone or not ours", (int)pid);
	}
	*addr = c->addr;
	free(c);
	if (rc == 0)
		return ma_inj_fail(err, MA_INJ_ERR_SYMBOL, 0,
				   "symbol %s not found in %s of process %d", symbol,
				   module_prefix ? module_prefix : "any module", (int)pid);
	return 0;
}

/* glibc >= 2.34 has them in libc; older ones in libpthread, loaded only
 * by threaded programs (others get dlopen on the seized thread). */
static void resolve_pthread(pid_t pid, struct ma_inj_syms *syms)
{
	static const char *const where[] = { "libc.so", "libpthread.so" };
	size_t i;

	for (i = 0; i < 2 && !ma_inj_test_no_loader_thread(); i++) {
		if (ma_inj_lookup(pid, where[i], "pthread_create", &syms->pthread_create, NULL) ||
		    ma_inj_lookup(pid, where[i], "pthread_detach", &syms->pthread_detach, NULL) ||
		    ma_inj_lookup(pid, where[i], "pthread_self", &syms->pthread_self, NULL))
			syms->pthread_create = syms->pthread_detach = syms->pthread_self = 0;
		else
			return;
	}
}

int ma_inj_resolve_loader(pid_t pid, struct ma_inj_syms *syms, struct ma_inj_error *err)
{
	memset(syms, 0, sizeof(*syms));
	/* glibc >= 2.34 has dlopen/dlsym/dlerror in libc.so.6 itself. */
	if (ma_inj_lookup(pid, "libc.so", "dlopen", &syms->dlopen, NULL) == 0) {
		ma_inj_lookup(pid, "libc.so", "dlsym", &syms->dlsym, NULL);
		ma_inj_lookup(pid, "libc.so", "dlerror", &syms->dlerror, NULL);
	} else if (ma_inj_lookup(pid, "libdl.so", "dlopen", &syms->dlopen, NULL) == 0) {
		/* older glibc, program linked with libdl */
		ma_inj_lookup(pid, "libdl.so", "dlsym", &syms->dlsym, NULL);
		ma_inj_lookup(pid, "libdl.so", "dlerror", &syms->dlerror, NULL);
	} else if (ma_inj_lookup(pid, "libc", "__libc_dlopen_mode", &syms->dlopen, NULL) == 0) {
		/* older glibc without libdl: the private entry points; mode
		 * needs __RTLD_DLOPEN as dlopen itself would add it. */
		syms->dlopen_flag = 0x80000000UL;
		ma_inj_lookup(pid, "libc", "__libc_dlsym", &syms->dlsym, NULL);
	}
	if (!syms->dlopen)
		return ma_inj_fail(err, MA_INJ_ERR_SYMBOL, 0,
				   "no dlopen in process %d (neither libc's dlopen nor __libc_dlopen_mode): "
				   "is it a glibc program?", (int)pid);
	if (!syms->dlsym)
		return ma_inj_fail(err, MA_INJ_ERR_SYMBOL, 0,
				   "no dlsym in process %d's libc", (int)pid);
	resolve_pthread(pid, syms);
	ma_inj_lookup(pid, "libc.so", "munmap", &syms->munmap, NULL);
	return 0;
}
