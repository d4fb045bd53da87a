/* elf_dyn.h — the tables a loaded object's dynamic section points to, as
 * GOT patching (got_patch.c) and libunwind's redirection (unwind_fds.c)
 * both read them. */
#ifndef MA_ELF_DYN_H
#define MA_ELF_DYN_H

#include <link.h>
#include <stddef.h>
#include <stdint.h>

struct ma_dyn_tables {
	const ElfW(Sym) *symtab;
	const char *strtab;
	const ElfW(Rela) *jmprel, *rela;   /* PLT and other relocations */
	size_t njmprel, nrela;
};

void ma_dyn_read(uintptr_t base, const ElfW(Dyn) *dyn, struct ma_dyn_tables *t)
	__attribute__((visibility("hidden")));

#endif
