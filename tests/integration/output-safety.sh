#!/bin/sh
# output-safety.sh — output files (issue 12 items 5-7).  With
# fs.protected_symlinks=0 (set here, restored on any exit) another user,
# created here, plants symbolic links to a root-only canary at the -o of a
# capture, at the predictable default capture name and at a report's -o:
# the canary stays as it was and memattach refuses in one clear line.
# Captures and reports are created 0600 whatever the umask.  An existing
# -o file survives a refused attach and a command that cannot start, byte
# for byte; `report summary X -o X` (also through a hard link) is refused
# with exit 18 and X is intact.
. "$(dirname "$0")/attach-common.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (creates a user, sets fs.protected_symlinks)"; exit 77; }
command -v useradd >/dev/null && command -v runuser >/dev/null ||
	{ echo "SKIP: useradd and runuser are needed"; exit 77; }

user=maout$$
old_ps=$(cat /proc/sys/fs/protected_symlinks)
pids=""
restore() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	echo "$old_ps" >/proc/sys/fs/protected_symlinks
	userdel "$user" 2>/dev/null
	rm -rf "$ma_tmp"
}
trap restore EXIT
trap 'exit 1' INT TERM HUP
useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$user" || { echo "FAIL: useradd $user"; exit 1; }
echo 0 >/proc/sys/fs/protected_symlinks || { echo "FAIL: cannot set fs.protected_symlinks"; exit 1; }
bad=0

# A shared sticky directory like /tmp, and a root-only canary elsewhere.
chmod 0711 "$ma_tmp"
shared=$ma_tmp/shared
mkdir -m 1777 "$shared"
mkdir -m 0700 "$ma_tmp/secret"
canary=$ma_tmp/secret/canary
printf 'root-only canary\n' >"$canary"
chmod 0600 "$canary"
cp "$canary" "$ma_tmp/canary.orig"
plant() { runuser -u "$user" -- ln -s "$1" "$shared/$2" || { echo "FAIL: $user cannot plant $2"; exit 1; }; }

# The attack is real here: root writing through a planted link reaches
# the canary's twin (else this test would prove nothing).
printf 'probe\n' >"$ma_tmp/secret/probe"
plant "$ma_tmp/secret/probe" probe
printf 'overwritten\n' >"$shared/probe"
grep -q overwritten "$ma_tmp/secret/probe" ||
	{ echo "FAIL: root does not follow a planted link here: the test proves nothing"; exit 1; }

# expect_refused NAME CODE — memattach exited CODE with one line naming the
# link, and the canary is unchanged.
expect_refused() {
	echo "--- $1: exit $rc: $(head -n 3 "$ma_tmp/err")"
	if ! cmp -s "$canary" "$ma_tmp/canary.orig"; then
		echo "FAIL: $1: the root-only canary was overwritten through the planted link"
		bad=1
	fi
	if [ "$rc" != "$2" ]; then
		echo "FAIL: $1: exit $rc, want $2"
		bad=1
	elif [ "$(wc -l <"$ma_tmp/err")" != 1 ] || ! grep -q "symbolic link" "$ma_tmp/err"; then
		echo "FAIL: $1: want one line saying the output is a symbolic link"
		bad=1
	fi
}

# 1. memattach run -o a planted link.
plant "$canary" run.memcap
timeout 60 "$MEMATTACH" run -q -o "$shared/run.memcap" -- "$TARGETS/single" >/dev/null 2>"$ma_tmp/err" </dev/null
rc=$?
expect_refused "run -o link" 4

# 2. --pid with the default name memattach-<comm>-<pid>-<time>.memcap,
# planted for every second of the next two minutes.
sleep 120 </dev/null >/dev/null 2>&1 &
spid=$!
pids="$pids $spid"
wait_in_syscall "$spid" "230|35" 30 || exit 1
t=$(date +%s)
i=0
while [ "$i" -lt 120 ]; do
	plant "$canary" "memattach-sleep-$spid-$(date -d "@$((t + i))" +%Y%m%dT%H%M%S).memcap"
	i=$((i + 1))
done
(cd "$shared" && timeout 60 "$MEMATTACH" --pid "$spid" --duration 1s -q) >/dev/null 2>"$ma_tmp/err" </dev/null
rc=$?
expect_refused "--pid, default name" 4
untouched() { agent_mapped "$spid" && { echo "FAIL: the refused attach loaded the agent"; bad=1; }; }
untouched

