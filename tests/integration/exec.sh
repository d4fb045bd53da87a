#!/bin/sh
# exec.sh — `run` follows the command through exec (a pyenv shim, `env`,
# a wrapper script ending in `exec`): the capture is of the last program,
# with exact totals; a child the wrapper starts first (other pid, same
# environment) stays inert and does not connect.
. "$(dirname "$0")/common.sh"
fails=0
MA_WRAP=env check_run 0 single || fails=$((fails + 1))
# two execs, and a child process before the last
printf '#!/bin/sh\nls / > /dev/null\nexec "$@"\n' > "$ma_tmp/wrap.sh"
chmod +x "$ma_tmp/wrap.sh"
MA_WRAP="env $ma_tmp/wrap.sh" check_run 0 single || fails=$((fails + 1))
if grep -q refused "$ma_tmp/err"; then
	echo "FAIL: a child of the wrapper connected"
	fails=$((fails + 1))
fi
[ "$fails" = 0 ]
