// Running iptables-save/-restore and nft from weftd: one signature, so rule writers can be tested with a
// fake. The real one is asynchronous: a process start costs milliseconds (tens on a loaded node), and
// weftd's event loop must keep serving lease events and health checks meanwhile.
import { execFile } from "node:child_process";

export type Exec = (cmd: string, args: string[], input?: string) => string | Promise<string>;

export const execHere: Exec = (cmd, args, input) =>
  new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: "utf8", maxBuffer: 64 * 2 ** 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    child.stdin?.end(input);
  });
