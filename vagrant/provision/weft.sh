#!/usr/bin/env bash
# Installs weft from the synced folder: the plugin, the conflist, and the one executable again as
# /usr/local/bin/weft with weftd and ipamctl as links to it (weftd runs as a systemd unit).
set -euo pipefail
ip="$1"
etcd="$2"
install -m 0755 /vagrant/dist/bin/weft /opt/cni/bin/.weft.tmp && mv -f /opt/cni/bin/.weft.tmp /opt/cni/bin/weft
install -m 0755 /vagrant/dist/bin/weft /usr/local/bin/weft
ln -sf weft /usr/local/bin/weftd && ln -sf weft /usr/local/bin/ipamctl
install -m 0644 /vagrant/cni/examples/10-weft-portmap.conflist /etc/cni/net.d/10-weft.conflist

# VXLAN must use the private network: find the interface that holds this node's address. The
# default route is Vagrant's NAT interface (10.0.2.15), the same on every VM.
iface=$(ip -o -4 addr show | awk -v ip="$ip" '$4 ~ "^"ip"/" {print $2; exit}')
[ -n "$iface" ] || { echo "no interface has $ip" >&2; exit 1; }

cat > /etc/systemd/system/weftd.service <<UNIT
[Unit]
Description=weft node daemon
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/weftd --etcd-endpoints ${etcd} --iface ${iface} --ip-masq
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now weftd
for _ in $(seq 1 30); do [ -f /run/weft/subnet.env ] && break; sleep 1; done
cat /run/weft/subnet.env
echo "export WEFT_ETCD_ENDPOINTS=${etcd}" > /etc/profile.d/weft.sh
