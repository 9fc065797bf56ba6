import { describe, expect, it } from "vitest";
import { chooseRole } from "./sea-role.js";

describe("chooseRole", () => {
  it("is the plugin by default, whatever the runtime names it", () => {
    expect(chooseRole("/opt/cni/bin/weft", "/opt/cni/bin/weft", undefined)).toEqual({ role: "plugin", bySubcommand: false });
    expect(chooseRole("weft-0.1", "/opt/cni/bin/weft-0.1", "--version")).toEqual({ role: "plugin", bySubcommand: false });
  });

  it("is weftd or ipamctl by the name of a symbolic link (argv[0]) or a hard link (the executable's path)", () => {
    expect(chooseRole("/usr/local/bin/weftd", "/usr/local/bin/weft", "--help").role).toBe("daemon");
    expect(chooseRole("ipamctl", "/usr/local/bin/weft", "leases").role).toBe("ipamctl");
    expect(chooseRole("/somewhere/else", "/usr/local/bin/ipamctl", undefined).role).toBe("ipamctl");
  });

  it("takes the role from the first argument when the name does not give one, and says to drop it", () => {
    expect(chooseRole("/usr/local/bin/weft", "/usr/local/bin/weft", "daemon")).toEqual({ role: "daemon", bySubcommand: true });
    expect(chooseRole("weft", "/usr/local/bin/weft", "weftd")).toEqual({ role: "daemon", bySubcommand: true });
    expect(chooseRole("weft", "/usr/local/bin/weft", "ipamctl")).toEqual({ role: "ipamctl", bySubcommand: true });
  });

  it("lets a link's name win over an argument (weftd's and ipamctl's own arguments stay theirs)", () => {
    expect(chooseRole("ipamctl", "/usr/local/bin/weft", "daemon")).toEqual({ role: "ipamctl", bySubcommand: false });
  });

  it("does not read names off Object's prototype", () => {
    expect(chooseRole("weft", "/usr/local/bin/weft", "constructor").role).toBe("plugin");
    expect(chooseRole("toString", "toString", undefined).role).toBe("plugin");
  });
});
