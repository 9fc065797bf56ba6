// Deterministic crash points for the crash-consistency tests: at a named point of ADD the plugin
// SIGKILLs itself when WEFT_CRASH_AT names that point. Compiled only into a test build: the shipped
// executables are bundled with __WEFT_CRASH_POINTS__ = false, so the bundler removes the check, the
// variable's name and the kill (a test asserts that the string is absent from dist/bin/weft).
declare const __WEFT_CRASH_POINTS__: boolean | undefined;

export type CrashPoint = "ip-reserved" | "veth-created" | "before-result";

export function crashPoint(name: CrashPoint): void {
  if (typeof __WEFT_CRASH_POINTS__ !== "undefined" && __WEFT_CRASH_POINTS__ && process.env.WEFT_CRASH_AT === name) process.kill(process.pid, "SIGKILL");
}
