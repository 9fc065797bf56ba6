import { defineConfig } from "vitest/config";

// Kernel and etcd tests create their own namespaces and ports; files run in parallel
// processes, tests inside a file run in order. Two at a time even on 2 cores (vitest's default
// there is one): lab tests mostly wait on timers, etcd and the kernel — the suite took 654 s one
// file at a time and 480 s two at a time on the same machine. The soak runs its 3-minute version
// here; `npm run soak` runs it for 30 minutes.
export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
