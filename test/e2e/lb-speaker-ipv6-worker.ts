// Runs inside a node namespace of lb-speaker-ipv6.test.ts (bundled on the fly, started under nsenter):
//   speaker NODE SELF_IP IFACE STATE_FILE   the LoadBalancer speaker on that state until SIGTERM
//   announce IFACE IP                       one unsolicited Neighbour Advertisement, then exit
// Prints one JSON line per event with its wall-clock time, for the test to measure against.
import { readFileSync } from "node:fs";
import { LbSpeaker } from "../../proxy/lb-speaker.js";
import type { ClusterState } from "../../proxy/model.js";
import { sendUnsolicitedNa } from "../../proxy/ndp.js";

const print = (msg: string, fields: object): void => void process.stdout.write(`${JSON.stringify({ t: Date.now(), msg, ...fields })}\n`);
const [mode, ...args] = process.argv.slice(2);

if (mode === "speaker") {
  const [node = "", selfIp = "", iface = "", stateFile = ""] = args;
  const speaker = new LbSpeaker(node, selfIp, iface, print);
  speaker.update(JSON.parse(readFileSync(stateFile, "utf8")) as ClusterState);
  speaker.start();
  process.on("SIGTERM", () => {
    speaker.stop();
    print("stopped", { node });
    process.exit(0);
  });
} else if (mode === "announce") {
  const [iface = "", ip = ""] = args;
  const mac = sendUnsolicitedNa(iface, ip);
  print("advertised", { iface, ip, mac });
} else {
  console.error(`unknown mode ${mode}: speaker NODE SELF_IP IFACE STATE_FILE | announce IFACE IP`);
  process.exit(2);
}
