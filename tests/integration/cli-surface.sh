#!/bin/sh
# cli-surface.sh — one table makes every help and the man page (issue 11
# item 6): memattach.1 in the tree is what `memattach --man` prints; every
# option of `memattach --help`, `memattach run --help` and `memattach report
# --help` is in the man page and the other way round; getopt_long
# abbreviations and "--" work for --pid and run.
. "$(dirname "$0")/attach-common.sh"
bad=0
srcdir=${srcdir:-$ma_here/../..}

"$MEMATTACH" --man >"$ma_tmp/man" || { echo "FAIL: memattach --man failed"; exit 1; }
if ! diff -u "$srcdir/memattach.1" "$ma_tmp/man"; then
	echo "FAIL: memattach.1 is not what memattach --man prints (make update-man)"
	bad=1
fi

# opts FILE — the long options named in FILE, one a line, sorted.
opts() { grep -o -- '--[a-z][a-z-]*' "$1" | sort -u; }
# man_section NAME — the man page's options of one command section.
man_section() {
	# the title through the environment: awk -v would read its backslashes
	S=$1 awk '/^\.SS /{ on = index($0, ENVIRON["S"]) > 0; next } /^\.SH /{ on = 0 } on' "$ma_tmp/man" |
		sed 's/\\-/-/g' >"$ma_tmp/sec"
	grep -A1 '^\.TP' "$ma_tmp/sec" | grep '^\.B' | grep -o -- '--[a-z][a-z-]*' | sort -u
}

"$MEMATTACH" --help >"$ma_tmp/h.attach" || { echo "FAIL: memattach --help exited $?"; bad=1; }
"$MEMATTACH" run --help >"$ma_tmp/h.run" || { echo "FAIL: memattach run --help exited $?"; bad=1; }
"$MEMATTACH" report --help >"$ma_tmp/h.report" || { echo "FAIL: memattach report --help exited $?"; bad=1; }
"$MEMATTACH" symbolize --help >"$ma_tmp/h.symbolize" || { echo "FAIL: memattach symbolize --help exited $?"; bad=1; }
for cmd in attach run report symbolize; do
	case $cmd in
	attach) sec='memattach \-\-pid' ;;
	*) sec="memattach $cmd" ;;
	esac
	# the help's option list (after "options:"), against the man page's
	sed -n '/^options:/,$p' "$ma_tmp/h.$cmd" >"$ma_tmp/hopts"
	opts "$ma_tmp/hopts" >"$ma_tmp/o.help"
	man_section "$sec" >"$ma_tmp/o.man"
	echo "--- $cmd: $(tr '\n' ' ' <"$ma_tmp/o.help")"
	if ! diff -u "$ma_tmp/o.help" "$ma_tmp/o.man"; then
		echo "FAIL: $cmd: the options of --help and of the man page differ"
		bad=1
	fi
	[ -s "$ma_tmp/o.help" ] || { echo "FAIL: $cmd: no options in its --help"; bad=1; }
done
# What memattach --help used to leave out.
for o in --dump-on-threshold --threshold-on --trace-python-allocators --native --native-depth; do
	grep -q -- "^  $o" "$ma_tmp/h.attach" || { echo "FAIL: memattach --help lacks $o"; bad=1; }
done
grep -q -- '--native-depth N .*(default 64)' "$ma_tmp/h.attach" || { echo "FAIL: --native-depth's default not in --help"; bad=1; }
grep -q 'FORMAT: stats' "$ma_tmp/h.attach" && { echo "FAIL: --help still says 'FORMAT: stats'"; bad=1; }
for f in stats summary tree folded pprof flamegraph; do
	grep -q "^  $f " "$ma_tmp/h.report" || { echo "FAIL: report --help lacks the format $f"; bad=1; }
	grep -q "^\.B $f\$" "$ma_tmp/man" || { echo "FAIL: the man page lacks the format $f"; bad=1; }
done
# Every exit code and the environment in the man page.
for code in $(sed -n 's/.*= \([0-9][0-9]*\),.*/\1/p' "$srcdir/cli/util/exit_codes.h"); do
	grep -q "^\.B $code\$" "$ma_tmp/man" || { echo "FAIL: exit code $code is not in the man page"; bad=1; }
done
for e in MEMATTACH_AGENT TMPDIR; do
	grep -q "^\.B $e\$" "$ma_tmp/man" || { echo "FAIL: $e is not in the man page"; bad=1; }
done
grep -q "format version [0-9][0-9]*\.[0-9]" "$ma_tmp/man" || { echo "FAIL: no file format version in the man page"; bad=1; }

# run: an abbreviation (--out) and "--" before CMD; the capture is exact.
"$MEMATTACH" run --quie --out "$ma_tmp/r.cap" -- "$TARGETS/single" >"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
rc=$?
ma_show "run stderr" "$ma_tmp/err"
[ "$rc" = 0 ] || { echo "FAIL: memattach run --quie --out ... -- single exited $rc"; bad=1; }
[ -s "$ma_tmp/err" ] && { echo "FAIL: --quie (--quiet) did not silence run"; bad=1; }
report_json "$ma_tmp/r.cap" "$ma_tmp/r.json" && "$PYTHON" "$ma_here/compare.py" "$ma_tmp/out" "$ma_tmp/r.json" || bad=1

# --pid: abbreviations (--pi, --dur, --outp) and --opt=value.
sleep 30 </dev/null >/dev/null 2>&1 &
spid=$!
wait_in_syscall "$spid" "230|35" 30 || exit 1
timeout 60 "$MEMATTACH" --pi="$spid" --dur 0.5s --outp "$ma_tmp/p.cap" >/dev/null 2>"$ma_tmp/perr" </dev/null
rc=$?
kill "$spid" 2>/dev/null
ma_show "attach stderr" "$ma_tmp/perr"
[ "$rc" = 0 ] || { echo "FAIL: memattach --pi=PID --dur 0.5s --outp FILE exited $rc"; bad=1; }
grep -q "tracking pid $spid (sleep) for 0.5s, writing $ma_tmp/p.cap" "$ma_tmp/perr" ||
	{ echo "FAIL: the abbreviated options were not taken as --pid, --duration, --output"; bad=1; }
# An ambiguous abbreviation is refused, with the reason.
"$MEMATTACH" --pid "$spid" --nat 3 >/dev/null 2>"$ma_tmp/aerr"
rc=$?
[ "$rc" = 2 ] && grep -q "^memattach: ambiguous option '--nat'" "$ma_tmp/aerr" ||
	{ echo "FAIL: --nat (--native or --native-depth) exited $rc: $(cat "$ma_tmp/aerr")"; bad=1; }
exit "$bad"
