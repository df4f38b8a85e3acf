import { Args } from '@oclif/core';
import { BaseCommand, type CommandResult } from '../base-command.js';
import { InsightError } from '../errors.js';
import { shownValue } from '../input.js';

export default class Completion extends BaseCommand<typeof Completion> {
  static override summary = 'Print the shell completion script for bash, zsh, fish or powershell.';
  static override description = `The script completes commands, flags and their values (output formats, regions, kubeconfig
contexts, the cluster's namespaces) for kubectl-insight; \`kubectl insight <TAB>\` works through kubectl's own
completion with kubectl_complete-insight on PATH. See docs/completion.md.`;
  static override examples = [
    'source <(<%= config.bin %> completion bash)        # in ~/.bashrc',
    'source <(<%= config.bin %> completion zsh)         # in ~/.zshrc, after compinit',
    '<%= config.bin %> completion fish | source         # in ~/.config/fish/config.fish',
    '<%= config.bin %> completion powershell | Out-String | Invoke-Expression   # in $PROFILE',
  ];
  static override args = {
    shell: Args.string({ description: 'bash, zsh, fish or powershell' }),
  };

  protected async execute(): Promise<CommandResult> {
    const [{ args }, { SHELLS, completionScript, isShell }] = await Promise.all([this.parse(Completion), import('../completion/scripts.js')]);
    const hint = `Give one of: ${SHELLS.join(', ')}, e.g. \`kubectl insight completion bash\`. See docs/completion.md.`;
    if (!args.shell) throw new InsightError('usage', 'which shell? kubectl insight completion needs the shell name', { hint });
    if (!isShell(args.shell)) throw new InsightError('usage', `unknown shell ${shownValue(args.shell)}`, { hint });
    const script = completionScript(args.shell);
    return { json: () => ({ shell: args.shell, script }), text: script };
  }
}
