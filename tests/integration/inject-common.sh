# inject-common.sh — sourced by the tests of targets that cannot give the
# attach what it needs (inject-limits.sh, inject-pids-max.sh): the refusal
# they all expect.  Sources attach-common.sh; the caller defines fail().
. "$(dirname "$0")/attach-common.sh"

# refused PID WHAT — memattach --pid PID exits 22 saying WHAT (a grep
# pattern), in one line, and PID's maps are unchanged.
refused() {
	cp "/proc/$1/maps" "$ma_tmp/maps0" || fail
	timeout 60 "$MEMATTACH" --pid "$1" --duration 1 -o "$ma_tmp/r.cap" >/dev/null 2>"$ma_tmp/merr" </dev/null
	rc=$?
	cp "/proc/$1/maps" "$ma_tmp/maps1" || fail
	ma_show "memattach stderr" "$ma_tmp/merr"
	[ "$rc" = 22 ] || { echo "FAIL: memattach exited $rc (want 22)"; return 1; }
	[ "$(wc -l <"$ma_tmp/merr")" = 1 ] || { echo "FAIL: the message is not one line"; return 1; }
	grep -q "^memattach: process $1 $2.*; nothing was loaded and it runs on; raise its limit" "$ma_tmp/merr" ||
		{ echo "FAIL: the message does not say: $2"; return 1; }
	if ! cmp -s "$ma_tmp/maps0" "$ma_tmp/maps1"; then
		echo "FAIL: the target's maps changed:"
		diff "$ma_tmp/maps0" "$ma_tmp/maps1" | head -n 20
		return 1
	fi
	[ -e "$ma_tmp/r.cap" ] && { echo "FAIL: a capture was left"; return 1; }
	kill -0 "$1" || { echo "FAIL: the target is gone"; return 1; }
	echo "--- refused, maps unchanged ($(wc -l <"$ma_tmp/maps1") mappings)"
}
