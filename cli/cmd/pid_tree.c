/* pid_tree.c — see pid_tree.h.  One pass over /proc gives every process's
 * parent; the tree is then taken breadth first from the root. */
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>
#include "cli/cmd/pid_tree.h"
#include "procfs/procfs.h"

struct link { pid_t pid, ppid; };

/* Every live process of /proc with its parent; *n of them, malloc'ed. */
static struct link *all_links(size_t *n)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct link *l = NULL;
	size_t cap = 0;
	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		struct ma_proc_stat st;
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		if (ma_proc_stat(pid, &st) < 0 || st.state == 'Z' || st.state == 'X' || pid == getpid())
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 512;
			struct link *g = realloc(l, cap * sizeof(*g));
			if (!g)
				break;
			l = g;
		}
		l[(*n)++] = (struct link){ pid, st.ppid };
	}
	closedir(d);
	return l;
}

int ma_pid_tree(pid_t root, pid_t *out, size_t max)
{
	size_t n, got = 0;
	struct link *l = all_links(&n);
	if (!l && n)
		return -1;
	if (max)
		out[got++] = root;
	for (size_t next = 0; next < got; next++)
		for (size_t i = 0; i < n && got < max; i++)
			if (l[i].ppid == out[next] && l[i].pid != root)
				out[got++] = l[i].pid;
	free(l);
	return (int)got;
}
