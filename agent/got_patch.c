/* got_patch.c — redirect allocator calls by rewriting GOT entries.
 *
 * For every loaded object (but the dynamic loader, the vdso and the agent)
 * the JUMP_SLOT and GLOB_DAT relocations that name a hooked function get
 * the hook's address; the previous value is kept so that stopping puts it
 * back.  Entries inside PT_GNU_RELRO are read-only after start-up: they are
 * made writable for the store and read-only again. */
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <unistd.h>
#include "agent_internal.h"
#include "elf_dyn.h"
#include MA_AGENT_ARCH_H

struct patch {
	void **slot;
	void *orig;
	void *hook;
};

struct object {
	uintptr_t base;
	uintptr_t dynamic;      /* identity together with base */
	uintptr_t relro_lo, relro_hi;
	struct patch *patches;
	unsigned n_patches;
	int seen;               /* mark for the loaded-objects scan */
	struct object *next;
};

static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;
static struct object *objects;
/* The objects and their patches, for one session: made again by the next
 * one in the same memory (a new allocation each time grew a Debian
 * python3 by 3.4 KB per attach). */
static struct ma_scratch got_scratch;

/* An address inside the agent, to recognise (and skip) its own object. */
static const char self_marker;
static const void *self_base(void)
{
	return &self_marker;
}

static int is_skipped(struct dl_phdr_info *info)
{
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	uintptr_t lo, hi, me = (uintptr_t)self_base();
	if (strstr(name, "/ld-linux") || strstr(name, "ld-linux-") == name ||
	    strstr(name, "linux-vdso") || strstr(name, "linux-gate"))
		return 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		lo = info->dlpi_addr + ph->p_vaddr;
		hi = lo + ph->p_memsz;
		if (vdso && vdso >= lo && vdso < hi)
			return 1;
		if (me >= lo && me < hi)
			return 1;
	}
	return 0;
}

static const struct ma_hook_def *find_hook(const char *name)
{
	for (size_t i = 0; i < ma_hook_count; i++)
		if (!strcmp(ma_hook_defs[i].name, name))
			return &ma_hook_defs[i];
	return NULL;
}

static void store_slot(struct object *o, void **slot, void *value)
{
	uintptr_t a = (uintptr_t)slot;
	int ro = a >= o->relro_lo && a < o->relro_hi;
	uintptr_t page = a & ~(uintptr_t)(getpagesize() - 1);
	if (ro)
		mprotect((void *)page, (size_t)getpagesize(), PROT_READ | PROT_WRITE);
	__atomic_store_n(slot, value, __ATOMIC_RELEASE);
	if (ro)
		mprotect((void *)page, (size_t)getpagesize(), PROT_READ);
}

static unsigned scan_relocs(struct object *o, const ElfW(Rela) *rel, size_t count,
			    const ElfW(Sym) *symtab, const char *strtab, int apply)
{
	unsigned hits = 0;
	for (size_t i = 0; i < count; i++) {
		unsigned type = ELF64_R_TYPE(rel[i].r_info);
		if (type != MA_R_JUMP_SLOT && type != MA_R_GLOB_DAT)
			continue;
		const ElfW(Sym) *sym = &symtab[ELF64_R_SYM(rel[i].r_info)];
		if (!sym->st_name)
			continue;
		const struct ma_hook_def *h = find_hook(strtab + sym->st_name);
		if (!h || !*h->real)
			continue;
		/* libunwind's mmap/munmap lead to unwind_fds.c: it runs inside
		 * the agent only, and the trace caches must be seen there. */
		if (ma_unwind_is_redirect(*(void **)(o->base + rel[i].r_offset)))
			continue;
		if (apply) {
			struct patch *p = &o->patches[hits];
			p->slot = (void **)(o->base + rel[i].r_offset);
			p->orig = *p->slot;
			p->hook = h->hook;
			if (p->orig != p->hook)
				store_slot(o, p->slot, p->hook);
		}
		hits++;
	}
	return hits;
}

