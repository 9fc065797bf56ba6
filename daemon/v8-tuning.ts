// Sets weftd's V8 settings (daemon/v8-flags.ts says which and why). Imported first by weftd's entry
// point, before anything else is loaded: V8 flags apply to what is compiled after them.
import { setFlagsFromString } from "node:v8";
import { DAEMON_V8_FLAGS } from "./v8-flags.js";

setFlagsFromString(DAEMON_V8_FLAGS);
