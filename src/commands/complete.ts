import { Command } from '@oclif/core/command';
import { COMPLETE_COMMAND } from '../completion/protocol.js';

export { completionArgv } from '../completion/protocol.js';

/**
 * `kubectl-insight __complete [--] <words...> <word being completed>`: what the completion scripts and
 * kubectl_complete-insight run on every TAB. Cobra's protocol on stdout (src/completion/protocol.ts);
 * nothing on stderr, exit 0, stdin never read (kubectl hands the plugin its own).
 */
export default class Complete extends Command {
  static override id = COMPLETE_COMMAND;
  static override hidden = true;
  static override strict = false;
  static override summary = 'Shell completion candidates (Cobra __complete protocol).';

  async run(): Promise<void> {
    // The words are read as they are, never by oclif's parser: a half-typed line is not valid input.
    this.parsed = true;
    let text: string;
    try {
      const [{ complete }, { treeFromConfig }, { liveSources }, { renderCompletion, wordsOf }] = await Promise.all([
        import('../completion/engine.js'),
        import('../completion/tree.js'),
        import('../completion/sources.js'),
        import('../completion/protocol.js'),
      ]);
      text = renderCompletion(await complete(wordsOf(this.argv), treeFromConfig(this.config.commands), liveSources()));
    } catch {
      // A TAB never prints an error into the user's line: the error directive, nothing offered.
      text = ':1\n';
    }
    // Exit once written: a lookup past its deadline (an exec credential plugin, a socket) must not keep
    // the shell waiting on this process.
    await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
    process.exit(0);
  }
}
