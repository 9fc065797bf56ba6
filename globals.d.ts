// Constants injected by the bundler (scripts/build.mjs); absent when sources run under vitest.
declare const __WEFT_VERSION__: string | undefined;
declare const __KOFFI_ASSET_HASH__: string | undefined;
/** The content hash of each role's SEA asset (plugin.js, weftd.js, ipamctl.js): names their code caches. */
declare const __WEFT_ASSET_HASHES__: Record<string, string> | undefined;
