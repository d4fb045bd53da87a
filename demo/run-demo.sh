#!/bin/bash
# run-demo.sh — the quick start's main job, end to end: build memattach,
# start the demo service, attach to it for a few seconds with --pid, print
# the report, and leave the service running as it was until we stop it.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ ! -x ./memattach ] || [ ! -x demo/demo_service ]; then
	{ [ -x configure ] || ./autogen.sh; } >/dev/null
	[ -f Makefile ] || ./configure -q
	make -j2 >/dev/null
fi
demo/demo_service 2000 > /tmp/memattach-demo.out &
svc=$!
trap 'kill $svc 2>/dev/null' EXIT
sleep 1
echo "== demo_service is running as pid $svc; attaching for 3 seconds"
./memattach --pid "$svc" --duration 3 -o demo.memcap
echo "== the service still runs: $(ps -o pid=,stat=,comm= -p "$svc")"
echo "== memattach report summary --max 5 demo.memcap"
./memattach report summary --max 5 demo.memcap
echo "== memattach report tree demo.memcap"
./memattach report tree demo.memcap
./memattach report flamegraph demo.memcap -o demo.html
echo "== the flame graph page: $(pwd)/demo.html (memattach report stats demo.memcap for the totals)"
