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
