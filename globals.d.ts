// Constants injected by the bundler (scripts/build.mjs); absent when sources run under vitest.
declare const __WEFT_VERSION__: string | undefined;
/** The content hash of the libc addon (netlink/native/libc-calls.c) carried as an SEA asset: names its cache file. */
declare const __LIBC_ADDON_HASH__: string | undefined;
/** The content hash of each role's SEA asset (plugin.js, weftd.js, ipamctl.js): names their code caches. */
declare const __WEFT_ASSET_HASHES__: Record<string, string> | undefined;
