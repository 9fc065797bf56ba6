#!/usr/bin/env bash
# Smoke test: a pod namespace on each node, attached through the CNI plugin as a runtime does it,
# then pings across nodes.
#   smoke.sh create NAME      create pod namespace NAME and print its IP
#   smoke.sh delete NAME      detach and remove it
#   smoke.sh ping NAME IP...  ping each IP from pod NAME
#   smoke.sh provision NODE [check]   (Vagrant) create this node's pod; with "check", ping every node's pod
# Environment: WEFT_CNI_BIN_DIR (default /opt/cni/bin), WEFT_CONFLIST (default /etc/cni/net.d/10-weft.conflist),
# WEFT_SMOKE_DIR (default /vagrant/.smoke): where provisioning shares pod IPs between nodes.
set -euo pipefail
bin_dir=${WEFT_CNI_BIN_DIR:-/opt/cni/bin}
conflist=${WEFT_CONFLIST:-/etc/cni/net.d/10-weft.conflist}
share=${WEFT_SMOKE_DIR:-/vagrant/.smoke}

# The weft plugin's own config from the conflist, as a runtime hands it to the plugin.
plugin_conf() {
  jq -c '(.plugins[] | select(.type == "weft")) + {cniVersion: .cniVersion, name: .name}' "$conflist"
}

cni() {
  local command=$1 name=$2
  plugin_conf | env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND="$command" CNI_CONTAINERID="smoke-$name" \
    CNI_NETNS="/var/run/netns/$name" CNI_IFNAME=eth0 CNI_PATH="$bin_dir" "$bin_dir/weft"
}

create() {
  local name=$1
  ip netns add "$name"
  ip -n "$name" link set lo up
  if ! result=$(cni ADD "$name"); then
    echo "$result" >&2
    ip netns del "$name"
    return 1
  fi
  echo "$result" | jq -r '.ips[0].address | split("/")[0]'
}

delete() {
  local name=$1
  cni DEL "$name" >/dev/null || true
  ip netns del "$name" 2>/dev/null || true
}

ping_from() {
  local name=$1
  shift
  local failed=0
  for target in "$@"; do
    if ip netns exec "$name" ping -c 2 -W 2 "$target" >/dev/null; then echo "ok   $name -> $target"; else echo "FAIL $name -> $target"; failed=1; fi
  done
  return "$failed"
}

provision() {
  local node=$1 check=${2:-}
  mkdir -p "$share"
  delete "smoke"
  create "smoke" > "$share/$node.ip"
  echo "$node: smoke pod $(cat "$share/$node.ip")"
  if [ "$check" = "check" ]; then
    # shellcheck disable=SC2046 # one IP per file, word splitting intended
    ping_from "smoke" $(cat "$share"/*.ip)
  fi
}

case "${1:-}" in
  create) create "$2" ;;
  delete) delete "$2" ;;
  ping) shift; ping_from "$@" ;;
  provision) shift; provision "$@" ;;
  *) echo "usage: $0 create NAME | delete NAME | ping NAME IP... | provision NODE [check]" >&2; exit 1 ;;
esac
