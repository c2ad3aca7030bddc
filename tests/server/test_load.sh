#!/usr/bin/env bash
# A bounded load test of `offramp serve` with wrk (Debian's) against 127.0.0.1: below capacity
# every request succeeds; far above it (a queue of a few requests, 128 connections) the excess
# gets 503 at once, nothing else fails, and resident memory stays flat from one overload run
# to the next. Each wrk run stops by itself (-d).
# Usage: tests/server/test_load.sh OFFRAMP_BINARY MODEL_DIR
set -euo pipefail
bin=$1 model=$2
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
"$bin" serve "foods=$model" --host 127.0.0.1 --http-port 0 --max-queue-tokens 120 --max-batch-tokens 512 \
  --http-threads 64 2> "$log" &
pid=$!
trap 'kill $pid 2> /dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
port=$(grep -o "127.0.0.1:[0-9]*" "$log" | cut -d: -f2)
[ -n "$port" ] || { cat "$log"; echo "FAIL: the server did not start" >&2; exit 1; }
url=http://127.0.0.1:$port
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
metric() { curl -s "$url/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
run_wrk() { wrk -t "$1" -c "$2" -d "$3" --timeout 20s -s "$here/infer.lua" "$url" | tee /dev/stderr; }

echo "== below capacity: 2 connections" >&2
out=$(run_wrk 1 2 3s)
if grep -q "Non-2xx\|Socket errors" <<< "$out"; then echo "FAIL: errors below capacity" >&2; exit 1; fi

echo "== above capacity: 128 connections, twice" >&2
run_wrk 2 128 4s > /dev/null
rss1=$(rss)
out=$(run_wrk 2 128 4s)
rss2=$(rss)
refused=$(grep -o "Non-2xx or 3xx responses: [0-9]*" <<< "$out" | grep -o "[0-9]*$" || echo 0)
unavailable=$(metric 'offramp_inference_request_failure{model="foods",reason="unavailable"}')
others=$(curl -s "$url/metrics" | grep '^offramp_inference_request_failure{' | grep -vc 'reason="unavailable"' || true)
echo "refused in the second run: $refused; 503s in all: ${unavailable:-0}; other failures: $others; RSS $rss1 -> $rss2 kB" >&2
[ "${refused:-0}" -gt 0 ] || { echo "FAIL: no 503 above capacity" >&2; exit 1; }
[ "$others" -eq 0 ] || { echo "FAIL: failures other than 503" >&2; exit 1; }
[ $((rss2 - rss1)) -lt 20480 ] || { echo "FAIL: resident memory grew by $((rss2 - rss1)) kB under overload" >&2; exit 1; }
kill -TERM $pid
wait $pid
echo "load test passed" >&2
