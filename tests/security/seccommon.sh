# seccommon.sh — sourced by the security tests: root only; a throwaway
# unprivileged user (unique name, removed at exit) and a work directory it
# can reach, with a private sticky TMPDIR for the memattach under test.
. "$(dirname "$0")/../integration/common.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (to attack root's memattach as another user)"
	exit 77
fi
for t in setpriv useradd userdel timeout; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not found"; exit 77; }
done

sec_user=ma-sec-$$
sec_work=$(mktemp -d /tmp/ma-sec.XXXXXX)
sec_pids=
sec_cleanup() {
	for p in $sec_pids; do kill -9 "$p" 2>/dev/null; done
	userdel "$sec_user" 2>/dev/null
	rm -rf "$sec_work" "$ma_tmp"
}
trap sec_cleanup EXIT
useradd -M -s /usr/sbin/nologin "$sec_user" || { echo "FAIL: useradd $sec_user failed"; exit 1; }
sec_uid=$(id -u "$sec_user")
sec_gid=$(id -g "$sec_user")
chmod 0711 "$sec_work"
# memattach's TMPDIR: sticky and world-writable, as /tmp is
mkdir -m 1777 "$sec_work/tmp"

# $as_user CMD ARGS... — runs CMD as the test's user (a command prefix,
# not a function, so that CMD & gives CMD's own pid in $!).
as_user="setpriv --reuid=$sec_uid --regid=$sec_gid --clear-groups"

# sec_start_sleeper — a process of the test's user, its pid in $tpid, once
# it sleeps in sleep(1)'s own syscall (clock_nanosleep or nanosleep): a
# shell's "up" before its exec came too early, an attach then met the
# process between images, without glibc (exit 7).
sec_start_sleeper() {
	$as_user sh -c 'exec sleep 100000' </dev/null >/dev/null 2>&1 &
	tpid=$!
	local i=0
	while ! grep -q '^\(230\|35\) ' "/proc/$tpid/syscall" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt 400 ] && { echo "FAIL: the target did not start sleeping"; exit 1; }
		sleep 0.05
	done
}
