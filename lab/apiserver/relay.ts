// The loopback relay: a TCP listener on 127.0.0.1 only that pipes every connection's bytes to the API
// server's unix socket (TLS stays end to end), so that kubectl in the host's shell reaches a server
// that lives in a lab namespace, and nothing else on the host can.
import { connect, createServer, type Server } from "node:net";

export interface Relay {
  port: number;
  close(): Promise<void>;
}

export async function startRelay(socketPath: string, port = 0): Promise<Relay> {
  const server: Server = createServer((client) => {
    const upstream = connect(socketPath);
    client.pipe(upstream).pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port }, resolve);
  });
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
