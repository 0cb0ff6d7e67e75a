#!/usr/bin/env bash
# Runs a command against a private harness: its own network namespace (its own
# 127.0.0.1, so the same configs and ports) and its own HARNESS_DIR. Lets several
# people, or several test runs, use a PBX each on one machine.
#   test/harness/netns-run.sh NAME COMMAND...
#   e.g. test/harness/netns-run.sh alice npm test
set -euo pipefail
name=${1:?usage: netns-run.sh NAME COMMAND...}
shift
ns="sticky-$name"
ip netns list | awk '{print $1}' | grep -qx "$ns" || ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
# The second PBX's namespace for the several-PBXs tests (test/harness/peer.ts): added
# here, in the host's mount namespace, because `ip netns exec` gives the command a
# private one where a namespace added later would be invisible to everyone else.
ip netns list | awk '{print $1}' | grep -qx "$ns-b" || ip netns add "$ns-b"
exec ip netns exec "$ns" env HARNESS_DIR="/var/tmp/sticky-$name" HARNESS_NETNS="$ns" "$@"
