/**
 * The standalone executable's CLI (src/sea.ts loads it when the fast start cannot answer).
 * There is no package directory beside the executable: oclif gets package.json's fields and the
 * command classes from memory instead of reading and importing files, so the one embedded script is
 * the whole program.
 */
import { Config, Plugin } from '@oclif/core';
import { main } from './cli.js';
import { commands } from './commands.js';

// package.json's fields that oclif reads, inlined at build time (scripts/package.ts).
declare const __INSIGHT_PJSON__: { name: string; version: string; description: string; oclif: Record<string, unknown> };

export async function standalone(argv: string[]): Promise<void> {
  // Where oclif would look for files (none are read): the executable's own directory.
  const root = process.execPath.replace(/[\\/][^\\/]*$/, '');
  const pjson = structuredClone(__INSIGHT_PJSON__) as unknown as ConstructorParameters<typeof Plugin>[0]['pjson'];
  const plugin = new Plugin({ root, isRoot: true, pjson, ignoreManifest: true });
  // The explicit command map is already loaded: oclif takes it instead of importing its target file,
  // and builds the command metadata from these classes (no oclif.manifest.json to read).
  (plugin as unknown as { commandCache: unknown }).commandCache = commands;
  await plugin.load();
  const config = await Config.load({ root, pjson, plugins: new Map([[plugin.name, plugin]]) });
  await main(config, argv);
}
