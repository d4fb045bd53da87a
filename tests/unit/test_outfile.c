/* test_outfile.c — cli/util/outfile.c: a new 0600 file beside the name,
 * what had the name untouched until publish, links refused, devices
 * written directly, nothing left behind by abandon. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/util/outfile.h"

static char dir[4096];

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/ma-outfile-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *at(const char *name)
{
	static char p[4200];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *get(const char *name)
{
	static char buf[256];
	FILE *f = fopen(at(name), "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int entries(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The old file stays whole until publish; then the new one, 0600. */
static void test_replace_at_publish(void **state)
{
	(void)state;
	char err[256];
	ma_outfile o;
	put("out", "old contents\n");
	mode_t old = umask(0);
	assert_int_equal(ma_outfile_open(&o, at("out"), err, sizeof err), 0);
	umask(old);
	assert_int_equal(write(o.fd, "new\n", 4), 4);
	assert_string_equal(get("out"), "old contents\n");
	assert_int_equal(entries(), 2);        /* out and the new file beside */
	assert_int_equal(ma_outfile_commit(&o), 0);
	assert_string_equal(get("out"), "new\n");
	assert_int_equal(entries(), 1);
	struct stat st;
	assert_int_equal(stat(at("out"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	unlink(at("out"));
}

static void test_abandon_keeps_old(void **state)
{
	(void)state;
	char err[256];
	ma_outfile o;
	put("keep", "precious\n");
	assert_int_equal(ma_outfile_open(&o, at("keep"), err, sizeof err), 0);
	assert_int_equal(write(o.fd, "half", 4), 4);
	ma_outfile_abandon(&o);
	assert_string_equal(get("keep"), "precious\n");
	assert_int_equal(entries(), 1);
	unlink(at("keep"));
}

/* A link at the name is refused and its target untouched, also a dangling
 * one; a directory is refused. */
static void test_links_refused(void **state)
{
	(void)state;
	char err[256];
	ma_outfile o;
	put("target", "canary\n");
	char target[4200], nowhere[4200];
	snprintf(target, sizeof target, "%s", at("target"));
	snprintf(nowhere, sizeof nowhere, "%s", at("nowhere"));
	assert_int_equal(symlink(target, at("link")), 0);
	assert_int_equal(symlink(nowhere, at("dangling")), 0);
	assert_int_equal(ma_outfile_open(&o, at("link"), err, sizeof err), -ELOOP);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(ma_outfile_open(&o, at("dangling"), err, sizeof err), -ELOOP);
	assert_int_equal(ma_outfile_check(at("link"), err, sizeof err), -ELOOP);
	assert_string_equal(get("target"), "canary\n");
	assert_int_equal(access(at("nowhere"), F_OK), -1);
	assert_int_equal(mkdir(at("sub"), 0700), 0);
	assert_int_equal(ma_outfile_open(&o, at("sub"), err, sizeof err), -EISDIR);
	assert_int_equal(ma_outfile_open(&o, at("nodir/x"), err, sizeof err), -ENOENT);
	assert_int_equal(entries(), 4);        /* nothing created beside */
	unlink(at("link"));
	unlink(at("dangling"));
	unlink(at("target"));
	rmdir(at("sub"));
}

/* A device is written directly and never replaced. */
static void test_device_direct(void **state)
{
	(void)state;
	char err[256];
	ma_outfile o;
	struct stat st;
	if (stat("/dev/null", &st) != 0 || !S_ISCHR(st.st_mode))
		skip();
	assert_int_equal(ma_outfile_open(&o, "/dev/null", err, sizeof err), 0);
	assert_int_equal(write(o.fd, "x", 1), 1);
	assert_int_equal(ma_outfile_commit(&o), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_at_publish),
		cmocka_unit_test(test_abandon_keeps_old),
		cmocka_unit_test(test_links_refused),
		cmocka_unit_test(test_device_direct),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
