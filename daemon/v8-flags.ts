// V8 settings for a daemon that runs for months beside the pods (a single executable takes no V8 flags
// on its command line). The executable's entry point sets them before it compiles weftd's code
// (cni/sea-main.ts): they then apply to all of it, and weftd's code cache stays valid (V8 rejects a
// cache made under other flags). weftd's entry point sets them again first of all (daemon/v8-tuning.ts),
// for a weftd bundled on its own.
//
// weftd's JavaScript mostly waits: on etcd, on netlink, on the rule writers' processes. V8's optimising
// compiler (TurboFan) kept compiling and replacing code for the whole life of the process, its code and
// the compiler's own allocations adding to the old generation and to malloc's heaps, and RSS climbed
// ~6 % in a 20-minute soak with no leak (the live heap flat). Without it — the interpreter and the
// baseline compiler only — and with V8 favouring size (its old generation grows by 2 MB steps instead of
// 8 MB), RSS stays where it is after the first minute.
// Measured (docs/reliability.md, docs/benchmarks.md): soak RSS +1 % against +6 % in the same 20-minute
// run, +0.3 to +2.0 % over 30 minutes; at 1,000 nodes join 1.06–1.14 s against 1.18–1.20 s, churn p99
// unchanged, CPU in churn 7.3–7.8 % of a core against 5.0–5.7 %.
export const DAEMON_V8_FLAGS = "--optimize-for-size --no-opt";
