/**
 * Entry point of the standalone executable (a Node single executable application, scripts/package.ts).
 * The executable's one script is only this and the fast start: the CLI is an asset of the executable,
 * compiled (with the code cache made at build time, where there is one) only when the fast start
 * cannot answer, because compiling the whole CLI first would double the start of `version` and `--help`.
 * CommonJS (an executable runs no ES module), so no top-level await.
 */
import { getAsset } from 'node:sea';
import { Script } from 'node:vm';
import { ExitCode } from './errors.js';
import { completionArgv } from './completion/protocol.js';
import { startFast } from './fast-start.js';

// The top-level help as the build rendered it (dist/help.txt), inlined by scripts/package.ts.
declare const __INSIGHT_HELP__: string;

function cli(): { standalone(argv: string[]): Promise<void> } {
  let cachedData: Buffer | undefined;
  try {
    cachedData = Buffer.from(getAsset('cli.cache'));
  } catch {
    // Built for another platform: no cache (V8 takes one only from the same binary).
  }
  const script = new Script(getAsset('cli.cjs', 'utf8'), { filename: 'kubectl-insight.cjs', cachedData });
  // The asset is one function expression (scripts/package.ts wraps the bundle), called with this require.
  const module = { exports: {} as { standalone(argv: string[]): Promise<void> } };
  // The CLI requires only Node's builtins, which is all an executable's require loads.
  (script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: unknown) => void)(module.exports, require, module);
  return module.exports;
}

// Run through a link named kubectl_complete-insight (kubectl's plugin completion), it is `__complete`.
const argv = completionArgv(process.argv0, process.argv.slice(2)) ?? process.argv.slice(2);
if (!startFast(argv, () => __INSIGHT_HELP__)) {
  Promise.resolve()
    .then(() => cli().standalone(argv))
    // What escapes before a command runs is a bug in the executable's start: one line, never a stack trace.
    .catch((e: unknown) => {
      process.stderr.write(`kubectl-insight: internal error while starting: ${(e as Error)?.message ?? String(e)}\n`);
      process.exitCode = ExitCode.Bug;
    });
}
