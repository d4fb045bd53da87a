/* keep_errno.c — the seized thread's errno, kept across our calls: libc's
 * mmap and pthread_create set it when they fail, and dlopen run on the
 * thread (the old glibc's path) may, where the thread's own code would
 * read it (say between a failed call and its check of errno).  errno sits
 * at a fixed offset from the thread pointer, the same for every thread of
 * the process: read out of __errno_location's code before the seize (no
 * call in the stop), then the value is one read and one write. */
#include "config.h"
#include "injector/inj_internal.h"

void ma_inj_errno_prepare(struct ma_inj *inj)
{
	unsigned long fn, slot;
	unsigned char code[32];
	long tpoff;

	inj->errno_known = 0;
	if (ma_inj_lookup(inj->pid, "libc.so", "__errno_location", &fn, NULL) ||
	    ma_inj_mem_read(inj->pid, fn, code, sizeof(code)) ||
	    ma_arch_errno_slot(code, sizeof(code), fn, &slot) ||
	    ma_inj_mem_read(inj->pid, slot, &tpoff, sizeof(tpoff)))
		return;   /* another libc's code: errno is not kept */
	inj->errno_tpoff = tpoff;
	inj->errno_known = 1;
}

/* Once per seized thread, before its first call. */
void ma_inj_errno_save(struct ma_inj *inj)
{
	unsigned long at = ma_arch_tp(inj->orig) + (unsigned long)inj->errno_tpoff;

	inj->errno_saved = inj->errno_known &&
			   ma_inj_mem_read(inj->tid, at, &inj->saved_errno, sizeof(int)) == 0;
}

/* On release, after the last call. */
void ma_inj_errno_restore(struct ma_inj *inj)
{
	unsigned long at = ma_arch_tp(inj->orig) + (unsigned long)inj->errno_tpoff;

	if (inj->errno_saved)
		ma_inj_mem_write(inj->tid, at, &inj->saved_errno, sizeof(int));
	inj->errno_saved = 0;
}
