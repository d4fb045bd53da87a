#!/bin/sh
# gunicorn-tree.sh — memattach --pid-tree on a real gunicorn (Debian's
# package): a master and 3 sync workers, all running before the attach.
# 3 requests at once, each handler keeps bytearray(N) (N distinct, from
# keep_for_request at a known line) and waits, so that each is held by a
# different worker (a sync worker serves one request at a time); each
# handler writes "pid N" first.  Each worker's capture CAP.<pid> must give
# exactly N + 1 bytes (bytearray(N) mallocs N + 1) at that line, in
# keep_for_request, and the master's capture none; a summary line per
# process.  Skipped (77) when gunicorn is not installed
# (scripts/install-deps.sh --tests installs it).
. "$(dirname "$0")/attach-common.sh"

GUNICORN=$(command -v gunicorn)
if [ -z "$GUNICORN" ]; then
	echo "SKIP: gunicorn is not installed (apt-get install gunicorn; scripts/install-deps.sh --tests)"
	exit 77
fi
g=$ma_tmp/g
mkdir "$g"
cat >"$g/app.py" <<PY
import os, time
GO, LOG = "$g/go", "$g/served"
KEPT = []

def keep_for_request(n):
    KEPT.append(bytearray(n))   # KEEP LINE

def app(environ, start_response):
    n = int(environ["PATH_INFO"].rsplit("/", 1)[1])
    keep_for_request(n)
    with open(LOG, "a") as f:
        f.write("%d %d\n" % (os.getpid(), n))
    while not os.path.exists(GO):
        time.sleep(0.02)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"kept %d\n" % n]
PY
line=$(grep -n 'KEEP LINE' "$g/app.py" | cut -d: -f1)
cat >"$g/client.py" <<'PY'
import http.client, socket, sys, threading
path = sys.argv[1]
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
def get(n):
    c = Conn("localhost", timeout=120)
    c.request("GET", "/keep/%d" % n)
    r = c.getresponse()
    print(r.status, r.read().decode().strip(), flush=True)
ts = [threading.Thread(target=get, args=(int(a),)) for a in sys.argv[2:]]
for t in ts: t.start()
for t in ts: t.join()
PY

"$GUNICORN" -w 3 --timeout 300 --chdir "$g" -b "unix:$g/sock" -p "$g/pid" app:app \
	>"$g/gout" 2>"$g/glog" </dev/null &
gpid=$!
stop_gunicorn() { kill -TERM "$gpid" 2>/dev/null; wait "$gpid" 2>/dev/null; }
i=0
while [ "$(grep -c 'Booting worker' "$g/glog" 2>/dev/null)" -lt 3 ] || [ ! -s "$g/pid" ]; do
	i=$((i + 1))
	if [ "$i" -gt 1200 ] || ! kill -0 "$gpid" 2>/dev/null; then
		ma_show "gunicorn log" "$g/glog"
		echo "FAIL: gunicorn did not start 3 workers"
		stop_gunicorn
		exit 1
	fi
	sleep 0.05
done
master=$(cat "$g/pid")
echo "=== memattach --pid-tree $master (gunicorn: $(cat "/proc/$master/task/$master/children"))"
"$MEMATTACH" --pid-tree "$master" -o "$g/cap" >"$g/mout" 2>"$g/err" </dev/null &
mpid=$!
if ! ma_wait_for "$g/err" 'tracking 4 processes' 120; then
	ma_show "memattach stderr" "$g/err"
	echo "FAIL: memattach did not attach to the 4 processes"
	kill -INT "$mpid"
	stop_gunicorn
	exit 1
fi
"$PYTHON" "$g/client.py" "$g/sock" 3000017 3100019 3200023 >"$g/cout" 2>&1 &
cpid=$!
i=0
while [ "$(cat "$g/served" 2>/dev/null | wc -l)" -lt 3 ]; do
	i=$((i + 1))
	[ "$i" -gt 2400 ] && { echo "FAIL: the 3 requests were not all taken"; break; }
	sleep 0.05
done
touch "$g/go"
wait "$cpid"
kill -INT "$mpid"
wait_gone "$mpid" 120 || echo "FAIL: memattach did not end after SIGINT"
rc=$wrc
stop_gunicorn
ma_show "requests served (pid size)" "$g/served"
ma_show "client" "$g/cout"
ma_show "memattach stderr" "$g/err"
bad=0
[ "$rc" = 0 ] || { echo "FAIL: memattach exited $rc"; bad=1; }
[ "$(cut -d' ' -f1 "$g/served" | sort -u | wc -l)" = 3 ] ||
	{ echo "FAIL: the 3 requests were not served by 3 workers"; bad=1; }
# own bytes at the KEEP line (and its function) in a capture
at_line() {
	"$MEMATTACH" report summary --total --json --max 100 "$1" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
print(sum(r["own_bytes"] for r in d["top"] if r.get("line") == int(sys.argv[1]) and r.get("function") == "keep_for_request"))' "$line"
}
while read -r pid n; do
	got=$(at_line "$g/cap.$pid")
	[ "$got" = $((n + 1)) ] ||
		{ echo "FAIL: worker $pid's capture has $got bytes at app.py:$line in keep_for_request, want $((n + 1))"; bad=1; }
	grep -q "^memattach: pid $pid (.*): tracked heap .* written to $g/cap.$pid\$" "$g/err" ||
		{ echo "FAIL: no summary line for worker $pid"; bad=1; }
done <"$g/served"
got=$(at_line "$g/cap")
[ "$got" = 0 ] || { echo "FAIL: the master's capture has $got bytes at the request's line, want 0"; bad=1; }
[ "$bad" = 0 ] && echo "gunicorn-tree: --pid-tree on gunicorn: each worker's capture holds exactly its request's block"
exit "$bad"
