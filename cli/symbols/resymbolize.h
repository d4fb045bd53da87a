/* resymbolize.h — symbols for a capture that has none (its writer was
 * killed, the disk filled up), read later from the files at hand. */
#ifndef MEMATTACH_RESYMBOLIZE_H
#define MEMATTACH_RESYMBOLIZE_H

#include <stddef.h>

/* Copies the capture in to out (written beside it and renamed over it at
 * the end; on failure out keeps what it had, in may be out) with Symbol
 * records added for every native address that has none, from the module
 * files under root_prefix ("": this machine's; see capture_root.h), build
 * ids checked: a different build gives no name, never a wrong one.  The copy ends with the original's
 * CaptureTrailer; a capture cut off without one gets, with add_trailer, an
 * incomplete trailer saying so (else it stays without).  Returns the number of Symbol records added, or with a
 * one-line message MA_RESYM_BAD_INPUT (in cannot be read) or
 * MA_RESYM_BAD_OUTPUT (out cannot be written). */
enum { MA_RESYM_BAD_INPUT = -1, MA_RESYM_BAD_OUTPUT = -2 };
long ma_resymbolize(const char *in, const char *out, int add_trailer, const char *root_prefix,
		    char *err, size_t errlen);

/* Does the capture hold native stack frames without any Symbol record?
 * (A cheap pass over the Symbol and Stack records.)  -1 when unreadable. */
int ma_capture_lacks_symbols(const char *path);

#endif
