/* signals — a target that counts what signals do to it, to compare with
 * and without memattach attached (tests/integration/attach-signals.sh).
 * The main thread blocks in read() on a pipe nobody writes until the end.
 * A controller child sends, one at a time, SIGALRM (handler without
 * SA_RESTART: the read must fail with EINTR once per signal) and SIGWINCH
 * (SA_RESTART: the read goes on), each only once the main thread is asleep
 * in that read (from /proc) and the previous handler has answered; on
 * SIGUSR1 it stops, releases 64 children at once (a SIGCHLD storm, the
 * handler reaps them, SA_RESTART) and ends the read.  The target prints
 *   {"alrm": A, "winch": W, "eintr": E, "reaped": R, "sent_alrm": SA, "sent_winch": SW, "children": 64}
 * where untracked A = E = SA, W = SW and R = 64.
 * The line "ready PID CONTROLLER_PID" on stdout says the controller runs;
 * "sent N" lines follow every 64 signals. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 64

static volatile sig_atomic_t alrm, winch, reaped, stop;
static pid_t kids[CHILDREN];
static int ack_w;

static void on_alrm(int s) { (void)s; alrm++; (void)!write(ack_w, "a", 1); }
static void on_winch(int s) { (void)s; winch++; (void)!write(ack_w, "w", 1); }
static void on_usr1(int s) { (void)s; stop = 1; }

static void on_chld(int s)
{
	(void)s;
	int e = errno;
	for (int i = 0; i < CHILDREN; i++)
		if (kids[i] && waitpid(kids[i], NULL, WNOHANG) == kids[i]) {
			kids[i] = 0;
			reaped++;
			(void)!write(ack_w, "c", 1);
		}
	errno = e;
}

static void handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

/* Until the target's main thread sleeps in read(fd): state S, syscall 0. */
static void wait_blocked(pid_t pid, int fd)
{
	char path[64], buf[256], want[32];
	snprintf(want, sizeof want, "0 0x%x ", fd);
	for (;;) {
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		FILE *f = fopen(path, "r");
		char st = 0;
		if (f) {
			if (fgets(buf, sizeof buf, f)) {
				char *p = strrchr(buf, ')');
				st = p && p[1] ? p[2] : 0;
			}
			fclose(f);
		}
		snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
		f = fopen(path, "r");
		int in_read = 0;
		if (f) {
			in_read = fgets(buf, sizeof buf, f) && !strncmp(buf, want, strlen(want));
			fclose(f);
		}
		if (st == 'S' && in_read)
			return;
		usleep(200);
	}
}

static void read_byte(int fd)
{
	char c;
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

/* The controller: signals one at a time until SIGUSR1, then the storm. */
static void controller(pid_t target, int data_w, int data_fd, int ack_r, int go_w, int report_w)
{
	handle(SIGUSR1, on_usr1, 0);
	long sent_alrm = 0, sent_winch = 0;
	for (unsigned i = 0; !stop; i++) {
		wait_blocked(target, data_fd);
		int sig = i % 2 ? SIGWINCH : SIGALRM;
		kill(target, sig);
		sig == SIGALRM ? sent_alrm++ : sent_winch++;
		read_byte(ack_r);
		if (i % 64 == 63)
			dprintf(1, "sent %u\n", i + 1);   /* the test follows the rounds */
	}
	wait_blocked(target, data_fd);
	close(go_w);                    /* the children all exit now */
	for (int i = 0; i < CHILDREN; i++)
		read_byte(ack_r);
	dprintf(report_w, "%ld %ld\n", sent_alrm, sent_winch);
	wait_blocked(target, data_fd);
	(void)!write(data_w, "x", 1);
	_exit(0);
}

int main(void)
{
	int data[2], ack[2], go[2], rep[2];
	if (pipe(data) || pipe(ack) || pipe(go) || pipe(rep))
		return 1;
	ack_w = ack[1];
	for (int i = 0; i < CHILDREN; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(go[1]);
			read_byte(go[0]);
			_exit(0);
		}
	}
	pid_t self = getpid(), ctl = fork();
	if (ctl == 0)
		controller(self, data[1], data[0], ack[0], go[1], rep[1]);
	close(go[1]);
	close(data[1]);
	handle(SIGALRM, on_alrm, 0);
	handle(SIGWINCH, on_winch, SA_RESTART);
	handle(SIGCHLD, on_chld, SA_RESTART | SA_NOCLDSTOP);
	printf("ready %d %d\n", (int)self, (int)ctl);
	fflush(stdout);
	long eintr = 0;
	char c;
	for (;;) {
		ssize_t k = read(data[0], &c, 1);
		if (k >= 0)
			break;
		if (errno == EINTR)
			eintr++;
	}
	long sa = 0, sw = 0;
	FILE *r = fdopen(rep[0], "r");
	if (!r || fscanf(r, "%ld %ld", &sa, &sw) != 2)
		return 1;
	waitpid(ctl, NULL, 0);
	printf("{\"alrm\": %d, \"winch\": %d, \"eintr\": %ld, \"reaped\": %d, \"sent_alrm\": %ld, \"sent_winch\": %ld, \"children\": %d}\n",
	       (int)alrm, (int)winch, eintr, (int)reaped, sa, sw, CHILDREN);
	return 0;
}
