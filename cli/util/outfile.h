/* outfile.h — creating an output file safely: never through a symbolic
 * link, never by truncating what is there.  The data goes to a new file
 * (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600) beside the name, in a directory
 * held open, and is renamed over the name when published; until then
 * whatever had the name stays untouched.  A character device (/dev/null,
 * /dev/full) or a FIFO of one's own is written directly. */
#ifndef MEMATTACH_OUTFILE_H
#define MEMATTACH_OUTFILE_H

#include <stddef.h>

typedef struct ma_outfile {
	int fd;                 /* write the data here */
	int dirfd;              /* the directory of the name; -1 when direct */
	char *name;             /* last component of the path */
	char *tmp;              /* the new file's name in dirfd; NULL: published or direct */
} ma_outfile;

/* Creates the new file for path.  0, or -errno with err saying why in a
 * few words ("it is a symbolic link; ...", strerror otherwise). */
int ma_outfile_open(ma_outfile *o, const char *path, char *err, size_t errlen);
/* Checks now what ma_outfile_open would refuse (a link, a directory, a
 * directory that cannot be written), creating nothing. */
int ma_outfile_check(const char *path, char *err, size_t errlen);
/* fsync, then renames the new file over the name (an existing file is
 * replaced only now, and the name never shows a half-written file after
 * a crash).  The fd stays open for more writes.  0 or -errno. */
int ma_outfile_publish(ma_outfile *o);
/* Publishes (if not yet), closes.  0 or -errno. */
int ma_outfile_commit(ma_outfile *o);
/* Removes the new file if it was not published, closes.  What had the
 * name before is left as it was. */
void ma_outfile_abandon(ma_outfile *o);
/* "/proc/self/fd/N": a name of the data written so far, wherever it is. */
const char *ma_outfile_data_path(const ma_outfile *o, char *buf, size_t len);

#endif
