# ns-common.sh — sourced by the container tests (ns-*.sh): a root holding
# only tests/targets/nsleak and its libraries (from ldd), the target
# started in namespaces by a command line, memattach --pid by its host
# pid, and the exact checks: the target's truth, the two functions that
# keep memory with their exact bytes, nothing of ours left in its root.
. "$(dirname "$0")/attach-common.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (namespaces, chroot, mounts)"
	exit 77
fi
for t in unshare chroot mount; do
	command -v "$t" >/dev/null || { echo "SKIP: $t (util-linux, coreutils) not found"; exit 77; }
done

# ns_make_root DIR [BIN] — DIR/bin/nsleak (BIN's bytes, default nsleak's)
# and every library ldd names, at the same paths; nothing else (no /tmp,
# no /proc).
ns_make_root() {
	local root=$1 lib
	mkdir -p "$root/bin" || return 1
	chmod 755 "$root"
	cp "${2:-$TARGETS/nsleak}" "$root/bin/nsleak" || return 1
	for lib in $(ldd "$TARGETS/nsleak" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib" || return 1
	done
}

# ns_new_root SUBDIR... — root=$ma_tmp/root made by ns_make_root, with
# each SUBDIR (tmp, proc) in it.
ns_new_root() {
	local d
	root=$ma_tmp/root
	ns_make_root "$root" || { echo "FAIL: cannot build the root"; return 1; }
	for d; do
		mkdir "$root/$d" || return 1
	done
}

# ns_as_user USER — $ma_tmp/ma-USER: memattach run as USER (exec: the
# same pid), from copies in $ma_tmp/ubin (with the agent where memattach
# looks beside itself, and the targets) that USER can reach wherever the
# build tree is; TMPDIR $ma_tmp/u, which USER owns.
ns_as_user() {
	local b=$ma_tmp/ubin
	chmod 755 "$ma_tmp" || return 1
	if [ ! -d "$b" ]; then
		mkdir -p "$b/agent/.libs" "$b/targets" &&
			cp "$MEMATTACH" "$b/memattach" &&
			cp "$ma_builddir/agent/.libs/$AGENT_NAME" "$b/agent/.libs/" &&
			cp "$TARGETS/nsleak" "$TARGETS/seccomp_exec" "$b/targets/" &&
			chmod -R a+rX "$b" || return 1
	fi
	[ -d "$ma_tmp/u" ] || { mkdir -m 777 "$ma_tmp/u" && chmod +t "$ma_tmp/u"; } || return 1
	printf '#!/bin/sh\nexec setpriv --reuid=%s --regid=%s --clear-groups env TMPDIR=%s "%s" "$@"\n' \
		"$(id -u "$1")" "$(id -g "$1")" "$ma_tmp/u" "$b/memattach" >"$ma_tmp/ma-$1" && chmod 755 "$ma_tmp/ma-$1"
}

# ns_child PID — the pid of PID's only child (unshare --fork's), waiting
# for it to appear.
ns_child() {
	local i=0 c
	while :; do
		c=$(cat "/proc/$1/task/$1/children" 2>/dev/null)
		c=${c%% *}
		[ -n "$c" ] && { echo "$c"; return 0; }
		i=$((i + 1))
		[ "$i" -gt 200 ] && return 1
		sleep 0.05
	done
}

# ns_start ROOT CMD... — starts CMD (which ends by exec'ing ROOT's
# /bin/nsleak --wait-signal as the child of an `unshare --fork`); sets
# upid (unshare's) and tpid (the target's host pid), output in $ma_tmp/out.
ns_start() {
	local root=$1
	shift
	: >"$ma_tmp/out"
	"$@" >"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
	upid=$!
	if ! ma_wait_for "$ma_tmp/out" '^ready ' 10; then
		ma_show "target stderr" "$ma_tmp/terr"
		echo "FAIL: the target did not start: $*"
		kill -9 "$upid" 2>/dev/null
		return 1
	fi
	tpid=$(ns_child "$upid") || { echo "FAIL: no target under unshare $upid"; return 1; }
	while [ "$(readlink "/proc/$tpid/exe")" = "$(readlink "/proc/$upid/exe")" ] ||
		! grep -q nsleak "/proc/$tpid/comm"; do
		c=$(ns_child "$tpid") && tpid=$c
		sleep 0.05
	done
	echo "--- target: host pid $tpid, $(grep NSpid "/proc/$tpid/status")"
}

# ns_attach_stopped HOOK TICKS — memattach --pid $tpid with HOOK=1 (a
# MEMATTACH_TEST_STOP_* that SIGSTOPs it at a point of the attach) in the
# background (kpid, stderr in $ma_tmp/kerr), until it is stopped there
# (TICKS times 50 ms at most).
ns_attach_stopped() {
	local i=0
	env "$1=1" "$MEMATTACH" --pid "$tpid" -o "$ma_tmp/k.cap" >/dev/null 2>"$ma_tmp/kerr" </dev/null &
	kpid=$!
	until [ "$(proc_state "$kpid")" = T ]; do
		i=$((i + 1))
		[ "$i" -gt "$2" ] && { ma_show "memattach stderr" "$ma_tmp/kerr"; echo "FAIL: memattach did not stop at $1"; return 1; }
		sleep 0.05
	done
}

# ns_stop_target — its second SIGUSR1 ends it; it must exit 0.
ns_stop_target() {
	kill -USR1 "$tpid"
	wait_gone "$upid" 30 || { echo "FAIL: the target did not exit"; return 1; }
	[ "$wrc" = 0 ] || { ma_show "target stderr" "$ma_tmp/terr"; echo "FAIL: the target exited $wrc"; return 1; }
}

# ns_host_ids — the target's ids inside its namespace ("ids PID TID") and
# here (the thread whose last NSpid is TID): nspid, nstid, htid.
ns_host_ids() {
	local st
	nspid=$(sed -n 's/^ids \([0-9]*\) [0-9]*$/\1/p' "$ma_tmp/out")
	nstid=$(sed -n 's/^ids [0-9]* \([0-9]*\)$/\1/p' "$ma_tmp/out")
	htid=
	for st in /proc/"$tpid"/task/*/status; do
		[ "$(sed -n 's/^NSpid:.*[[:space:]]\([0-9]*\)$/\1/p' "$st")" = "$nstid" ] &&
			htid=$(sed -n 's/^Pid:[[:space:]]*//p' "$st")
	done
	[ -n "$nspid" ] && [ -n "$htid" ] || { echo "FAIL: no ids of the target ($nspid, $nstid, $htid)"; return 1; }
	echo "--- ids: pid $tpid ($nspid in its namespace), thread $htid ($nstid in its namespace)"
}

# ns_check_ids CAP — the reports give both: pid (and the second thread's
# tid) as memattach sees them, and as the target does when they differ.
ns_check_ids() {
	"$PYTHON" - "$ma_tmp/s.json" "$tpid" "$nspid" "$htid" "$nstid" <<'PY' || return 1
import json, sys
s = json.load(open(sys.argv[1]))
pid, nspid, htid, nstid = map(int, sys.argv[2:])
want = {"pid": pid}
if nspid != pid:
    want["pid_in_namespace"] = nspid
got = {k: s.get(k) for k in want}
th = [t for t in s["threads"] if t.get("tid_in_namespace", t["tid"]) == nstid]
if got != want or len(th) != 1 or th[0]["tid"] != htid:
    print(f"FAIL: ids {got}, want {want}; threads {s['threads']}, want tid {htid} ({nstid} inside)")
    sys.exit(1)
PY
	if [ "$nspid" != "$tpid" ]; then
		"$MEMATTACH" report stats "$1" 2>&1 | grep -q "^  pid $tpid ($nspid in its namespace)" ||
			{ echo "FAIL: report stats does not say: pid $tpid ($nspid in its namespace)"; "$MEMATTACH" report stats "$1" | head -n 3; return 1; }
	fi
	echo "--- reports: pid $tpid ($nspid in its namespace), thread $htid ($nstid)"
}

# ns_capture ROOT CAP — attach, run the workload, detach; then the exact
# checks of the capture.
ns_capture() {
	local root=$1 cap=$2 left
	attach_bg "$tpid" "$cap" || return 1
	ma_show "memattach stderr" "$ma_tmp/merr"
	# What the target loaded is in its root; nothing of ours stays there.
	grep "$AGENT_NAME" "/proc/$tpid/maps" | head -n 1 | sed 's/^/--- agent mapped: /'
	# loaded once, however many attaches
	[ "$(grep -c " 00000000 .*[/:]$AGENT_NAME" "/proc/$tpid/maps")" = 1 ] ||
		{ echo "FAIL: the agent is mapped more than once"; grep "$AGENT_NAME" "/proc/$tpid/maps"; return 1; }
	left=$(find "$root" -name 'memattach-c[0-9]*' 2>/dev/null)
	[ -z "$left" ] || { echo "FAIL: left in the target's root while attached: $left"; return 1; }
	kill -USR1 "$tpid"
	ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || { echo "FAIL: the workload did not finish"; return 1; }
	ns_host_ids || return 1
	stop_attach || return 1
	ns_stop_target || return 1
	ma_show "target stdout" "$ma_tmp/out"
	report_json "$cap" "$ma_tmp/s.json" || return 1
	"$PYTHON" "$ma_here/compare.py" "$ma_tmp/out" "$ma_tmp/s.json" || return 1
	ns_check_ids "$cap" || return 1
	"$MEMATTACH" report summary --json "$cap" >"$ma_tmp/sum.json" 2>"$ma_tmp/rerr" ||
		{ ma_show "report stderr" "$ma_tmp/rerr"; echo "FAIL: report summary --json"; return 1; }
	"$PYTHON" - "$ma_tmp/sum.json" "${ns_prefix:-ns}" <<'PY' || return 1
import json, sys
top = json.load(open(sys.argv[1]))["top"]
p = sys.argv[2]
got = {t["function"]: (t["own_bytes"], t["own_count"]) for t in top}
want = {p + "_keep_big": (280000, 7), p + "_keep_small": (16650, 50)}
if got != want:
    print(f"FAIL: own bytes, blocks by function {got}, want {want}")
    sys.exit(1)
print(f"--- names: {p}_keep_big 280,000 B in 7 blocks, {p}_keep_small 16,650 B in 50")
PY
}
