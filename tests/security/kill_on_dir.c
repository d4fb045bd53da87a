/* kill_on_dir.c — for tests/security/leftovers.sh: SIGKILLs PID (a
 * memattach) as soon as a session directory (memattach-*, not an agent
 * copy's memattach-t*) appears in DIR (inotify), so that it dies with its
 * directory just made.
 * usage: kill_on_dir DIR PID — prints "ready", then "killed PID", exits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int in = inotify_init1(IN_CLOEXEC);
	if (argc != 3 || in < 0 || inotify_add_watch(in, argv[1], IN_CREATE) < 0) {
		fprintf(stderr, "usage: kill_on_dir DIR PID\n");
		return 2;
	}
	int pid = atoi(argv[2]);
	printf("ready\n");
	fflush(stdout);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n <= 0)
			return 1;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof *ev + ev->len;
			if (ev->len && !strncmp(ev->name, "memattach-", 10) &&
			    strncmp(ev->name, "memattach-t", 11) && kill(pid, SIGKILL) == 0) {
				printf("killed %d\n", pid);
				return 0;
			}
		}
	}
}
