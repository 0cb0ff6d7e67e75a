#!/bin/sh
# The compose demo: agent 1002's phone, then three customers.
#  1. +12025550100 calls, no history: the IVR queue; agent 1002 answers and talks 5 s.
#  2. +12025550100 calls again: straight to 1002 (the sticky agent).
#  3. 1002 goes offline; +12025550199 waits 4 s in the queue and hangs up: an abandon.
# Runs in the Asterisk container's network namespace: everything is on 127.0.0.1.
# Scenarios: test/sipp/*.xml, the ones the integration tests use. Re-run with
#   docker compose -f docker/compose.yml run --rm sipp
set -eu
DID=${DEMO_DID:-5551000}
S=/scenarios

echo "demo: agent 1002's phone on 127.0.0.1:5072 (answers after 0.5 s)"
sipp -sf "$S/agent.xml" -i 127.0.0.1 -p 5072 -key ring_ms 500 -nostdin -timeout 600 >/dev/null 2>&1 &
AGENT=$!
trap 'kill "$AGENT" 2>/dev/null || true' EXIT
sleep 5 # Asterisk qualifies agents every 2 s: let it see 1002 online

call() { # caller, talk ms
  sipp 127.0.0.1:5060 -sf "$S/caller.xml" -i 127.0.0.1 -s "$DID" -key caller "$1" -key talk_ms "$2" -key wait_ms 0 \
    -m 1 -nostdin -timeout 60 -timeout_error >/dev/null 2>&1 && echo "demo: $1 -> done" || echo "demo: $1 -> sipp exit $?"
}

echo "demo: 1) +12025550100 calls $DID (no history: IVR queue, 1002 answers)"
call +12025550100 5000
sleep 3 # the CDR reaches the router over AMI
echo "demo: 2) +12025550100 calls again (sticky: straight to 1002)"
call +12025550100 3000
sleep 2
echo "demo: 3) 1002 goes offline; +12025550199 waits 4 s in the queue and hangs up (abandon)"
kill "$AGENT" 2>/dev/null || true
sleep 5
call +12025550199 4000
echo "demo: decisions are in the router's log (docker compose -f docker/compose.yml logs router);"
echo "demo: metrics at http://127.0.0.1:8090/metrics, Kibana at http://127.0.0.1:5601 (dashboard \"sticky-router\")"
