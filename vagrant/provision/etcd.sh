#!/usr/bin/env bash
# etcd on node 1, listening on the private network.
set -euo pipefail
ip="$1"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
cat > /etc/default/etcd <<CONF
ETCD_NAME=node1
ETCD_DATA_DIR=/var/lib/etcd/default
ETCD_LISTEN_CLIENT_URLS=http://${ip}:2379,http://127.0.0.1:2379
ETCD_ADVERTISE_CLIENT_URLS=http://${ip}:2379
CONF
systemctl restart etcd
for _ in $(seq 1 30); do etcdctl --endpoints="http://${ip}:2379" endpoint health >/dev/null 2>&1 && break; sleep 1; done
etcdctl --endpoints="http://${ip}:2379" put /weft/network/config \
  '{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}' >/dev/null
