// Shell completion for real: bash, zsh and fish on a pseudo-terminal (tmux), with the generated scripts
// sourced into clean shells, keys typed and the screen read back; and `kubectl insight <TAB>` through
// kubectl's own bash completion, which runs kubectl_complete-insight from PATH.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, cluster, kubectl, waitFor } from './support/index.js';

const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion';
const need = (tool: string, why: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is not installed (${why}); run npm run setup, or apt-get install -y tmux zsh fish bash-completion`);
  }
};

const dir = mkdtempSync(join(tmpdir(), 'insight-completion-'));
const socket = `insight-completion-${process.pid}`;
const namespace = `comp-e2e-${process.pid}`;
let env: Record<string, string>;

/** A shell on its own tmux pane (a real terminal), which the test types into and reads. */
class Pane {
  private constructor(private readonly name: string) {}

  static start(name: string, command: string[]): Pane {
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    tmux(['new-session', '-d', '-s', name, '-x', '200', '-y', '50', 'env', '-i', ...envArgs, ...command]);
    return new Pane(name);
  }

  /** Text typed as it is (no key names), then keys by name (Tab, Enter). */
  type(text: string, ...keys: string[]): void {
    if (text) tmux(['send-keys', '-t', this.name, '-l', '--', text]);
    if (keys.length) tmux(['send-keys', '-t', this.name, ...keys]);
  }

  screen(): string {
    return tmux(['capture-pane', '-p', '-t', this.name]);
  }

  /** Polls the screen until `re` matches it; the error shows the screen. */
  async waitFor(re: RegExp, what: string): Promise<string> {
    let last = '';
    try {
      return await waitFor(what, () => {
        last = this.screen();
        return re.test(last) ? last : undefined;
      }, { timeoutMs: 20_000, intervalMs: 200 });
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- screen ---\n${last}`);
    }
  }

  /** A fresh line: the typed line dropped, the screen cleared, nothing on it but the prompt. */
  async clear(prompt: string): Promise<void> {
    tmux(['send-keys', '-t', this.name, 'C-c']);
    tmux(['send-keys', '-t', this.name, 'C-l']);
    await this.waitFor(new RegExp(`^\\s*${prompt.replace(/[$]/g, '\\$&')}\\s*$`), 'a clean screen');
  }
}

