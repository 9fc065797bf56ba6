// Benchmark body run by bench/apiserver.mjs (bundled on the fly). `files DIR PORT` makes the server's
// credentials and kubeconfigs and prints where they are. Inside the server's namespace, beside etcd,
// printing JSON: `watch CONFIG`, watch latency through the API server versus a raw etcd watch; `stage
// CONFIG`, more pods through the API versus the same writes straight into etcd, every pod listed
// versus a range read of their keys, an informer's sync, and the server's memory (from /proc).
import { readFileSync } from "node:fs";
import { Etcd3, type IKeyValue } from "etcd3";
import { KubeClient } from "../kube/client.js";
import { loadKubeconfig } from "../kube/config.js";
import { Informer } from "../kube/informer.js";
import { PODS, type KubeObject } from "../kube/resources.js";
import type { WatchEvent } from "../kube/watch-stream.js";
import { prepareApiServerFiles } from "../lab/apiserver/main.js";

interface MeasureConfig {
  kubeconfig: string;
  /** The server's own listener inside the namespace (no relay hop). */
  server: string;
  etcd: string;
  serverPid: number;
  watchWrites: number;
  /** A stage fills pods [from, to). */
  from: number;
  to: number;
  concurrency: number;
  lists: number;
}

/** Where the server keeps pods (lab/apiserver/resources.ts etcdKey) and where the reference writes go. */
const SERVER_PREFIX = "/registry/pods/";
const REF_PREFIX = "/bench-ref/pods/";
const NAMESPACE = "default";
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const now = (): number => performance.now();

function memory(pid: number): { rssMb: number; anonMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return { rssMb: kb("VmRSS"), anonMb: kb("RssAnon"), peakMb: kb("VmHWM") };
}

const pod = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: NAMESPACE, labels: { app: "bench" } }, spec: { containers: [{ name: "c", image: "busybox" }] } });
/** The object as the server stores it: without resourceVersion (the key's ModRevision is that). */
const stored = (obj: KubeObject): string => {
  const { resourceVersion: _rv, ...metadata } = obj.metadata ?? {};
  return JSON.stringify({ ...obj, metadata });
};

