/* test_peer_identity.c — which process is behind a connection when the
 * kernel has no pidfs (before Linux 6.9): the agent then sends
 * pidfs_inode 0 (agent/process_identity.c), and the CLI tells an exec in
 * place from a new process with the same pid by the start time alone
 * (cli/capture/peer_identity.c, used by follow_loop.c's take_connection).
 * The kernel here has pidfs, so the records of an older one are made
 * here, sent through a socket and read back as the follow loop reads
 * them (MSG_PEEK).  The agent's own record (agent/process_identity.c,
 * linked in) is checked against this process's /proc: its start time is
 * the one the fallback compares.  The identity memattach run reads of
 * its child (CMD) before CMD connects must be the one CMD's agent sends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/capture/peer_identity.h"
#include "memattach.pb-c.h"
#include "record_io.h"

int ma_identity_send(int fd, int forked);   /* agent/process_identity.c */

/* The framed record an agent sends first; pidfs 0 leaves the field out,
 * as proto3 does for an agent on a kernel without pidfs. */
static size_t identity_record(uint8_t *buf, uint32_t pid, uint64_t pidfs, uint64_t start, int forked)
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__ProcessIdentity id = MEMATTACH__PROCESS_IDENTITY__INIT;
	id.pid = pid;
	id.pidfs_inode = pidfs;
	id.start_ticks = start;
	id.forked = forked != 0;
	rec.r_case = MEMATTACH__RECORD__R_IDENTITY;
	rec.identity = &id;
	return ma_record_pack_framed(&rec, buf);
}

/* A connection's identity as the follow loop peeks it. */
static struct ma_peer_identity received(uint64_t pidfs, uint64_t start, int forked)
{
	int sv[2];
	uint8_t buf[128];
	struct ma_peer_identity id;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	size_t n = identity_record(buf, 4321, pidfs, start, forked);
	/* the first byte alone: not come yet */
	assert_int_equal(write(sv[0], buf, 1), 1);
	assert_int_equal(ma_peer_identity_peek(sv[1], &id), 0);
	assert_int_equal(write(sv[0], buf + 1, n - 1), (ssize_t)(n - 1));
	assert_int_equal(ma_peer_identity_peek(sv[1], &id), 1);
	/* peeked: the record stays for the capture */
	uint8_t again[128];
	assert_int_equal(recv(sv[1], again, sizeof again, MSG_DONTWAIT), (ssize_t)n);
	assert_memory_equal(again, buf, n);
	close(sv[0]);
	close(sv[1]);
	return id;
}

static void test_no_pidfs_received(void **state)
{
	(void)state;
	struct ma_peer_identity id = received(0, 1234567, 0);
	assert_int_equal(id.have, 1);
	assert_int_equal(id.pidfs_inode, 0);
	assert_int_equal(id.start_ticks, 1234567);
	assert_int_equal(id.forked, 0);
}

/* Before 6.9: the same start time is the same process (an exec in
 * place), another one a new process that has the pid now. */
static void test_start_time_decides(void **state)
{
	(void)state;
	struct ma_peer_identity first = received(0, 1234567, 0);
	struct ma_peer_identity exec = received(0, 1234567, 0);
	struct ma_peer_identity reused = received(0, 1234999, 0);
	assert_int_equal(ma_peer_identity_same(&first, &exec), 1);
	assert_int_equal(ma_peer_identity_same(&first, &reused), 0);
	/* a fork's child is never the same, even within one tick */
	struct ma_peer_identity child = received(0, 1234567, 1);
	assert_int_equal(ma_peer_identity_same(&first, &child), 0);
}

/* One side with pidfs, the other without (an agent of another build, or
 * a pidfd that could not be opened): the start time still decides. */
static void test_mixed(void **state)
{
	(void)state;
	struct ma_peer_identity with = received(777, 1234567, 0);
	struct ma_peer_identity without = received(0, 1234567, 0);
	struct ma_peer_identity other = received(0, 1240000, 0);
	assert_int_equal(ma_peer_identity_same(&with, &without), 1);
	assert_int_equal(ma_peer_identity_same(&without, &with), 1);
	assert_int_equal(ma_peer_identity_same(&with, &other), 0);
}

/* With pidfs on both, the inode decides: two processes started within
 * one clock tick differ. */
static void test_pidfs_first(void **state)
{
	(void)state;
	struct ma_peer_identity a = received(777, 1234567, 0);
	struct ma_peer_identity b = received(778, 1234567, 0);
	struct ma_peer_identity a_exec = received(777, 1234567, 0);
	assert_int_equal(ma_peer_identity_same(&a, &b), 0);
	assert_int_equal(ma_peer_identity_same(&a, &a_exec), 1);
}

