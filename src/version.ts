// Replaced at build time by esbuild's `define` (package.json's version); 0.0.0-dev when run from source.
declare const __INSIGHT_VERSION__: string | undefined;
export const VERSION: string = typeof __INSIGHT_VERSION__ === 'string' ? __INSIGHT_VERSION__ : '0.0.0-dev';
