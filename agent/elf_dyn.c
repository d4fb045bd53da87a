/* elf_dyn.c — reads a loaded object's dynamic section (see elf_dyn.h). */
#include <string.h>
#include "elf_dyn.h"

static uintptr_t dyn_ptr(uintptr_t base, ElfW(Addr) p)
{
	/* glibc relocates these in place; the vdso and some loaders do not. */
	return p < base ? base + p : p;
}

void ma_dyn_read(uintptr_t base, const ElfW(Dyn) *dyn, struct ma_dyn_tables *t)
{
	size_t jmprel_sz = 0, rela_sz = 0;
	memset(t, 0, sizeof(*t));
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: t->symtab = (const void *)dyn_ptr(base, d->d_un.d_ptr); break;
		case DT_STRTAB: t->strtab = (const void *)dyn_ptr(base, d->d_un.d_ptr); break;
		case DT_JMPREL: t->jmprel = (const void *)dyn_ptr(base, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: jmprel_sz = d->d_un.d_val; break;
		case DT_RELA: t->rela = (const void *)dyn_ptr(base, d->d_un.d_ptr); break;
		case DT_RELASZ: rela_sz = d->d_un.d_val; break;
		}
	}
	t->njmprel = t->jmprel ? jmprel_sz / sizeof(ElfW(Rela)) : 0;
	t->nrela = t->rela ? rela_sz / sizeof(ElfW(Rela)) : 0;
}