static int patch_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	int *total = data;
	const ElfW(Dyn) *dyn = NULL;
	struct object *o;
	uintptr_t relro_lo = 0, relro_hi = 0;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
		else if (ph->p_type == PT_GNU_RELRO) {
			relro_lo = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)(getpagesize() - 1);
			/* the loader protects whole pages only */
			relro_hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) &
				   ~(uintptr_t)(getpagesize() - 1);
		}
	}
	if (!dyn || is_skipped(info))
		return 0;
	for (o = objects; o; o = o->next)
		if (o->base == info->dlpi_addr && o->dynamic == (uintptr_t)dyn) {
			o->seen = 1;
			return 0;
		}

	uintptr_t base = info->dlpi_addr;
	struct ma_dyn_tables dt;
	ma_dyn_read(base, dyn, &dt);
	const ElfW(Sym) *symtab = dt.symtab;
	const char *strtab = dt.strtab;
	o = ma_scratch_alloc(&got_scratch, sizeof(*o));
	if (!o || !symtab || !strtab)
		return 0;
	o->base = base;
	o->dynamic = (uintptr_t)dyn;
	o->relro_lo = relro_lo;
	o->relro_hi = relro_hi;
	o->seen = 1;
	const ElfW(Rela) *jmprel = dt.jmprel, *rela = dt.rela;
	size_t nj = dt.njmprel, nr = dt.nrela;
	unsigned want = scan_relocs(o, jmprel, nj, symtab, strtab, 0) +
			scan_relocs(o, rela, nr, symtab, strtab, 0);
	if (want) {
		o->patches = ma_scratch_alloc(&got_scratch, want * sizeof(struct patch));
		if (o->patches) {
			unsigned k = scan_relocs(o, jmprel, nj, symtab, strtab, 1);
			struct patch *save = o->patches;
			o->patches += k;
			k += scan_relocs(o, rela, nr, symtab, strtab, 1);
			o->patches = save;
			o->n_patches = k;
			*total += (int)k;
		}
	}
	o->next = objects;
	objects = o;
	return 0;
}

int ma_got_patch_all(void)
{
	int total = 0;
	/* dlsym before dl_iterate_phdr: the loader's locks are taken in the
	 * other order by a concurrent dlopen. */
	ma_hooks_resolve();
	pthread_mutex_lock(&got_lock);
	/* A dlopen hook that saw tracking on may come here after the session
	 * ended and restored everything: it must not patch again. */
	if (atomic_load(&ma_tracking))
		ma_dl_iterate(patch_object, &total);
	pthread_mutex_unlock(&got_lock);
	return total;
}

static int mark_seen(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	for (struct object *o = objects; o; o = o->next)
		if (o->base == info->dlpi_addr) {
			for (int i = 0; i < info->dlpi_phnum; i++)
				if (info->dlpi_phdr[i].p_type == PT_DYNAMIC &&
				    o->dynamic == info->dlpi_addr + info->dlpi_phdr[i].p_vaddr)
					o->seen = 1;
		}
	return 0;
}

/* Drops objects that are gone; the caller holds got_lock. */
static void forget_unloaded_locked(void)
{
	for (struct object *o = objects; o; o = o->next)
		o->seen = 0;
	ma_dl_iterate(mark_seen, NULL);
	struct object **pp = &objects;
	while (*pp) {
		if (!(*pp)->seen)
			*pp = (*pp)->next;   /* scratch memory: reused next session */
		else
			pp = &(*pp)->next;
	}
}

void ma_got_forget_unloaded(void)
{
	pthread_mutex_lock(&got_lock);
	forget_unloaded_locked();
	pthread_mutex_unlock(&got_lock);
}

void ma_got_restore_all(void)
{
	pthread_mutex_lock(&got_lock);
	forget_unloaded_locked();
	for (struct object *o = objects; o; o = o->next)
		for (unsigned i = 0; i < o->n_patches; i++) {
			struct patch *p = &o->patches[i];
			/* Leave entries someone else changed since (e.g. lazy
			 * binding resolved through our hook never writes here,
			 * but another tool might). */
			if (*p->slot == p->hook)
				store_slot(o, p->slot, p->orig);
		}
	objects = NULL;
	ma_scratch_reset(&got_scratch);
	pthread_mutex_unlock(&got_lock);
}

/* fork_follow.c: held around a followed fork. */
void ma_got_fork_lock(int take)
{
	if (take)
		pthread_mutex_lock(&got_lock);
	else
		pthread_mutex_unlock(&got_lock);
}
