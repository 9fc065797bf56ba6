// `weft-lab netpol`'s options, apart from what they run (netpol-command.ts) so the CLI loads that only
// when the command is given.
import type { Argv } from "yargs";

export const netpolOptions = <T>(y: Argv<T>) =>
  y.options({
    json: { type: "boolean", default: false },
    ports: { type: "string", default: "80,81", describe: "ports to probe, comma-separated (the model serves 80 and 81)" },
    protocols: { type: "string", default: "tcp,udp", describe: "protocols to probe: tcp, udp, sctp (SCTP by raw INIT/INIT ACK where the kernel has no SCTP sockets)" },
    via: { choices: ["pod", "service"] as const, default: "pod" as const, describe: "dial each pod's address, or its Service's ClusterIP" },
    family: { choices: ["4", "6", "both"] as const, describe: "the address family to probe (a table each with both); the pods' first family when not given" },
    timeout: { type: "string", default: "1s", describe: "agnhost connect's --timeout per probe" },
    expect: { type: "string", describe: "a JSON file of expected tables: {\"TCP/80\": {\"x/a\": {\"x/b\": true, …}}, …} (\"*\" for every table); exit 1 on any difference" },
    replay: { type: "string", describe: "a JSON file of cases [{name, steps: [{policies, namespaceLabels, podLabels, probes: [{protocol, port, expected}]}]}]: each step's policies and labels made, its tables probed until expected (--deadline); exit 1 when a step is not" },
    deadline: { type: "string", default: "20s", describe: "with --replay: how long a step may take to be observed as expected" },
    clean: { type: "boolean", default: false, describe: "remove the model (its namespaces) instead" },
  });

export type NetpolArgs = { json: boolean; ports: string; protocols: string; via: "pod" | "service"; family?: "4" | "6" | "both"; timeout: string; expect?: string; replay?: string; deadline: string; clean: boolean };

