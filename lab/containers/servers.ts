// The servers every lab pod of the topology (and the wan host) runs: one port per protocol of the
// matrix, served by the same agnhost-like container as applied pods (netexec.ts).
import type { ContainerPort } from "../../proxy/model.js";

export const PORTS = { http: 8080, udp: 8081, tcp: 8082, h2c: 8083, grpc: 8084, sctp: 8085 } as const;

export const SERVER_PORTS: ContainerPort[] = [
  { name: "http", containerPort: PORTS.http, protocol: "TCP" },
  { name: "udp", containerPort: PORTS.udp, protocol: "UDP" },
  { name: "tcp-echo", containerPort: PORTS.tcp, protocol: "TCP" },
  { name: "h2c", containerPort: PORTS.h2c, protocol: "TCP" },
  { name: "grpc", containerPort: PORTS.grpc, protocol: "TCP" },
  { name: "sctp", containerPort: PORTS.sctp, protocol: "SCTP" },
];

/** The matrix's probe ports for a destination that serves SERVER_PORTS (shifted by `offset` for host ports). */
export const probePorts = (offset = 0) => ({ TCP: PORTS.tcp + offset, UDP: PORTS.udp + offset, SCTP: PORTS.sctp + offset, "HTTP/1.1": PORTS.http + offset, "HTTP/2": PORTS.h2c + offset, gRPC: PORTS.grpc + offset });

/** The first pod on each node publishes its servers on host ports 30080–30085 (portmap): container port + this. */
export const HOST_PORT_OFFSET = 22_000;
