/* agent_deps.c — the libraries the agent needs besides the C library, as
 * this machine's loader finds them: a container holding only its program
 * and its own libraries has no libunwind, so they travel with the agent
 * into the container (the agent looks beside itself first: it is linked
 * with RPATH $ORIGIN, which its dependencies' lookups inherit). */
#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/cmd/agent_deps.h"

/* glibc's own: they must be the target's, never this machine's. */
static int from_libc(const char *soname)
{
	static const char *const libc[] = { "libc.so.", "ld-linux", "libm.so.", "libpthread.so.", "libdl.so.",
					    "librt.so.", "libresolv.so.", "libutil.so." };
	for (size_t i = 0; i < sizeof libc / sizeof *libc; i++)
		if (!strncmp(soname, libc[i], strlen(libc[i])))
			return 1;
	return 0;
}

/* Calls add(soname) for each DT_NEEDED of path.  -1 when unreadable. */
static int each_needed(const char *path, struct ma_agent_deps *d, int (*add)(struct ma_agent_deps *, const char *))
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
	Elf *e = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
	Elf_Scn *scn = NULL;
	while (e && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !(data = elf_getdata(scn, NULL)))
			continue;
		rc = 0;
		for (size_t i = 0; sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			const char *name;
			if (gelf_getdyn(data, (int)i, &dyn) && dyn.d_tag == DT_NEEDED &&
			    (name = elf_strptr(e, sh.sh_link, dyn.d_un.d_val)) && add(d, name) < 0)
				rc = -1;
		}
	}
	if (e)
		elf_end(e);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* soname → this machine's file, as its loader resolves it. */
static int add_dep(struct ma_agent_deps *d, const char *soname)
{
	struct link_map *lm = NULL;
	if (from_libc(soname))
		return 0;
	for (int i = 0; i < d->n; i++)
		if (!strcmp(d->soname[i], soname))
			return 0;
	if (d->n == MA_AGENT_DEPS_MAX)
		return -1;
	void *h = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);
	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) < 0 || !lm || !lm->l_name[0]) {
		snprintf(d->missing, sizeof d->missing, "%s", soname);
		return -1;
	}
	snprintf(d->soname[d->n], sizeof d->soname[d->n], "%s", soname);
	snprintf(d->path[d->n], sizeof d->path[d->n], "%s", lm->l_name);
	int i = d->n++;
	int rc = each_needed(d->path[i], d, add_dep);
	d->order[d->norder++] = i;   /* after what it needs */
	return rc;
}

int ma_agent_deps(const char *agent, struct ma_agent_deps *d)
{
	memset(d, 0, sizeof *d);
	elf_version(EV_CURRENT);
	return each_needed(agent, d, add_dep);
}
