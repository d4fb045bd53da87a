#!/bin/sh
# memattach.Tracker in-process: the issue's snippets as written (a list
# comprehension's capture names its line; assert_max_memory around a 50 MB
# bytearray fails at 10 and passes at 100), stats() while tracking and
# after (equal to `report stats --json`), refusals, start() returning with
# libc's symbols opened (warm_checks.py); every CPython present.
. "$(dirname "$0")/common.sh"
fail=0 n=0
for py in $(pa_pythons); do
	n=$((n + 1))
	d=$pa_tmp/$n
	mkdir -p "$d"
	echo "=== $py"
	cp "$pa_here/snippet_profile.py" "$pa_here/snippet_assert.py" "$d/"
	if ! (cd "$d" && timeout 60 "$py" snippet_profile.py); then
		echo "FAIL: snippet_profile.py exited nonzero"
		fail=1
		continue
	fi
	# the top location by own bytes is the comprehension's line
	"$MEMATTACH" report summary --max 1 "$d/memory_profile.bin" >"$d/summary" || fail=1
	top=$(awk '/location$/ { getline; print $NF; exit }' "$d/summary")
	top=${top##*/}
	if [ "$top" != "snippet_profile.py:4" ]; then
		sed 's/^/    /' "$d/summary"
		echo "FAIL: the top location is '$top', not snippet_profile.py:4"
		fail=1
	else
		echo "ok: report summary names snippet_profile.py:4"
	fi
	for limit in 10 100; do
		out=$(cd "$d" && rm -f memory_test.bin && timeout 60 "$py" snippet_assert.py $limit)
		case $limit:$out in
		10:"AssertionError: Memory usage (4"[78].*"MB) exceeded limit (10MB)") echo "ok: limit 10: $out" ;;
		100:PASSED) echo "ok: limit 100 passes" ;;
		*) echo "FAIL: limit $limit: '$out'"; fail=1 ;;
		esac
	done
	timeout 120 "$py" "$pa_here/tracker_checks.py" "$d" || fail=1
	timeout 60 "$py" "$pa_here/warm_checks.py" "$d" || fail=1
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13"
	exit 77
fi
exit $fail
