/* unwind_map.c — what the safe-point test needs to know about the
 * target's code, gathered before the thread is stopped: each executable
 * mapping, where its .eh_frame_hdr search table is in the target's memory,
 * and its function symbols (.dynsym and .symtab) flagged unsafe or not.
 * With it a look at a stopped thread reads only its stack and the unwind
 * tables (process_vm_readv), no file and no /proc/PID/maps: libunwind-ptrace
 * maps each module's file again and reads memory a word per ptrace call,
 * 3.5-5 ms a look, all of it with the thread stopped. */
#include "config.h"
#include "injector/inj_internal.h"
#include "injector/unwind_map.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <libunwind.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_datarel 0x30

static int by_addr(const void *a, const void *b)
{
	const struct ma_umap_sym *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* The function symbols of one symbol table section. */
static int add_symbols(struct ma_umap_mod *mod, Elf *e, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	struct ma_umap_sym *more;

	if (!data || !n)
		return 0;
	more = realloc(mod->syms, (mod->nsyms + n) * sizeof(*more));
	if (!more)
		return -1;
	mod->syms = more;
	for (i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;

		if (!gelf_getsym(data, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(s.st_info) != STT_FUNC)
			continue;
		name = elf_strptr(e, sh->sh_link, s.st_name);
		more[mod->nsyms].addr = mod->bias + s.st_value;
		more[mod->nsyms].unsafe = name && ma_inj_unsafe_name(name) ? strdup(name) : NULL;
		mod->nsyms++;
	}
	return 0;
}

/* Reads the .eh_frame_hdr in the target: the binary search table that
 * libunwind reads as a remote table (datarel, sdata4 pairs). */
static void find_table(pid_t pid, struct ma_umap_mod *mod, unsigned long hdr)
{
	unsigned char h[12];
	uint32_t count;

	if (ma_inj_mem_read(pid, hdr, h, sizeof(h)) || h[0] != 1 ||
	    (h[1] & 0x0f) != DW_EH_PE_sdata4 || h[2] != DW_EH_PE_udata4 ||
	    h[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return;
	memcpy(&count, h + 8, 4);
	mod->eh_hdr = hdr;
	mod->table = hdr + 12;
	mod->fde_count = count;
}

/* Bias, table and symbols of the ELF image e mapped at m. */
static int read_module(pid_t pid, Elf *e, const struct ma_map *m, struct ma_umap_mod *mod)
{
	size_t i, phnum;
	unsigned long hdr = 0;
	int have_bias = 0;
	Elf_Scn *scn = NULL;

	if (elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &phnum))
		return -1;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && !have_bias && m->offset >= (ph.p_offset & ~0xfffUL) &&
		    m->offset < ph.p_offset + ph.p_filesz) {
			mod->bias = m->start - m->offset - ((ph.p_vaddr - ph.p_offset) & ~0xfffUL);
			have_bias = 1;
		} else if (ph.p_type == PT_GNU_EH_FRAME) {
			hdr = ph.p_vaddr;
		}
	}
	if (!have_bias)
		return -1;
	if (hdr)
		find_table(pid, mod, mod->bias + hdr);
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && (sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_SYMTAB) &&
		    add_symbols(mod, e, scn, &sh))
			return -1;
	}
	if (mod->nsyms)
		qsort(mod->syms, mod->nsyms, sizeof(*mod->syms), by_addr);
	return 0;
}

/* The vdso has no file: its image is read from the target. */
static void read_vdso(pid_t pid, const struct ma_map *m, struct ma_umap_mod *mod)
{
	size_t len = m->end - m->start;
	char *img = len <= (1u << 20) ? malloc(len) : NULL;
	Elf *e;

	if (img && ma_inj_mem_read(pid, m->start, img, len) == 0 &&
	    (e = elf_memory(img, len)) != NULL) {
		struct ma_map whole = *m;

		whole.offset = 0;
		read_module(pid, e, &whole, mod);
		elf_end(e);
	}
	free(img);
}

static int add_mapping(const struct ma_map *m, void *p)
{
	struct ma_umap *u = p;
	struct ma_umap_mod *mod, *more;
	const char *base = strrchr(m->path, '/');
	int fd;

	if (m->perms[2] != 'x')
		return 0;
	more = realloc(u->mods, (u->n + 1) * sizeof(*more));
	if (!more)
		return -1;
	u->mods = more;
	mod = &u->mods[u->n++];
	memset(mod, 0, sizeof(*mod));
	mod->lo = m->start;
	mod->hi = m->end;
	if (!strcmp(m->path, "[vdso]")) {
		read_vdso(u->pid, m, mod);
		return 0;
	}
	if (m->path[0] != '/')
		return 0;   /* anonymous code (a JIT's): no tables, no names */
	mod->is_loader = base && strncmp(base + 1, "ld-", 3) == 0;
	fd = ma_proc_open_mapped(u->pid, m->start, m->end, m->path);
	if (fd >= 0) {
		Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);

		if (e) {
			read_module(u->pid, e, m, mod);
			elf_end(e);
		}
		close(fd);
	}
	return 0;
}

int ma_umap_build(pid_t pid, struct ma_umap *u)
{
	memset(u, 0, sizeof(*u));
	u->pid = pid;
	elf_version(EV_CURRENT);
	/* touched now: page faults in the look would lengthen the stop */
	if (!(u->data = malloc(MA_UMAP_PAGES * sizeof(*u->data))))
		return -1;
	memset(u->data, 0, MA_UMAP_PAGES * sizeof(*u->data));
	if (ma_maps_foreach(pid, add_mapping, u) < 0) {
		ma_umap_free(u);
		return -1;
	}
	return 0;
}

void ma_umap_free(struct ma_umap *u)
{
	int i;
	size_t k;

	for (i = 0; i < u->n; i++) {
		for (k = 0; k < u->mods[i].nsyms; k++)
			free(u->mods[i].syms[k].unsafe);
		free(u->mods[i].syms);
	}
	free(u->mods);
	free(u->data);
	if (u->as)
		unw_destroy_addr_space(u->as);
	memset(u, 0, sizeof(*u));
}

const struct ma_umap_mod *ma_umap_find(const struct ma_umap *u, unsigned long pc)
{
	int i;

	for (i = 0; i < u->n; i++)
		if (pc >= u->mods[i].lo && pc < u->mods[i].hi)
			return &u->mods[i];
	return NULL;
}

/* As libunwind names a pc: the nearest function symbol at or below it. */
const char *ma_umap_unsafe(const struct ma_umap_mod *mod, unsigned long pc)
{
	size_t lo = 0, hi = mod->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mod->syms[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? mod->syms[lo - 1].unsafe : NULL;
}
