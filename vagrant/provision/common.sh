#!/usr/bin/env bash
# Packages every node needs.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends iproute2 iptables containernetworking-plugins jq iputils-ping etcd-client >/dev/null
mkdir -p /opt/cni/bin /etc/cni/net.d
# The reference plugins weft chains with (portmap), where the runtime looks for them.
for p in portmap loopback; do ln -sf "/usr/lib/cni/$p" "/opt/cni/bin/$p"; done
