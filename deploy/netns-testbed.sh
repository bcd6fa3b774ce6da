#!/usr/bin/env bash
# A multi-host test bed on one machine: a network namespace per "host" (coordinator, two
# workers, a client), each with a veth pair to a bridge in a hub namespace. Nothing is added
# to the machine's own namespace. Needs root.
#
#   deploy/netns-testbed.sh up          create the hosts (10.77.0.1 coord, .2 w1, .3 w2, .4 client)
#   deploy/netns-testbed.sh cut HOST    take HOST's link down (at the hub), as a pulled cable
#   deploy/netns-testbed.sh heal HOST   bring it back
#   deploy/netns-testbed.sh down        remove everything
#   deploy/netns-testbed.sh exec HOST CMD...   run CMD on HOST
#
# COHORT_NETNS_PREFIX (default "cohort") and COHORT_NETNS_SUBNET (default "10.77.0") let two
# beds coexist.
set -euo pipefail

prefix=${COHORT_NETNS_PREFIX:-cohort}
subnet=${COHORT_NETNS_SUBNET:-10.77.0}
hosts=(coord w1 w2 client)
hub="$prefix-hub"

address() {
    local i=1
    for h in "${hosts[@]}"; do
        if [[ $h == "$1" ]]; then echo "$subnet.$i"; return; fi
        i=$((i + 1))
    done
    echo "unknown host '$1' (hosts: ${hosts[*]})" >&2
    exit 2
}

up() {
    if ip netns list | grep -qw "$hub"; then
        echo "test bed $prefix is already up; run '$0 down' first" >&2
        exit 1
    fi
    ip netns add "$hub"
    ip -n "$hub" link add br0 type bridge
    ip -n "$hub" link set br0 up
    for h in "${hosts[@]}"; do
        local ns="$prefix-$h"
        ip netns add "$ns"
        ip -n "$hub" link add "to-$h" type veth peer name eth0 netns "$ns"
        ip -n "$hub" link set "to-$h" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$(address "$h")/24" dev eth0
        ip -n "$ns" link set eth0 up
    done
    for h in "${hosts[@]}"; do
        echo "$h $prefix-$h $(address "$h")"
    done
}

down() {
    for h in "${hosts[@]}"; do
        ip netns del "$prefix-$h" 2>/dev/null || true
    done
    ip netns del "$hub" 2>/dev/null || true
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    cut) address "$2" >/dev/null; ip -n "$hub" link set "to-$2" down ;;
    heal) address "$2" >/dev/null; ip -n "$hub" link set "to-$2" up ;;
    exec) address "$2" >/dev/null; ns="$prefix-$2"; shift 2; exec ip netns exec "$ns" "$@" ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
