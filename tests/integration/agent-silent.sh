#!/bin/sh
# agent-silent.sh — the agent never writes to the target's file
# descriptors: its warnings travel in the stream (Warning records).  A
# cheap static check of what would break that promise:
#   - the built library imports no stdio output function and no stream
#     (printf & co, perror, puts, stderr, err/warn, syslog ...);
#   - the agent's sources name no standard descriptor (write(2, ...),
#     STDERR_FILENO, stderr).
# (python-unsupported.sh checks the warning path itself, end to end.)
. "$(dirname "$0")/common.sh"
src=$(cd "$ma_here/../.." && pwd)
lib=$ma_builddir/agent/.libs/libmemattach-agent.so
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
if ! command -v nm >/dev/null; then
	echo "SKIP: nm (binutils) is needed"
	exit 77
fi
fail=0
nm -D --undefined-only "$lib" | awk '{ sub(/@.*/, "", $NF); print $NF }' >"$ma_tmp/imports"
[ -s "$ma_tmp/imports" ] || { echo "FAIL: nm listed no import of $lib"; exit 1; }
bad='^(_IO_putc|__assert_fail|__(v?f?|v?d)printf_chk|v?f?printf|v?dprintf|perror|puts|fputs|fputc|putc|putchar|fwrite|stdout|stderr|psignal|psiginfo|v?errx?|v?warnx?|error|error_at_line|v?syslog|__syslog_chk)$'
if grep -E "$bad" "$ma_tmp/imports" >"$ma_tmp/bad"; then
	echo "FAIL: the agent imports output functions: $(tr '\n' ' ' <"$ma_tmp/bad")"
	fail=1
fi
# write(fd, ...) with a literal standard descriptor, or the names of one.
if grep -nE '\b(write|dprintf|send)\s*\(\s*[012]\s*,|STD(IN|OUT|ERR)_FILENO|\bstd(out|err)\s*[,);]' \
	"$src"/agent/*.c "$src"/agent/*.h "$src"/agent/python/py_*.c "$src"/agent/python/*.h >"$ma_tmp/src"; then
	ma_show "agent sources naming a standard descriptor" "$ma_tmp/src"
	echo "FAIL: the agent's sources write to a standard descriptor"
	fail=1
fi
[ $fail = 0 ] && echo "the agent imports $(wc -l <"$ma_tmp/imports") symbols, none of them an output function"
exit $fail
