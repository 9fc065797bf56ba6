import { defineConfig } from "vitest/config";

// Kernel and etcd tests create their own namespaces and ports; files run in parallel
// processes, tests inside a file run in order.
export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", "test/soak/**"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
