// Prometheus metrics of weftd.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly remoteNodes = new Gauge({ name: "weft_remote_nodes_programmed", help: "Remote nodes whose routes (and ARP/FDB entries) are programmed, of any family", registers: [this.registry] });
  readonly remoteNodesIpv6 = new Gauge({ name: "weft_remote_nodes_programmed_ipv6", help: "Remote nodes whose IPv6 routes (and neighbour/FDB entries) are programmed (a network with IPv6)", registers: [this.registry] });
  readonly reconcileDuration = new Histogram({ name: "weft_reconcile_duration_seconds", help: "Time to reconcile the overlay with the kernel", buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly reconcileErrors = new Counter({ name: "weft_reconcile_errors_total", help: "Reconciles that failed", registers: [this.registry] });
  readonly kernelChanges = new Counter({ name: "weft_kernel_changes_total", help: "Routes, ARP and FDB entries, and WireGuard peers, added or removed", labelNames: ["kind", "op"], registers: [this.registry] });
  readonly leaseExpiry = new Gauge({ name: "weft_lease_expiry_timestamp_seconds", help: "When this node's subnet lease expires unless renewed", registers: [this.registry] });
  readonly etcdErrors = new Counter({ name: "weft_etcd_request_errors_total", help: "etcd requests that failed", labelNames: ["op"], registers: [this.registry] });
  readonly leaseToProgrammed = new Histogram({ name: "weft_lease_to_programmed_seconds", help: "From a lease event seen to its entries programmed", buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry] });
  readonly podFilterEntries = new Gauge({ name: "weft_pod_filter_entries", help: "Elements of the anti-spoofing filter's sets: per pod its port, MAC and each address it may send from (and, with IPv6, advertise)", registers: [this.registry] });
  readonly podFilterUnrecorded = new Gauge({ name: "weft_pod_filter_unrecorded_ports", help: "Running pod ports with no IP record where weftd reads them (entries kept, or the port left unfiltered)", registers: [this.registry] });
  readonly spoofedFrames = new Counter({ name: "weft_spoofed_frames_dropped_total", help: "Frames a pod sent from an address not its own, dropped by the anti-spoofing filter", registers: [this.registry] });
  readonly nonIpv4Frames = new Counter({ name: "weft_pod_non_ipv4_frames_dropped_total", help: "Frames from pods that are neither IPv4 nor ARP (e.g. IPv6 neighbour discovery), dropped by the anti-spoofing filter", registers: [this.registry] });
  readonly wireguardPeers = new Gauge({ name: "weft_wireguard_peers", help: "Peers of each WireGuard device (wireguard backend), after its last reconcile", labelNames: ["device"], registers: [this.registry] });
  readonly wireguardHandshaken = new Gauge({ name: "weft_wireguard_peers_handshaken", help: "Peers of each WireGuard device with a handshake in the last 180 s (a session is up; idle peers without keepalive have none)", labelNames: ["device"], registers: [this.registry] });
  readonly badLeases = new Counter({ name: "weft_bad_leases_total", help: "Distinct bad leases skipped (malformed, or outside the network), each counted once", registers: [this.registry] });

  constructor() {
    // The event-loop delay histogram samples on a libuv timer at this resolution: prom-client's default
    // of 10 ms woke weftd 100 times a second at rest, most of what it cost an idle node.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 500 });
  }
}