/** One write at a time, each timed from just before it is sent to when its event arrives. */
class EventClock {
  private waiting?: { key: string; resolve: (t: number) => void };
  expect(key: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no event for ${key} in 10 s`)), 10_000);
      this.waiting = { key, resolve: (t) => (clearTimeout(timer), resolve(t)) };
    });
  }
  seen(key: string, t: number): void {
    if (this.waiting?.key !== key) return;
    this.waiting.resolve(t);
    this.waiting = undefined;
  }
}

async function pool(count: number, concurrency: number, work: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await work(next++);
  }));
  return now() - t0;
}

async function watchLatency(client: KubeClient, etcd: Etcd3, n: number): Promise<{ api: number[]; etcd: number[] }> {
  const apiClock = new EventClock();
  const etcdClock = new EventClock();
  const abort = new AbortController();
  const events = await client.watch(PODS, { resourceVersion: (await client.list(PODS)).metadata?.resourceVersion, signal: abort.signal });
  const reading = (async () => {
    for await (const e of events as AsyncGenerator<WatchEvent>) apiClock.seen(`${e.type} ${e.object.metadata?.name}`, now());
  })();
  const watcher = await etcd.watch().prefix(REF_PREFIX).create();
  watcher.on("put", (kv: IKeyValue) => etcdClock.seen(`${kv.version === "1" ? "ADDED" : "MODIFIED"} ${kv.key.toString().slice(REF_PREFIX.length + NAMESPACE.length + 1)}`, now()));

  const api: number[] = [];
  const ref: number[] = [];
  const made: { obj: KubeObject; refRevision: string }[] = [];
  // Creates, then updates of the same pods; each API write is followed by the same write straight to
  // etcd, as the server's store does it (a transaction on the key's ModRevision), so drift hits both.
  for (let i = 0; i < n; i++) {
    const creating = i < n / 2;
    const k = creating ? i : i - Math.ceil(n / 2);
    const name = `watch-${k}`;
    let obj: KubeObject;
    let t0 = now();
    if (creating) {
      const seen = apiClock.expect(`ADDED ${name}`);
      [obj] = await Promise.all([client.create(PODS, pod(name)), seen.then((t) => api.push(t - t0))]);
    } else {
      const prev = made[k]?.obj as KubeObject;
      const next = { ...prev, metadata: { ...prev.metadata, labels: { app: "bench", round: "2" } } };
      const seen = apiClock.expect(`MODIFIED ${name}`);
      [obj] = await Promise.all([client.update(PODS, next), seen.then((t) => api.push(t - t0))]);
    }
    const key = `${REF_PREFIX}${NAMESPACE}/${name}`;
    const seen = etcdClock.expect(`${creating ? "ADDED" : "MODIFIED"} ${name}`);
    t0 = now();
    const expected = creating ? 0 : (made[k]?.refRevision ?? "0");
    const [res] = await Promise.all([etcd.if(key, "Mod", "==", expected).then(etcd.put(key).value(stored(obj))).commit(), seen.then((t) => ref.push(t - t0))]);
    if (!res.succeeded) throw new Error(`reference write of ${key} was refused`);
    if (creating) made[k] = { obj, refRevision: String(res.header.revision) };
  }
  abort.abort();
  await reading;
  await watcher.cancel();
  return { api, etcd: ref };
}

/** The next pods, [from, to), through the API and (the same objects) straight into etcd, `concurrency` at a time. */
async function fill(client: KubeClient, etcd: Etcd3, c: MeasureConfig): Promise<{ api: number; etcd: number }> {
  const name = (i: number): string => `fill-${String(i).padStart(5, "0")}`;
  const count = c.to - c.from;
  let sample = "";
  const api = await pool(count, c.concurrency, async (i) => {
    const obj = await client.create(PODS, pod(name(c.from + i)));
    if (i === 0) sample = stored(obj);
  });
  const ref = await pool(count, c.concurrency, async (i) => {
    const key = `${REF_PREFIX}${NAMESPACE}/${name(c.from + i)}`;
    await etcd.if(key, "Mod", "==", 0).then(etcd.put(key).value(sample.replaceAll(name(c.from), name(c.from + i)))).commit();
  });
  return { api, etcd: ref };
}

/** Every pod listed through the API, alternating with a range read of the same keys; a failed list is a result. */
async function lists(client: KubeClient, etcd: Etcd3, c: MeasureConfig): Promise<object> {
  const list: number[] = [];
  const range: number[] = [];
  let items = 0;
  let listError: { message: string; afterMs: number } | undefined;
  let keys = 0;
  let valueBytes = 0;
  for (let i = 0; i < c.lists; i++) {
    let t0 = now();
    if (!listError) {
      try {
        items = (await client.list(PODS)).items.length;
        list.push(now() - t0);
      } catch (err) {
        listError = { message: (err as Error).message.split("\n")[0] ?? "", afterMs: now() - t0 };
      }
    }
    t0 = now();
    const res = await etcd.getAll().prefix(SERVER_PREFIX).exec();
    range.push(now() - t0);
    keys = res.kvs.length;
    valueBytes = res.kvs.reduce((s, kv) => s + kv.value.length, 0);
  }
  return { list, items, listError, range, keys, valueBytes };
}

/** An informer over every pod (list in pages, then watch), as weftd and the lab's agents hold them. */
async function informerSync(client: KubeClient, timeoutMs: number): Promise<{ syncMs?: number; objects: number; error?: string }> {
  const t0 = now();
  const informer = new Informer(client, PODS).start();
  const synced = await Promise.race([informer.synced(), sleep(timeoutMs).then(() => false)]);
  const r = synced ? { syncMs: now() - t0, objects: informer.store.list().length } : { objects: informer.store.list().length, error: informer.lastError?.message ?? "not synced" };
  await sleep(500);
  return r;
}

async function measure(mode: string, c: MeasureConfig): Promise<void> {
  const client = new KubeClient({ ...loadKubeconfig(c.kubeconfig), server: c.server });
  // The reference reads more than gRPC's default 4 MiB per message.
  const etcd = new Etcd3({ hosts: c.etcd, grpcOptions: { "grpc.max_receive_message_length": -1 } });
  let result: object;
  if (mode === "watch") result = await watchLatency(client, etcd, c.watchWrites);
  else {
    const filled = await fill(client, etcd, c);
    const listed = await lists(client, etcd, c);
    const informer = await informerSync(client, 8_000);
    result = { fill: filled, ...listed, informer, memory: memory(c.serverPid) };
  }
  client.close();
  etcd.close();
  console.log(JSON.stringify(result));
  // An informer that never synced may still be retrying: this process is done.
  process.exit(0);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "files") console.log(JSON.stringify(prepareApiServerFiles(args[0] ?? "", { relayPort: Number(args[1]) })));
else if (mode === "watch" || mode === "stage") await measure(mode, JSON.parse(args[0] ?? "{}") as MeasureConfig);
else throw new Error(`apiserver-worker: unknown mode ${mode}`);
