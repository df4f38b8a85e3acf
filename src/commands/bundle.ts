import * as Flags from '@oclif/core/flags';
import { BaseCommand, type CommandResult } from '../base-command.js';
import { ENV } from '../defaults.js';
import { durationFlag } from '../duration.js';
import { InsightError } from '../errors.js';
import { sizeFlag } from '../size.js';

export default class Bundle extends BaseCommand<typeof Bundle> {
  static override summary = 'Write a support bundle: versions, doctor and preflight reports, the release, its objects, events, nodes and logs, redacted.';
  static override description = `Writes one .tar.gz (mode 0600) with a manifest.json that lists every file, where it came from and what
was redacted. Secret data is never included; the AccessKey secret and every value of the release's Secrets
are redacted in every form, and so are tokens, passwords and keys. Read-only: nothing in the cluster is
created or changed. A component that fails is recorded in the manifest and the bundle is still written
(exit 0). Never overwrites a file. Details: docs/bundle.md.`;
  static override examples = [
    '<%= config.bin %> bundle',
    '<%= config.bin %> bundle --output-file support.tar.gz --since 30m',
    '<%= config.bin %> bundle --dry-run',
    "<%= config.bin %> bundle --redact-extra 'corp-[0-9]{6}' --max-size 5MB",
  ];

  static override flags = {
    'output-file': Flags.string({ summary: 'Bundle to write (never overwritten). Default: kubectl-insight-bundle-<context>-<time>.tar.gz here.' }),
    since: durationFlag({ summary: 'Logs newer than this', default: '1h', min: 1000 }),
    'log-bytes': sizeFlag({ summary: 'Log bytes at most per container (current and previous each)', default: '256KiB', min: 1024, max: 64 * 1024 * 1024 }),
    'max-size': sizeFlag({ summary: 'The .tar.gz is never larger; what does not fit is listed as omitted', default: '20MB', min: 16 * 1024, max: 4 * 1024 ** 3 }),
    'redact-extra': Flags.custom<RegExp>({
      summary: 'Also redact text matching this regular expression (repeatable; the pattern itself is never written).',
      multiple: true,
      helpValue: '<regex>',
      parse: async (v) => {
        const { compileExtraPattern } = await import('../bundle/redact.js');
        const re = compileExtraPattern(v);
        if (typeof re === 'string') throw new InsightError('usage', `--redact-extra: the pattern ${re} (not shown)`, { hint: 'Give a JavaScript regular expression, e.g. --redact-extra \'corp-[0-9]{6}\'.' });
        return re;
      },
    })(),
    'allow-unknown-secrets': Flags.boolean({
      summary: "Write the bundle even when the release's stored values cannot be read (its secrets are then unknown: only the rules and patterns redact).",
      default: false,
    }),
    'dry-run': Flags.boolean({ summary: 'List what would be collected, and from where; write nothing.', default: false }),
  };

  protected async execute(): Promise<CommandResult> {
    const flags = this.flags;
    const [{ runBundle, bundleDeps }, out, { loadKubeconfig }, { environmentSecret }] = await Promise.all([
      import('../actions/bundle.js'),
      import('../output/bundle.js'),
      import('../kube/kubeconfig.js'),
      import('../secret.js'),
    ]);
    const kc = loadKubeconfig(this.cfg.connection);
    const context = kc.getCurrentContext();
    const server = kc.getCurrentCluster()?.server ?? '';
    // An unreachable API server is part of what the bundle reports: the local parts are still written.
    const api = await this.cfg.apiClient({ maxSockets: 64 }).then((c) => c.api, (e: unknown) => {
      if (e instanceof InsightError) return e;
      throw e;
    });
    const status = await this.status();
    const secret = environmentSecret();
    const keyId = process.env[ENV.accessKeyId];
    const r = await runBundle(
      {
        namespace: flags.namespace,
        release: flags.release,
        sinceMs: flags.since,
        logBytes: flags['log-bytes'],
        maxSize: flags['max-size'],
        redactExtra: flags['redact-extra'] ?? [],
        dryRun: flags['dry-run'],
        allowUnknownSecrets: flags['allow-unknown-secrets'],
        ...(flags['output-file'] !== undefined ? { outputFile: flags['output-file'] } : {}),
        dir: process.cwd(),
        context,
        server,
      },
      bundleDeps({
        api,
        helm: await this.cfg.helm(),
        kube: await this.cfg.kube(),
        connection: this.cfg.connection,
        context,
        server,
        ...(secret || keyId ? { accessKey: { ...(keyId ? { id: keyId } : {}), ...(secret ? { secret } : {}) } } : {}),
        progress: (m) => status.show(m),
      }),
    );
    status.show('');
    return { json: () => out.renderBundleJson(r), text: (c) => out.renderBundleHuman(r, c) };
  }
}
