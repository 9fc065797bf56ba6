import { defineConfig } from "vitest/config";

// Kernel and etcd tests create their own namespaces and ports; files run in parallel
// processes, tests inside a file run in order. Two at a time even on 2 cores (vitest's default
// there is one): lab tests mostly wait on timers, etcd and the kernel — the suite took 654 s one
// file at a time and 480 s two at a time on the same machine. The soak runs its 3-minute version
// here; `npm run soak` runs it for 30 minutes. A test's own bounds (how fast a route, a takeover or
// an endpoint must come) are asserted inside it; the harness timeout only catches a hang: 60 s, as
// Services tests that take ~20 s alone took 31–45 s in CI beside another lab file and the soak.
//
// The network policy labs replay whole upstream suites with real traffic, steadily busy for minutes:
// they run as a second group, after every other file, two at a time among themselves, so the
// latency bounds other lab tests assert (an endpoint gone within 2 s) are not measured beside them.
const POLICY_LABS = [
  "test/e2e/lab-netpol-upstream.test.ts",
  "test/e2e/lab-cnp-conformance.test.ts",
  "test/e2e/lab-netpol.test.ts",
  "test/e2e/policy-enforce.test.ts",
  "test/e2e/policy-strict.test.ts",
  "test/e2e/policy-drop-log.test.ts",
];
const EXCLUDE = ["node_modules/**", "dist/**"];

export default defineConfig({
  test: {
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default"],
    projects: [
      { extends: true, test: { name: "weft", include: ["**/*.test.ts"], exclude: [...EXCLUDE, ...POLICY_LABS], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "policy-labs", include: POLICY_LABS, exclude: EXCLUDE, sequence: { groupOrder: 1 } } },
    ],
  },
});
