# inject-common.sh — sourced by the tests of targets that cannot give the
# attach what it needs (inject-limits.sh, inject-pids-max.sh,
# agent-start-oom.sh): the refusals they expect.  Sources attach-common.sh; the caller defines fail().
. "$(dirname "$0")/attach-common.sh"

# attach_refused PID RC WHAT — memattach --pid PID exits RC with one line
# matching WHAT (a grep pattern), leaves no capture, and PID lives on; its
# maps before and after in $ma_tmp/maps0 and maps1.
attach_refused() {
	cp "/proc/$1/maps" "$ma_tmp/maps0" || fail
	timeout 60 "$MEMATTACH" --pid "$1" --duration 1 -o "$ma_tmp/r.cap" >/dev/null 2>"$ma_tmp/merr" </dev/null
	rc=$?
	cp "/proc/$1/maps" "$ma_tmp/maps1" || fail
	ma_show "memattach stderr" "$ma_tmp/merr"
	[ "$rc" = "$2" ] || { echo "FAIL: memattach exited $rc (want $2)"; return 1; }
	[ "$(wc -l <"$ma_tmp/merr")" = 1 ] || { echo "FAIL: the message is not one line"; return 1; }
	grep -q "$3" "$ma_tmp/merr" || { echo "FAIL: the message does not say: $3"; return 1; }
	[ -e "$ma_tmp/r.cap" ] && { echo "FAIL: a capture was left"; return 1; }
	kill -0 "$1" || { echo "FAIL: the target is gone"; return 1; }
}

# refused PID WHAT — the injector's refusal: exit 22 saying WHAT, in one
# line, and PID's maps unchanged.
refused() {
	attach_refused "$1" 22 "^memattach: process $1 $2.*; nothing was loaded and it runs on; raise its limit" || return 1
	if ! cmp -s "$ma_tmp/maps0" "$ma_tmp/maps1"; then
		echo "FAIL: the target's maps changed:"
		diff "$ma_tmp/maps0" "$ma_tmp/maps1" | head -n 20
		return 1
	fi
	echo "--- refused, maps unchanged ($(wc -l <"$ma_tmp/maps1") mappings)"
}