/* Neither known: cannot tell (the loop then asks the pidfd). */
static void test_unknown(void **state)
{
	(void)state;
	struct ma_peer_identity none = received(0, 0, 0);
	struct ma_peer_identity some = received(0, 1234567, 0);
	struct ma_peer_identity absent = { 0 };
	assert_int_equal(ma_peer_identity_same(&none, &none), -1);
	assert_int_equal(ma_peer_identity_same(&none, &some), -1);
	assert_int_equal(ma_peer_identity_same(&absent, &absent), -1);
	/* one that never identified itself died before it could */
	assert_int_equal(ma_peer_identity_same(&absent, &some), 0);
}

/* Field 22 of /proc/self/stat, after the name's last ')'. */
static uint64_t proc_start_ticks(void)
{
	char buf[1024];
	unsigned long long st = 0;
	FILE *f = fopen("/proc/self/stat", "re");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	assert_non_null(p);
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
				&st), 1);
	return st;
}

/* Our pidfd's inode on pidfs, 0 on a kernel without it. */
static uint64_t own_pidfs_inode(void)
{
	struct stat st;
	struct statfs sf;
	uint64_t ino = 0;
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
#else
	int fd = -1;
#endif
	if (fd >= 0 && fstatfs(fd, &sf) == 0 && (uint32_t)sf.f_type == 0x50494446u && fstat(fd, &st) == 0)
		ino = (uint64_t)st.st_ino;
	if (fd >= 0)
		close(fd);
	return ino;
}

/* The agent's record: the start time read past a name holding ") " (the
 * fields are counted after the last ')'), the pidfs inode when there is
 * pidfs, the fork flag. */
static void test_agent_record(void **state)
{
	(void)state;
	char old[16] = "";
	prctl(PR_GET_NAME, old);
	assert_int_equal(prctl(PR_SET_NAME, "a) b 1 2 (c"), 0);
	for (int forked = 0; forked < 2; forked++) {
		int sv[2];
		struct ma_peer_identity id;
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(ma_identity_send(sv[0], forked), 0);
		assert_int_equal(ma_peer_identity_peek(sv[1], &id), 1);
		assert_int_equal(id.have, 1);
		assert_int_not_equal(id.start_ticks, 0);
		assert_int_equal(id.start_ticks, proc_start_ticks());
		assert_int_equal(id.pidfs_inode, own_pidfs_inode());
		assert_int_equal(id.forked, forked);
		close(sv[0]);
		close(sv[1]);
	}
	prctl(PR_SET_NAME, old);
}

/* A child that sends its agent's record, then waits for its end on a
 * pipe; *ctl: the write end that lets it exit. */
static pid_t identified_child(int sock, int *ctl)
{
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char b;
		close(go[1]);
		_exit(ma_identity_send(sock, 0) == 0 && read(go[0], &b, 1) == 0 ? 0 : 1);
	}
	close(go[0]);
	*ctl = go[1];
	return pid;
}

/* run's CMD: the identity memattach reads of its child before the child
 * connects is the one its agent sends, alive or a zombie (run
 * --follow-fork may take CMD's first connection after CMD's end); another
 * child's is not. */
static void test_of_child(void **state)
{
	(void)state;
	struct ma_peer_identity born[2], sent[2];
	for (int i = 0; i < 2; i++) {
		int sv[2], ctl, st;
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		pid_t pid = identified_child(sv[0], &ctl);
#ifdef SYS_pidfd_open
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
		int pidfd = -1;
#endif
		ma_peer_identity_of_child(pid, pidfd, &born[i]);
		assert_int_equal(born[i].have, 1);
		close(ctl);   /* it exits: a zombie until waited for */
		assert_int_equal(waitid(P_PID, (id_t)pid, NULL, WEXITED | WNOWAIT), 0);
		struct ma_peer_identity zombie;
		ma_peer_identity_of_child(pid, pidfd, &zombie);
		assert_int_equal(ma_peer_identity_same(&born[i], &zombie), 1);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_int_equal(st, 0);
		assert_int_equal(ma_peer_identity_peek(sv[1], &sent[i]), 1);
		assert_int_equal(ma_peer_identity_same(&born[i], &sent[i]), 1);
		assert_int_equal(born[i].pidfs_inode, sent[i].pidfs_inode);
		assert_int_equal(born[i].start_ticks, sent[i].start_ticks);
		if (pidfd >= 0)
			close(pidfd);
		close(sv[0]);
		close(sv[1]);
	}
	/* two children: told apart by pidfs (one tick apart or not) */
	if (born[0].pidfs_inode)
		assert_int_equal(ma_peer_identity_same(&born[0], &sent[1]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_pidfs_received),
		cmocka_unit_test(test_start_time_decides),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_pidfs_first),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_agent_record),
		cmocka_unit_test(test_of_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