# 3. report flamegraph -o a planted link.
"$ma_builddir/tests/unit/mkhostile" "$ma_tmp/x.cap" || { echo "FAIL: mkhostile"; exit 1; }
plant "$canary" fg.html
"$MEMATTACH" report flamegraph "$ma_tmp/x.cap" -o "$shared/fg.html" >/dev/null 2>"$ma_tmp/err"
rc=$?
expect_refused "report flamegraph -o link" 4
ls -A "$shared" | grep '\.part$' && { echo "FAIL: refused outputs left files beside"; bad=1; }

# 4. Modes: 0600 whatever the umask.
(umask 022 && timeout 60 "$MEMATTACH" run -q -o "$shared/ok.memcap" -- "$TARGETS/single" >/dev/null 2>"$ma_tmp/err" </dev/null) ||
	{ ma_show "run stderr" "$ma_tmp/err"; echo "FAIL: run -o ok.memcap"; bad=1; }
(umask 022 && "$MEMATTACH" report summary "$shared/ok.memcap" -o "$shared/ok.txt" 2>"$ma_tmp/err") ||
	{ ma_show "report stderr" "$ma_tmp/err"; echo "FAIL: report summary -o ok.txt"; bad=1; }
for f in ok.memcap ok.txt; do
	m=$(stat -c '%a %U' "$shared/$f" 2>/dev/null)
	echo "--- $f: mode and owner $m"
	[ "$m" = "600 root" ] || { echo "FAIL: $f is '$m', want '600 root'"; bad=1; }
done
grep -q '^Memory live at the peak: ' "$shared/ok.txt" || { echo "FAIL: ok.txt is not a summary"; bad=1; }

# 5. An existing -o file survives a refused attach (injected, then the
# agent refuses: busy) and a run whose command cannot start.
head -c 5000 /dev/urandom >"$ma_tmp/precious.orig"
cp "$ma_tmp/precious.orig" "$ma_tmp/precious"
attach_bg "$spid" "$ma_tmp/first.cap" || exit 1
timeout 60 "$MEMATTACH" --pid "$spid" -o "$ma_tmp/precious" >/dev/null 2>"$ma_tmp/err" </dev/null
rc=$?
echo "--- a second attach to a tracked process: exit $rc: $(head -n 1 "$ma_tmp/err")"
[ "$rc" = 12 ] || { echo "FAIL: the second attach exited $rc, want 12"; bad=1; }
cmp -s "$ma_tmp/precious" "$ma_tmp/precious.orig" ||
	{ echo "FAIL: the refused attach destroyed the existing -o file"; bad=1; }
stop_attach || bad=1
timeout 60 "$MEMATTACH" run -q -o "$ma_tmp/precious" -- "$ma_tmp/no-such-program" >/dev/null 2>"$ma_tmp/err" </dev/null
rc=$?
echo "--- run of a missing program: exit $rc: $(head -n 1 "$ma_tmp/err")"
cmp -s "$ma_tmp/precious" "$ma_tmp/precious.orig" ||
	{ echo "FAIL: a run that could not start destroyed the existing -o file"; bad=1; }
ls -A "$ma_tmp" | grep '\.part$' && { echo "FAIL: failed captures left files beside"; bad=1; }

# 6. report X -o X, by the same path, another path and a hard link.
cp "$shared/ok.memcap" "$ma_tmp/same.orig"
cp "$shared/ok.memcap" "$ma_tmp/same.cap"
ln "$ma_tmp/same.cap" "$ma_tmp/same-link.cap"
for o in "$ma_tmp/same.cap" "$ma_tmp/../$(basename "$ma_tmp")/same.cap" "$ma_tmp/same-link.cap"; do
	"$MEMATTACH" report summary "$ma_tmp/same.cap" -o "$o" >/dev/null 2>"$ma_tmp/err"
	rc=$?
	echo "--- report summary X -o $o: exit $rc: $(head -n 1 "$ma_tmp/err")"
	[ "$rc" = 18 ] || { echo "FAIL: exit $rc, want 18"; bad=1; }
	grep -q '^memattach report: .*is the capture being read' "$ma_tmp/err" ||
		{ echo "FAIL: no clear message"; bad=1; }
	cmp -s "$ma_tmp/same.cap" "$ma_tmp/same.orig" || { echo "FAIL: the capture was changed"; bad=1; }
done
exit $bad
