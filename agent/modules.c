/* modules.c — the module map: every loaded object with its load address,
 * segments and build id, kept current across dlopen/dlclose.  The loader's
 * list is copied under its lock and compared outside it. */
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "agent_internal.h"
#include "unwind_cache.h"
#include "memattach.pb-c.h"

#define MAX_MODULES 4096
#define MAX_SEGS 8

struct mod {
	uint64_t base;
	char path[256];
	uint8_t build_id[64];
	unsigned build_id_len;
	Memattach__Segment segs[MAX_SEGS];
	unsigned nsegs;
	int mark;
};

static pthread_mutex_t mod_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mod *known, *scan;
static unsigned n_known, n_scan;
static atomic_int dirty;

void ma_modules_mark_dirty(void) { atomic_store(&dirty, 1); ma_unwind_forget(); }
int ma_modules_dirty(void) { return atomic_load(&dirty); }

static void read_build_id(struct dl_phdr_info *info, struct mod *m)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;
		size_t align = ph->p_align == 8 ? 8 : 4;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)p;
			const char *name = p + sizeof(*nh);
			const char *desc = name + ((nh->n_namesz + align - 1) & ~(align - 1));
			if (desc + nh->n_descsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(name, "GNU", 4) && nh->n_descsz <= sizeof(m->build_id)) {
				memcpy(m->build_id, desc, nh->n_descsz);
				m->build_id_len = nh->n_descsz;
				return;
			}
			p = desc + ((nh->n_descsz + align - 1) & ~(align - 1));
		}
	}
}

static int collect(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	if (n_scan >= MAX_MODULES)
		return 1;
	struct mod *m = &scan[n_scan];
	memset(m, 0, sizeof(*m));
	m->base = info->dlpi_addr;
	if (info->dlpi_name && info->dlpi_name[0])
		strncpy(m->path, info->dlpi_name, sizeof(m->path) - 1);
	else if (n_scan == 0) {
		ssize_t r = readlink("/proc/self/exe", m->path, sizeof(m->path) - 1);
		if (r < 0)
			m->path[0] = 0;
	}
	for (int i = 0; i < info->dlpi_phnum && m->nsegs < MAX_SEGS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		Memattach__Segment *s = &m->segs[m->nsegs++];
		memattach__segment__init(s);
		s->start = info->dlpi_addr + ph->p_vaddr;
		s->end = s->start + ph->p_memsz;
		s->file_offset = ph->p_offset;
		s->flags = ph->p_flags;
	}
	read_build_id(info, m);
	n_scan++;
	return 0;
}

static void emit_module(const struct mod *m, uint64_t seq,
			void (*emit)(const void *rec, void *ctx), void *ctx)
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__Module mm = MEMATTACH__MODULE__INIT;
	Memattach__Segment *segp[MAX_SEGS];
	for (unsigned i = 0; i < m->nsegs; i++)
		segp[i] = (Memattach__Segment *)&m->segs[i];
	mm.load_address = m->base;
	mm.path = (char *)m->path;
	mm.build_id.data = (uint8_t *)m->build_id;
	mm.build_id.len = m->build_id_len;
	mm.n_segments = m->nsegs;
	mm.segments = segp;
	mm.seq = seq;
	rec.r_case = MEMATTACH__RECORD__R_MODULE;
	rec.module = &mm;
	emit(&rec, ctx);
}

void ma_modules_sync(int full, void (*emit)(const void *rec, void *ctx), void *ctx)
{
	pthread_mutex_lock(&mod_lock);
	if (!known) {
		known = ma_pages_alloc(sizeof(struct mod) * MAX_MODULES);
		scan = ma_pages_alloc(sizeof(struct mod) * MAX_MODULES);
		if (!known || !scan) {
			pthread_mutex_unlock(&mod_lock);
			return;
		}
	}
	atomic_store(&dirty, 0);
	n_scan = 0;
	ma_dl_iterate(collect, NULL);
	uint64_t seq = atomic_load(&ma_seq);
	for (unsigned i = 0; i < n_known; i++)
		known[i].mark = 0;
	for (unsigned j = 0; j < n_scan; j++) {
		int found = 0;
		for (unsigned i = 0; i < n_known && !full; i++)
			if (known[i].base == scan[j].base && !strcmp(known[i].path, scan[j].path)) {
				known[i].mark = 1;
				found = 1;
				break;
			}
		scan[j].mark = found;
		if (!found)
			emit_module(&scan[j], seq, emit, ctx);
	}
	for (unsigned i = 0; i < n_known && !full; i++)
		if (!known[i].mark) {
			Memattach__Record rec = MEMATTACH__RECORD__INIT;
			Memattach__ModuleUnload mu = MEMATTACH__MODULE_UNLOAD__INIT;
			mu.load_address = known[i].base;
			mu.seq = seq;
			rec.r_case = MEMATTACH__RECORD__R_MODULE_UNLOAD;
			rec.module_unload = &mu;
			emit(&rec, ctx);
		}
	struct mod *t = known;
	known = scan;
	scan = t;
	n_known = n_scan;
	pthread_mutex_unlock(&mod_lock);
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uintptr_t *r = data, me = (uintptr_t)&find_self;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (me >= lo && me < hi) {
			r[0] = lo;
			r[1] = hi;
			return 1;
		}
	}
	return 0;
}

void ma_agent_text_range(uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t r[2] = {0, 0};
	ma_dl_iterate(find_self, r);
	*lo = r[0];
	*hi = r[1];
}

/* After a session (writer only): the next one starts with a full map. */
void ma_modules_release(void)
{
	pthread_mutex_lock(&mod_lock);
	ma_pages_free(known, sizeof(struct mod) * MAX_MODULES);
	ma_pages_free(scan, sizeof(struct mod) * MAX_MODULES);
	known = scan = NULL;
	n_known = n_scan = 0;
	pthread_mutex_unlock(&mod_lock);
}

/* fork_follow.c: held around a followed fork. */
void ma_modules_fork_lock(int take)
{
	if (take)
		pthread_mutex_lock(&mod_lock);
	else
		pthread_mutex_unlock(&mod_lock);
}