function tmux(args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

/** A screen line that is exactly `text` (tmux drops trailing spaces: typing a marker after a Tab shows the space). */
const line = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');

beforeAll(async () => {
  need('tmux', 'these tests type into real shells on a tmux pseudo-terminal');
  need('bash', 'the bash completion script is tested in bash');
  need('zsh', 'the zsh completion script is tested in zsh');
  if (!existsSync(BASH_COMPLETION)) throw new Error(`${BASH_COMPLETION} is missing: kubectl's bash completion needs the bash-completion package (apt-get install -y bash-completion)`);
  const c = cluster();
  // What `npm install -g` or the archive puts on PATH: the plugin, and kubectl's completion name for it.
  const cli = cliPath();
  symlinkSync(cli, join(dir, 'kubectl-insight'));
  symlinkSync(join(dirname(cli), 'kubectl_complete-insight.js'), join(dir, 'kubectl_complete-insight'));
  // Two contexts of their own, merged before the cluster's (whose current-context stays the current one).
  const contexts = join(dir, 'contexts.yaml');
  writeFileSync(contexts, `apiVersion: v1
kind: Config
clusters:
- name: alpha
  cluster:
    server: https://127.0.0.1:1
- name: beta
  cluster:
    server: https://127.0.0.1:1
users:
- name: nobody
  user:
    token: none
contexts:
- name: alpha-ctx
  context:
    cluster: alpha
    user: nobody
- name: beta-ctx
  context:
    cluster: beta
    user: nobody
`);
  await kubectl(['create', 'namespace', namespace]);
  env = {
    HOME: dir,
    TERM: 'xterm',
    PATH: [dir, c.binDir, dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter),
    KUBECONFIG: [contexts, c.kubeconfig].join(delimiter),
    NO_COLOR: '1',
  };
});

afterAll(async () => {
  try {
    tmux(['kill-server']);
  } catch {
    // no server was started
  }
  await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  rmSync(dir, { recursive: true, force: true });
});

describe('bash', () => {
  let pane: Pane;
  const prompt = '$';
  beforeAll(async () => {
    pane = Pane.start('bash', ['PS1=$ ', 'bash', '--norc', '--noprofile']);
    await pane.waitFor(/^\S$/m, 'the bash prompt');
    pane.type('source <(kubectl-insight completion bash)', 'Enter');
    await pane.waitFor(/^\$ source <\(kubectl-insight completion bash\)\n\$$/m, 'the script sourced');
    await pane.clear(prompt);
  });

  it('completes a command name and adds a space', async () => {
    pane.type('kubectl-insight doc', 'Tab');
    await pane.waitFor(line('$ kubectl-insight doctor'), 'doc -> doctor');
    pane.type('X');
    await pane.waitFor(line('$ kubectl-insight doctor X'), 'the space after doctor');
    await pane.clear(prompt);
  });

  it('lists the options of --output on a second Tab', async () => {
    pane.type('kubectl-insight doctor --output ', 'Tab', 'Tab');
    await pane.waitFor(/^json\s+text\s*$/m, 'json and text listed');
    await pane.clear(prompt);
  });

  it('completes a value after --flag=', async () => {
    pane.type('kubectl-insight doctor --output=j', 'Tab');
    await pane.waitFor(line('$ kubectl-insight doctor --output=json'), '--output=json');
    await pane.clear(prompt);
  });

  it('lists the kubeconfig contexts, and completes one', async () => {
    pane.type('kubectl-insight doctor --context ', 'Tab', 'Tab');
    const screen = await pane.waitFor(/alpha-ctx[\s\S]*beta-ctx/, 'both contexts listed');
    expect(screen).toContain('(cluster alpha)');
    await pane.clear(prompt);
    pane.type('kubectl-insight doctor --context al', 'Tab');
    await pane.waitFor(line('$ kubectl-insight doctor --context alpha-ctx'), 'al -> alpha-ctx');
    await pane.clear(prompt);
  });

  it('completes a namespace from the cluster', async () => {
    pane.type(`kubectl-insight doctor -n ${namespace.slice(0, -2)}`, 'Tab');
    await pane.waitFor(line(`$ kubectl-insight doctor -n ${namespace}`), 'the namespace from the cluster');
    await pane.clear(prompt);
  });

  it('lets bash complete file names for --kubeconfig', async () => {
    pane.type(`kubectl-insight doctor --kubeconfig ${dir}/contexts.y`, 'Tab');
    await pane.waitFor(line(`$ kubectl-insight doctor --kubeconfig ${dir}/contexts.yaml`), 'the file name');
    await pane.clear(prompt);
  });
});

describe('zsh', () => {
  let pane: Pane;
  const prompt = '%';
  beforeAll(async () => {
    pane = Pane.start('zsh', ['PS1=%% ', 'zsh', '-f']);
    await pane.waitFor(/^\S$/m, 'the zsh prompt');
    pane.type('autoload -U compinit && compinit -u && source <(kubectl-insight completion zsh)', 'Enter');
    await pane.waitFor(/source <\(kubectl-insight completion zsh\)\n%$/m, 'the script sourced');
    await pane.clear(prompt);
  });

  it('completes a command name and adds a space', async () => {
    pane.type('kubectl-insight doc', 'Tab');
    await pane.waitFor(line('% kubectl-insight doctor'), 'doc -> doctor');
    pane.type('X');
    await pane.waitFor(line('% kubectl-insight doctor X'), 'the space after doctor');
    await pane.clear(prompt);
  });

  it('lists the options of --output', async () => {
    pane.type('kubectl-insight doctor --output ', 'Tab');
    await pane.waitFor(/^json\s+text\s*$/m, 'json and text listed');
    await pane.clear(prompt);
  });

  it('completes a value after --flag=', async () => {
    pane.type('kubectl-insight doctor --output=j', 'Tab');
    await pane.waitFor(line('% kubectl-insight doctor --output=json'), '--output=json');
    await pane.clear(prompt);
  });

  it('lists the kubeconfig contexts with their clusters', async () => {
    pane.type('kubectl-insight doctor --context ', 'Tab');
    await pane.waitFor(/alpha-ctx\s+-- cluster alpha[\s\S]*beta-ctx\s+-- cluster beta/, 'both contexts listed');
    await pane.clear(prompt);
  });

  it('completes a namespace from the cluster', async () => {
    pane.type(`kubectl-insight doctor -n ${namespace.slice(0, -2)}`, 'Tab');
    await pane.waitFor(line(`% kubectl-insight doctor -n ${namespace}`), 'the namespace from the cluster');
    await pane.clear(prompt);
  });
});

describe('fish', () => {
  let pane: Pane;
  const prompt = '>';
  beforeAll(async () => {
    need('fish', 'the fish completion script is tested in fish');
    pane = Pane.start('fish', ['fish', '--no-config', '-C', 'function fish_prompt; echo -n "> "; end; function fish_right_prompt; end; set -g fish_greeting; set -g fish_autosuggestion_enabled 0']);
    await pane.waitFor(/^\S$/m, 'the fish prompt');
    pane.type('kubectl-insight completion fish | source', 'Enter');
    await pane.waitFor(/completion fish \| source\n>$/m, 'the script sourced');
    await pane.clear(prompt);
  });

  it('completes a command name and adds a space', async () => {
    pane.type('kubectl-insight doc', 'Tab');
    await pane.waitFor(line('> kubectl-insight doctor'), 'doc -> doctor');
    pane.type('X');
    await pane.waitFor(line('> kubectl-insight doctor X'), 'the space after doctor');
    await pane.clear(prompt);
  });

  it('lists the options of --output', async () => {
    pane.type('kubectl-insight doctor --output ', 'Tab');
    await pane.waitFor(/^json\s+text\s*$/m, 'json and text listed');
    await pane.clear(prompt);
  });

  it('completes a namespace from the cluster', async () => {
    pane.type(`kubectl-insight doctor -n ${namespace.slice(0, -2)}`, 'Tab');
    await pane.waitFor(line(`> kubectl-insight doctor -n ${namespace}`), 'the namespace from the cluster');
    await pane.clear(prompt);
  });
});

describe('kubectl insight <TAB> (kubectl\'s bash completion, kubectl_complete-insight on PATH)', () => {
  let pane: Pane;
  const prompt = '$';
  beforeAll(async () => {
    pane = Pane.start('kubectl', ['PS1=$ ', 'bash', '--norc', '--noprofile']);
    await pane.waitFor(/^\S$/m, 'the bash prompt');
    pane.type(`source ${BASH_COMPLETION} && source <(kubectl completion bash)`, 'Enter');
    await pane.waitFor(/source <\(kubectl completion bash\)\n\$$/m, 'kubectl completion sourced');
    await pane.clear(prompt);
  });

  it('completes a command of the plugin and adds a space', async () => {
    pane.type('kubectl insight doc', 'Tab');
    await pane.waitFor(line('$ kubectl insight doctor'), 'doc -> doctor');
    pane.type('X');
    await pane.waitFor(line('$ kubectl insight doctor X'), 'the space after doctor');
    await pane.clear(prompt);
  });

  it('lists the options of --output', async () => {
    pane.type('kubectl insight doctor --output ', 'Tab', 'Tab');
    await pane.waitFor(/^json\s+text\s*$/m, 'json and text listed');
    await pane.clear(prompt);
  });

  it('completes a namespace from the cluster', async () => {
    pane.type(`kubectl insight doctor -n ${namespace.slice(0, -2)}`, 'Tab');
    await pane.waitFor(line(`$ kubectl insight doctor -n ${namespace}`), 'the namespace from the cluster');
    await pane.clear(prompt);
  });
});
