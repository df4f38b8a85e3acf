// Replaced at build time by esbuild's `define`; read from package.json when running from source.
declare const __INSIGHT_VERSION__: string | undefined;
export const VERSION: string = typeof __INSIGHT_VERSION__ === 'string' ? __INSIGHT_VERSION__ : '0.0.0-dev';
