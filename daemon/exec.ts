// Running iptables-restore and nft from weftd: one signature, so rule writers can be tested with a fake.
import { execFileSync } from "node:child_process";

export type Exec = (cmd: string, args: string[], input?: string) => string;

export const execHere: Exec = (cmd, args, input) => execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
