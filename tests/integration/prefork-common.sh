# prefork-common.sh — sourced by the forking-server tests: tests/targets/prefork
# writes each process's truth to DIR/truth.<pid>; every process must have
# its own capture (CAP for the first, CAP.<pid> for the others) whose
# report equals that truth exactly, with its live set under the function
# that allocated it (symbolized).  Sources attach-common.sh.
. "$(dirname "$0")/attach-common.sh"

# The function that keeps a process's live set, by its leaked bytes.
keeper_of() {
	case $1 in
	40000) echo master_keep ;;
	11110) echo worker0_keep ;;
	44440) echo worker1_keep ;;
	99990) echo worker2_keep ;;
	*) echo "(unknown: leaked $1)" ;;
	esac
}

# check_prefork DIR CAP WANT — every DIR/truth.<pid> against its capture;
# WANT: how many truth files there must be (4: master and 3 workers).
check_prefork() {
	local dir=$1 cap=$2 want=$3 n=0 bad=0 t p c
	for t in "$dir"/truth.*; do
		[ -f "$t" ] || continue
		n=$((n + 1))
		p=${t##*.}
		c=$cap.$p
		[ -f "$c" ] || c=$cap
		echo "--- pid $p: $(cat "$t")"
		echo "--- capture $c"
		report_json "$c" "$dir/report.$p" || { bad=1; continue; }
		"$PYTHON" "$ma_here/compare.py" "$t" "$dir/report.$p" || bad=1
		local leaked fn
		leaked=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["leaked_bytes"])' "$t")
		fn=$(keeper_of "$leaked")
		if ! "$MEMATTACH" report folded --leaks "$c" 2>/dev/null | grep -q ";$fn;"; then
			echo "FAIL: pid $p's live set is not under $fn in $c"
			"$MEMATTACH" report folded --leaks "$c" | head -5
			bad=1
		fi
	done
	if [ "$n" != "$want" ]; then
		echo "FAIL: $n processes wrote their truth, want $want"
		bad=1
	fi
	return "$bad"
}

# wait_truths DIR N SECONDS — until N truth files hold their line.
wait_truths() {
	local i=0
	while [ "$(cat "$1"/truth.* 2>/dev/null | grep -c '^{"total_allocations"')" -lt "$2" ]; do
		i=$((i + 1))
		[ "$i" -gt $(($3 * 20)) ] && return 1
		sleep 0.05
	done
}

# start_server DIR ARGS... — prefork --wait-signal ARGS; sets master.
start_server() {
	local dir=$1
	shift
	mkdir "$dir"
	"$TARGETS/prefork" --wait-signal --truth-dir "$dir" "$@" >"$dir/out" 2>"$dir/terr" </dev/null &
	tpid=$!
	ma_wait_for "$dir/out" '^ready ' 30 || { echo "FAIL: prefork did not get ready"; return 1; }
	master=$(sed -n 's/^ready //p' "$dir/out")
}

# capture DIR WANT_LINE MEMATTACH_ARGS... — memattach in the background
# until WANT_LINE, the workload, Ctrl-C, the end of the server; then every
# capture against its truth.
capture() {
	local dir=$1 want=$2 i=0
	shift 2
	echo "=== memattach $*"
	"$MEMATTACH" "$@" >"$dir/mout" 2>"$dir/err" </dev/null &
	mpid=$!
	while ! grep -q "$want" "$dir/err"; do
		i=$((i + 1))
		if ! kill -0 "$mpid" 2>/dev/null || [ "$i" -gt 600 ]; then
			ma_show "memattach stderr" "$dir/err"
			kill -9 "$mpid" "$tpid" 2>/dev/null
			echo "FAIL: memattach never said '$want'"
			return 1
		fi
		sleep 0.05
	done
	kill -USR1 "$master"
	wait_truths "$dir" 4 120 || { echo "FAIL: the workload did not finish"; kill -9 "$mpid" "$tpid"; return 1; }
	kill -INT "$mpid"
	wait_gone "$mpid" 60 || { echo "FAIL: memattach did not end after SIGINT"; return 1; }
	local rc=$wrc
	kill -USR1 "$master"
	wait_gone "$tpid" 60 || { echo "FAIL: prefork did not exit"; return 1; }
	ma_show "memattach stderr" "$dir/err"
	[ "$wrc" = 0 ] || { echo "FAIL: prefork exited $wrc after the capture"; return 1; }
	[ "$rc" = 0 ] || { echo "FAIL: memattach exited $rc after SIGINT (want 0)"; return 1; }
	check_prefork "$dir" "$dir/cap" 4 || return 1
	local t
	for t in "$dir"/truth.*; do
		grep -q "^memattach: pid ${t##*.} (prefork): tracked heap .*, RSS .* written to $dir/cap" "$dir/err" ||
			{ echo "FAIL: no summary line for pid ${t##*.}"; return 1; }
	done
}
