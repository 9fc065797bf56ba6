// Constants injected by the bundler (scripts/build.mjs); absent when sources run under vitest.
declare const __WEFT_VERSION__: string | undefined;
declare const __KOFFI_ASSET_HASH__: string | undefined;
declare const __WEFT_PLUGIN_HASH__: string | undefined;
