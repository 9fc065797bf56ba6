import { defineConfig } from "vitest/config";

// The soak alone: `npm run soak` (30 minutes; WEFT_SOAK_MINUTES to change it).
export default defineConfig({
  test: { include: ["test/soak/*.test.ts"], pool: "forks", hookTimeout: 180_000, reporters: ["default"] },
});
