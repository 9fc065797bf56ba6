// Benchmark body run by bench/cni.mjs (bundled on the fly): the kernel's deletion of a pod's veth
// measured alone, as the floor DEL cannot go below. For each pod namespace given, it wires a pair as
// ADD leaves it (the host end enslaved to the node's bridge, the pod end with its MAC, MTU, address
// and default route, both up), then times only the deletion of the host end (one RTM_DELLINK, which
// removes both ends), from a process that is already running.
import { openHandle } from "../netlink/index.js";

const [nodeNsPath, ...podNsPaths] = process.argv.slice(2);
const host = openHandle(nodeNsPath);
const bridge = host.linkFind("cni0") ?? host.linkAddBridge("cni0", { mtu: 1450 });
host.addrAdd(bridge.index, "10.244.9.1/24");
host.linkSetUp(bridge.index);
const hex = (n: number): string => n.toString(16).padStart(2, "0");
const names = podNsPaths.map((podNsPath, i) => {
  const name = `wbd${i}`;
  const veth = host.linkAddVeth(name, "eth0", { peerNetnsPath: podNsPath, mtu: 1450, masterIndex: bridge.index, peerMac: `0a:58:0a:f4:09:${hex(i + 2)}` });
  host.linkSetHairpin(veth.index, true);
  host.linkSetUp(veth.index);
  const pod = openHandle(podNsPath);
  const index = veth.parentIndex ?? pod.linkGet("eth0").index;
  pod.addrAdd(index, `10.244.9.${i + 2}/24`);
  pod.linkSetUp(index);
  pod.routeAdd({ gateway: "10.244.9.1", oif: index });
  pod.close();
  return name;
});
const deletion = names.map((name) => {
  const t = process.hrtime.bigint();
  host.linkDelete(name);
  return Number(process.hrtime.bigint() - t) / 1e6;
});
host.close();
process.stdout.write(JSON.stringify({ deletion }));
