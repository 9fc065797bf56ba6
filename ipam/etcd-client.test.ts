import { describe, expect, it } from "vitest";
import { createEtcdClient, explainTlsFailure } from "./etcd-client.js";

describe("etcd client options", () => {
  it("never talks plaintext to an https endpoint, nor TLS to an http one", () => {
    expect(() => createEtcdClient({ endpoints: ["https://10.0.0.1:2379"] })).toThrow(/needs --etcd-cafile .* never falls back to plaintext/);
    expect(() => createEtcdClient({ endpoints: ["http://10.0.0.1:2379"], caFile: "/ca.pem" })).toThrow(/plain http/);
    expect(() => createEtcdClient({ endpoints: ["https://10.0.0.1:2379"], caFile: "/nonexistent.pem" })).toThrow("etcd CA file /nonexistent.pem: ENOENT");
  });

  it("says which side of a TLS handshake failed", () => {
    expect(explainTlsFailure("14 UNAVAILABLE: No connection established. Last error: error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:SSL alert number 42")).toMatch(/refused our client certificate/);
    expect(explainTlsFailure("14 UNAVAILABLE: unable to verify the first certificate")).toMatch(/could not be verified with --etcd-cafile/);
    expect(explainTlsFailure("14 UNAVAILABLE: error:0A00010B:SSL routines::wrong version number")).toMatch(/does not speak TLS/);
    expect(explainTlsFailure("14 UNAVAILABLE: connect ECONNREFUSED 10.0.0.1:2379")).toBeUndefined();
  });
});
