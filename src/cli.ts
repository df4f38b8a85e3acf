import { flush } from '@oclif/core/flush';
import { handle } from '@oclif/core/handle';
import { run } from '@oclif/core/run';
import type { Config } from '@oclif/core';
import { takeEnvironmentSecret } from './secret.js';
import { installExitHandlers } from './cleanup.js';

/**
 * Entry point: `root` is where oclif finds package.json (the package root), or, in the standalone
 * executable, a Config loaded from memory (src/sea.ts). Errors inside a command
 * are rendered by BaseCommand; this catches what oclif raises before any command runs (an unknown
 * command or a stray word), which would otherwise echo the word back: it may be a pasted secret.
 */
export async function main(root: string | Config, argv: string[] = process.argv.slice(2)): Promise<void> {
  // First of all: no command's children inherit the AccessKey secret (see takeEnvironmentSecret), and
  // an interruption at any moment exits 130 (README, exit codes) after the clean-up hooks.
  takeEnvironmentSecret();
  installExitHandlers();
  quietDependencyDeprecations();
  try {
    await run(argv, root);
    await flush();
  } catch (e) {
    const message = (e as Error | undefined)?.message ?? '';
    const notFound = /^command .* not found/.test(message);
    if (!notFound) return handle(e as Error);
    const [{ InsightError }, { renderError }, { makeChalk }, { modeOfFailedParse }, { sharedFlags }, { commands }] = await Promise.all([import('./errors.js'), import('./output/errors.js'), import('./output/style.js'), import('./output/mode.js'), import('./base-command.js'), import('./commands.js')]);
    const command = argv.find((a) => !a.startsWith('-'));
    // The hint lists what `--help` lists: the command map, without the hidden ones.
    const known = Object.entries(commands).filter(([, c]) => !(c as { hidden?: boolean }).hidden).map(([id]) => id);
    const err = new InsightError('usage', known.includes(command ?? '') ? `kubectl insight ${command}: unexpected argument (its value is not shown)` : 'unknown command (the word is not shown: it may be a value pasted in the wrong place)', {
      hint: `Commands: ${known.join(', ')}. See \`kubectl insight --help\`.`,
    });
    // The output flags, read by the same parser as inside a command (the word itself is not a flag).
    const mode = (await modeOfFailedParse(argv, sharedFlags as unknown as Parameters<typeof modeOfFailedParse>[1])) ?? { json: false, noColor: false };
    const r = renderError(err, makeChalk({ noColor: mode.noColor, isTTY: Boolean(process.stderr.isTTY) }), { json: mode.json, verbose: false });
    (mode.json ? process.stdout : process.stderr).write(`${r.text}\n`);
    process.exitCode = r.exitCode;
  }
}

/**
 * The Kubernetes client's bundled node-fetch calls url.parse(), which Node >= 24 reports as DEP0169 on
 * every command that talks to the API server: noise about a dependency the user cannot act on. Node's
 * own printer is replaced by one that prints every other warning as Node would.
 */
function quietDependencyDeprecations(): void {
  const quiet = new Set(['DEP0169']);
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code && quiet.has(w.code)) return;
    process.stderr.write(`(node:${process.pid}) ${w.code ? `[${w.code}] ` : ''}${w.name}: ${w.message}\n`);
  });
}
