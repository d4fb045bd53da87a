#!/bin/sh
# ns-follow-exec.sh — memattach --pid P --follow-fork on a forking server
# in a container (its own mount, pid and network namespaces, chrooted
# into a root that holds only tests/targets/prefork and its libraries):
# worker 2 execs (prefork --exec-worker), with the process's environment
# (execv; the server attached once before, so the agent it maps was
# loaded from a copy since removed), then with one of its own
# (--exec-env execve).  The exec'd program loads the agent copy memattach
# keeps in the container's root for the session and is captured exactly (CAP.<host pid>: its own truth,
# nothing of before the exec), as are the master and the other workers;
# nothing of ours is left in the root afterwards.
. "$(dirname "$0")/ns-common.sh"
ns_tmp=$ma_tmp
. "$(dirname "$0")/prefork-common.sh"
rmdir "$ns_tmp"
fail() { kill -9 "${tpid:-}" "${upid:-}" "${mpid:-}" 2>/dev/null; exit 1; }

# fe_root DIR — DIR/bin/prefork and the libraries ldd names; /truth
# writable by the target.
fe_root() {
	local lib
	mkdir -p "$1/bin" "$1/truth" && chmod 755 "$1" && chmod 777 "$1/truth" &&
		cp "$TARGETS/prefork" "$1/bin/prefork" || return 1
	for lib in $(ldd "$TARGETS/prefork" | grep -o '/[^ ]*'); do
		mkdir -p "$1$(dirname "$lib")" && cp -L "$lib" "$1$lib" || return 1
	done
}

# host_truths DIR — truth.<pid in the namespace> renamed truth.<host pid>
# (the captures are named by host pids), while the processes still run.
host_truths() {
	local ns p t h
	ns=$(readlink "/proc/$tpid/ns/pid")
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] || continue
		h=${p#/proc/}
		t=$(sed -n 's/^NSpid:.*[[:space:]]\([0-9]*\)$/\1/p' "$p/status" 2>/dev/null)
		[ -n "$t" ] && [ -f "$1/truth.$t" ] && [ ! -f "$1/truth.$h.host" ] && mv "$1/truth.$t" "$1/truth.$h.host"
	done
	for t in "$1"/truth.*.host; do
		mv "$t" "${t%.host}"
	done
}

bad=0
for how in ${FE_HOW:-execv execve}; do
	set -- --exec-worker
	[ "$how" = execv ] || set -- --exec-env "$how"
	d=$ma_tmp/$how
	root=$d/root
	fe_root "$root" || { echo "FAIL: cannot build the root"; exit 1; }
	echo "=== unshare --mount --pid --net --fork chroot ROOT /bin/prefork --wait-signal $*; memattach --pid --follow-fork"
	unshare --mount --pid --net --fork chroot "$root" /bin/prefork --wait-signal "$@" --truth-dir /truth \
		>"$d/out" 2>"$d/terr" </dev/null &
	upid=$!
	ma_wait_for "$d/out" '^ready ' 30 || { ma_show "target stderr" "$d/terr"; echo "FAIL: prefork did not start"; fail; }
	tpid=$(ns_child "$upid") || fail
	while ! grep -q prefork "/proc/$tpid/comm"; do
		c=$(ns_child "$tpid") && tpid=$c
		sleep 0.05
	done
	if [ "$how" = execv ]; then
		# attached before: the agent it maps was loaded from a copy since
		# removed, which no exec could preload
		timeout 120 "$MEMATTACH" --pid "$tpid" --duration 1 -o "$d/first.cap" >/dev/null 2>"$d/err0" </dev/null ||
			{ ma_show "memattach stderr" "$d/err0"; echo "FAIL: the first attach"; fail; }
		left=$(find "$root" -name 'memattach-*')
		[ -z "$left" ] || { echo "FAIL: left in the container's root after the first attach: $left"; fail; }
		echo "--- attached once before: $(grep -o " [^ ]*$AGENT_NAME" "/proc/$tpid/maps" | head -n 1) (deleted)"
	fi
	"$MEMATTACH" --pid "$tpid" --follow-fork -o "$d/cap" >"$d/mout" 2>"$d/err" </dev/null &
	mpid=$!
	ma_wait_for "$d/err" 'tracking 1 process' 60 || { ma_show "memattach stderr" "$d/err"; echo "FAIL: memattach did not attach"; fail; }
	kill -USR1 "$tpid"
	wait_truths "$root/truth" 4 120 || { ma_show "target stderr" "$d/terr"; echo "FAIL: the workload did not finish"; fail; }
	host_truths "$root/truth"
	kill -INT "$mpid"
	wait_gone "$mpid" 60 || { echo "FAIL: memattach did not end after SIGINT"; fail; }
	mrc=$wrc
	ma_show "memattach stderr" "$d/err"
	kill -USR1 "$tpid"
	wait_gone "$upid" 60 || { echo "FAIL: prefork did not exit"; fail; }
	ma_show "target stderr" "$d/terr"
	[ "$wrc" = 0 ] || { echo "FAIL: prefork exited $wrc"; bad=1; }
	[ "$mrc" = 0 ] || { echo "FAIL: memattach exited $mrc after SIGINT (want 0)"; bad=1; }
	check_prefork "$root/truth" "$d/cap" 4 || bad=1
	left=$(find "$root" -name 'memattach-*')
	[ -z "$left" ] || { echo "FAIL: left in the container's root: $left"; bad=1; }
done
[ "$bad" = 0 ] && echo "ns-follow-exec: the exec'd worker in a container captured exactly (execv, execve with its own environment)"
exit "$bad"
