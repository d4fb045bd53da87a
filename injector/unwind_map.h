/* unwind_map.h — the target's code as the safe-point test sees it,
 * gathered before the seize (unwind_map.c). */
#ifndef MEMATTACH_INJ_UNWIND_MAP_H
#define MEMATTACH_INJ_UNWIND_MAP_H

#include <stddef.h>
#include <sys/types.h>

struct ma_umap_sym {
	unsigned long addr;
	char *unsafe;               /* the name when it is unsafe, else NULL */
};

struct ma_umap_mod {            /* one executable mapping */
	unsigned long lo, hi, bias;
	unsigned long eh_hdr, table, fde_count;   /* 0: no search table */
	int is_loader;              /* the dynamic loader: every pc unsafe */
	struct ma_umap_sym *syms;   /* by address */
	size_t nsyms;
};

#define MA_UMAP_PAGES 64

struct ma_umap {
	pid_t pid;
	int n;
	struct ma_umap_mod *mods;
	/* the looks' page cache, allocated and touched before the seize */
	unsigned long page[MA_UMAP_PAGES];   /* address + 1, 0: empty */
	unsigned char (*data)[4096];
	void *as;                   /* libunwind's address space (safepoint.c) */
};

/* 0, or -1 when the target's maps cannot be read. */
int ma_umap_build(pid_t pid, struct ma_umap *u);
void ma_umap_free(struct ma_umap *u);
/* The mapping that holds pc, NULL when none did when the map was built. */
const struct ma_umap_mod *ma_umap_find(const struct ma_umap *u, unsigned long pc);
/* The unsafe function's name when pc is in one, else NULL. */
const char *ma_umap_unsafe(const struct ma_umap_mod *mod, unsigned long pc);

#endif
