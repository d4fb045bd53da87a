# fanout-common.sh — sourced by the tests that capture tests/targets/fanout's
# processes at once (many-procs.sh, many-procs-exit.sh), after attach-common.sh.

# fanout_exact DIR N [keep]: every process that wrote DIR/truth.PID has a
# summary line in DIR/err and a capture (DIR/cap.PID, the first process's
# DIR/cap) equal to its truth; with "keep", its live set is under
# keep_mine.  Also: no capture incomplete, N processes in all.  Prints a
# FAIL line per fault; returns 1 on any.
fanout_exact() {
	local d=$1 want=$2 keep=${3:-} bad=0 n=0 inexact=0 inc t p c
	inc=$(grep -c '(incomplete)' "$d/err")
	[ "$inc" = 0 ] || { echo "FAIL: $inc of $want captures incomplete"; bad=1; }
	for t in "$d"/truth.*; do
		n=$((n + 1))
		p=${t##*.}
		c=$d/cap.$p
		[ -f "$c" ] || c=$d/cap
		grep -q "^memattach: pid $p (fanout): tracked heap .* written to $c\$" "$d/err" ||
			{ echo "FAIL: no summary line for pid $p"; bad=1; }
		report_json "$c" "$d/report.$p" || { bad=1; continue; }
		if ! "$PYTHON" "$ma_here/compare.py" "$t" "$d/report.$p" >"$d/cmp.$p"; then
			echo "--- pid $p: $(cat "$t")"
			cat "$d/cmp.$p"
			inexact=$((inexact + 1))
		fi
		[ -z "$keep" ] || "$MEMATTACH" report folded --leaks "$c" 2>/dev/null | grep -q ';keep_mine;' ||
			{ echo "FAIL: the live set of $c is not under keep_mine"; bad=1; }
	done
	[ "$inexact" = 0 ] || { echo "FAIL: $inexact of $want captures differ from their truth"; bad=1; }
	[ "$n" = "$want" ] || { echo "FAIL: $n processes wrote their truth, want $want"; bad=1; }
	return "$bad"
}
