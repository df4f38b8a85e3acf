import * as Flags from '@oclif/core/flags';
import { BaseCommand, type SharedFlags } from '../base-command.js';
import { durationFlag } from '../duration.js';
import { checkImage, checkRegistry } from '../input.js';
import { CHART, ENV } from '../defaults.js';
import { InsightError } from '../errors.js';
import type { Secret } from '../secret.js';

/** Chart source, values and wait flags shared by install and upgrade. */
export const valueFlags = {
  values: Flags.string({ char: 'f', summary: 'A YAML values file; repeat to merge several, later files win (as helm).', multiple: true, helpGroup: 'VALUES' }),
  set: Flags.string({ summary: "Set a chart value with helm's syntax (a.b=c, list[0]=x, escape commas with \\,). Repeatable. Not for the secret.", multiple: true, helpGroup: 'VALUES' }),
  'set-string': Flags.string({ summary: 'Like --set, but the value is always a string.', multiple: true, helpGroup: 'VALUES' }),
  'ali-uid': Flags.string({ summary: 'Alibaba Cloud account UID (aliUid).', helpGroup: 'VALUES' }),
  'access-key-id': Flags.string({ summary: `AccessKey ID of the RAM user (accessKeyID; default $${ENV.accessKeyId}).`, helpGroup: 'VALUES' }),
  'access-key-secret-stdin': Flags.boolean({ summary: `Read the AccessKey secret from stdin (else $${ENV.accessKeySecret}, a values file, or a prompt on a TTY).`, default: false, helpGroup: 'VALUES' }),
  // Accepted only to refuse it with a clear message instead of oclif echoing the value back as an unknown flag.
  'access-key-secret': Flags.string({ hidden: true }),
  'cluster-id': Flags.string({ summary: 'Cluster identifier from the console install script (clusterID).', helpGroup: 'VALUES' }),
  'cluster-name': Flags.string({ summary: 'Cluster name shown in Cloud Monitor (clusterName).', helpGroup: 'VALUES' }),
  workspace: Flags.string({ summary: 'Cloud Monitor 2.0 workspace name (workspace).', helpGroup: 'VALUES' }),
  region: Flags.string({ summary: 'Region of the workspace, e.g. cn-hangzhou (region).', helpGroup: 'VALUES' }),
  'prometheus-instance-id': Flags.string({ summary: 'Prometheus instance ID (operator.prometheus.prometheusInstanceID).', helpGroup: 'VALUES' }),
  'project-name': Flags.string({ summary: "The workspace's entity store SLS project (entityCollector.projectName).", helpGroup: 'VALUES' }),
  net: Flags.string({ summary: 'Reach Alibaba Cloud over the Internet or the VPC (Intranet).', options: ['Internet', 'Intranet'], helpGroup: 'VALUES' }),
  'disable-alert-rule': Flags.boolean({ summary: 'Do not sync PrometheusRules to cloud alert rules (operator.enableAlertRule=false).', helpGroup: 'VALUES' }),
  'entity-collector': Flags.boolean({ summary: 'Install the entity collector (--no-entity-collector to leave it out).', allowNo: true, helpGroup: 'COMPONENTS' }),
  'kube-state-metrics': Flags.boolean({ summary: 'Install kube-state-metrics.', allowNo: true, helpGroup: 'COMPONENTS' }),
  'node-exporter': Flags.boolean({ summary: 'Install node-exporter (hostPort 19100).', allowNo: true, helpGroup: 'COMPONENTS' }),
  'gpu-exporter': Flags.boolean({ summary: 'Install the GPU exporter (GPU nodes only).', allowNo: true, helpGroup: 'COMPONENTS' }),
  'allow-unknown-region': Flags.boolean({ summary: 'Accept a region id this version does not know (a new region).', default: false, helpGroup: 'VALUES' }),
  chart: Flags.string({ summary: 'Chart to install: a directory, a .tgz, an oci:// or https:// reference, or repo/name (default: the official repository).', helpGroup: 'CHART' }),
  'repo-url': Flags.string({ summary: `Chart repository URL (a mirror; default ${CHART.repoUrl}).`, helpGroup: 'CHART' }),
  version: Flags.string({ summary: 'Chart version (default: the newest).', helpGroup: 'CHART' }),
  'image-registry': Flags.string({ summary: "Pull every component image from this registry host instead (keeps each image's path).", helpGroup: 'CHART', parse: async (v) => checkRegistry(v) }),
  timeout: durationFlag({ summary: 'How long to wait for the rollout', default: '5m', min: 1000 }),
  'dry-run': Flags.boolean({ summary: 'Validate, render and print the plan and manifests (secret redacted); change nothing.', default: false }),
};

type ValueFlags = {
  values?: string[];
  set?: string[];
  'set-string'?: string[];
  'ali-uid'?: string;
  'access-key-id'?: string;
  'access-key-secret-stdin'?: boolean;
  'access-key-secret'?: string;
  'cluster-id'?: string;
  'cluster-name'?: string;
  workspace?: string;
  region?: string;
  'prometheus-instance-id'?: string;
  'project-name'?: string;
  net?: string;
  'disable-alert-rule'?: boolean;
  'entity-collector'?: boolean;
  'kube-state-metrics'?: boolean;
  'node-exporter'?: boolean;
  'gpu-exporter'?: boolean;
  timeout: number;
};


/** Flag values that map to chart values (dotted path → value; undefined when not given). */
function flagValues(f: ValueFlags): Record<string, unknown> {
  const net = f.net ? (f.net.toLowerCase() === 'intranet' ? 'Intranet' : 'Internet') : undefined;
  return {
    aliUid: f['ali-uid'],
    accessKeyID: f['access-key-id'],
    clusterID: f['cluster-id'],
    clusterName: f['cluster-name'],
    workspace: f.workspace,
    region: f.region,
    'operator.prometheus.prometheusInstanceID': f['prometheus-instance-id'],
    'entityCollector.projectName': f['project-name'],
    net,
    'operator.enableAlertRule': f['disable-alert-rule'] ? false : undefined,
    'entityCollector.enabled': f['entity-collector'],
    'kubeStateMetrics.enabled': f['kube-state-metrics'],
    'nodeExporter.enabled': f['node-exporter'],
    'gpuExporter.enabled': f['gpu-exporter'],
  };
}

/**
 * Gather the user's values from files, --set, flags, env, stdin and (install, on a TTY) a prompt.
 * `mode` upgrade ignores the environment: a variable left in the shell must not rotate the key.
 */
export async function gatherValues(f: ValueFlags, mode: 'install' | 'upgrade', opts: { release: string; namespace: string; allowUnknownRegion: boolean; canPrompt: boolean }): Promise<Record<string, unknown>> {
  const v = await import('../actions/values.js');
  if (f['access-key-secret'] !== undefined) {
    const { Secret } = await import('../secret.js');
    new Secret(f['access-key-secret']); // registered, so nothing we print can repeat it
    throw new InsightError('usage', 'the AccessKey secret is not accepted on the command line (--access-key-secret)', {
      hint: `It would show in \`ps\` and your shell history; use ${v.SECRET_SOURCES}. If you already typed it, consider rotating the key.`,
    });
  }
  v.assertNoSecretInSet([...(f.set ?? []), ...(f['set-string'] ?? [])]);
  const files = (f.values ?? []).map((name) => ({ name, values: v.readValuesFile(name) }));
  let stdinSecret: Secret | undefined;
  if (f['access-key-secret-stdin']) {
    stdinSecret = process.stdin.isTTY ? await v.promptSecret() : await v.readSecretFromStream(process.stdin);
  }
  const { values } = v.collectValues({
    files,
    set: f.set ?? [],
    setString: f['set-string'] ?? [],
    flags: flagValues(f),
    useEnv: mode === 'install',
    ...(stdinSecret ? { stdinSecret } : {}),
  });
  // Children (helm, kubectl credential plugins) must not inherit the secret in their environment.
  delete process.env[ENV.accessKeySecret];
  // Prompt for the secret last, and only when everything else is valid: a typo elsewhere must not cost a paste.
  if (mode === 'install' && opts.canPrompt && !(v.getPath(values, v.SECRET_PATH) ?? '')) {
    const { Secret } = await import('../secret.js');
    v.validateValues({ ...values, [v.SECRET_PATH]: new Secret('placeholderplaceholder1234') }, { allowUnknownRegion: opts.allowUnknownRegion, release: opts.release, namespace: opts.namespace });
    values[v.SECRET_PATH] = await v.promptSecret('AccessKey secret (input hidden): ');
  }
  return values;
}

export function chartSource(f: { chart?: string; 'repo-url'?: string; version?: string }) {
  return {
    ...(f.chart ? { chart: f.chart } : {}),
    ...(f['repo-url'] ? { repoUrl: f['repo-url'] } : {}),
    ...(f.version ? { version: f.version } : {}),
  };
}

export async function confirmOnTty(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(a.trim());
  } finally {
    rl.close();
  }
}

export default class Install extends BaseCommand {
  static override summary = 'Install the CloudLens for Container collector (loongcollector-cluster-insight) into the cluster.';
  static override description = `Validates the chart values, runs the preflight checks, installs the Helm chart with the AccessKey secret
passed through a private temp file (never on a command line), waits for every workload to roll out and
verifies the CRDs and the custom resource.

The secret is read from $${ENV.accessKeySecret}, --access-key-secret-stdin, a values file, or a hidden
prompt on a TTY. It is refused on the command line (--set accessKeySecret=... shows in \`ps\`).`;
  static override examples = [
    `${ENV.accessKeyId}=LTAI... ${ENV.accessKeySecret}=... <%= config.bin %> install --ali-uid 1234567890123456 --region cn-hangzhou --cluster-id c1 --cluster-name prod --workspace my-ws --prometheus-instance-id rw-xxx --project-name cms-my-ws-xxx`,
    '<%= config.bin %> install -f values.yaml --access-key-secret-stdin < secret.txt',
    '<%= config.bin %> install -f values.yaml --dry-run',
    '<%= config.bin %> install -f values.yaml --net Intranet --disable-alert-rule --no-gpu-exporter',
  ];

  static override flags = {
    ...valueFlags,
    'skip-preflight': Flags.boolean({ summary: 'Install even if a fatal preflight check fails.', default: false }),
    replace: Flags.boolean({ summary: 'Install over a failed first install, or an uninstalled release kept in history.', default: false }),
    force: Flags.boolean({ summary: `Install a chart whose name is not ${CHART.name} (a renamed fork).`, default: false }),
    'probe-image': Flags.string({ summary: 'Image of the preflight network probe pods (see `kubectl insight preflight --help`).', helpGroup: 'PREFLIGHT', parse: async (v) => checkImage(v) }),
    'preflight-from-local': Flags.boolean({ summary: 'Run the preflight network probes from this machine instead of probe pods on the nodes.', default: false, helpGroup: 'PREFLIGHT' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Install);
    const sf = flags as unknown as SharedFlags;
    const json = flags.output === 'json';
    const timeoutMs = flags.timeout;
    const canPrompt = Boolean(process.stdin.isTTY && process.stderr.isTTY);
    const values = await gatherValues(flags, 'install', { release: flags.release, namespace: flags.namespace, allowUnknownRegion: flags['allow-unknown-region'], canPrompt });

    const [{ installSteps, newInstallContext, installResult }, { Helm }, { createKube }, { runStepsWithProgress, chooseRenderer }, out, preflightGate] = await Promise.all([
      import('../actions/install.js'),
      import('../helm/helm.js'),
      import('../kube/client.js'),
      import('../output/tasks.js'),
      import('../output/install.js'),
      flags['skip-preflight'] || flags['dry-run'] ? undefined : loadPreflightGate({ ...sf, 'probe-image': flags['probe-image'], 'preflight-from-local': flags['preflight-from-local'] }),
    ]);
    const conn = { ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), ...(flags.context ? { context: flags.context } : {}) };
    const helm = new Helm({ ...(flags['helm-binary'] ? { binary: flags['helm-binary'] } : {}), ...conn });
    const ctx = newInstallContext(
      {
        release: flags.release,
        namespace: flags.namespace,
        values,
        chart: chartSource(flags),
        ...(flags['image-registry'] ? { imageRegistry: flags['image-registry'] } : {}),
        allowUnknownRegion: flags['allow-unknown-region'],
        timeoutMs,
        dryRun: flags['dry-run'],
        skipPreflight: flags['skip-preflight'],
        replace: flags.replace,
        force: flags.force,
        yes: flags.yes,
        ...(canPrompt && !json ? { confirm: confirmOnTty } : {}),
      },
      { helm, kube: () => createKube(conn), ...(preflightGate ? { preflight: preflightGate } : {}) },
    );
    const renderer = chooseRenderer({ json, verbose: flags.verbose, isTTY: Boolean(process.stderr.isTTY) });
    try {
      await runStepsWithProgress(installSteps(), ctx, renderer, flags['no-color']);
    } catch (e) {
      if (!json) {
        const detail = out.renderNotReady(e, await this.chalkFor(flags, process.stderr));
        if (detail) process.stderr.write(`${detail}\n`);
      }
      throw e;
    }
    const result = installResult(ctx);
    if (json) this.out(JSON.stringify(out.installJson(result), null, 2));
    else this.out(out.renderInstallText(result, await this.chalkFor(flags)));
  }
}

/** The preflight gate: src/checks/preflight run with install's values (the secret as a Secret). */
export async function loadPreflightGate(flags: SharedFlags & { 'probe-image'?: string; 'preflight-from-local'?: boolean }): Promise<import('../actions/gate.js').PreflightGate> {
  const [{ runPreflight }, { getPath }, { Secret }] = await Promise.all([import('../checks/preflight/index.js'), import('../actions/values.js'), import('../secret.js')]);
  return (req) => {
    const str = (p: string) => {
      const x = getPath(req.values, p);
      return typeof x === 'string' && x ? x : undefined;
    };
    const secret = getPath(req.values, 'accessKeySecret');
    const net = str('net');
    return runPreflight(
      {
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
        ...(flags['helm-binary'] ? { helmBinary: flags['helm-binary'] } : {}),
        namespace: req.namespace,
        release: req.release,
        mode: req.mode,
        values: req.values,
        ...(str('region') ? { region: str('region') } : {}),
        ...(net === 'Intranet' || net === 'Internet' ? { net } : {}),
        ...(str('accessKeyID') ? { accessKeyId: str('accessKeyID') } : {}),
        ...(secret instanceof Secret ? { accessKeySecret: secret } : {}),
        ...(str('entityCollector.projectName') ? { projectName: str('entityCollector.projectName') } : {}),
        ...(str('operator.prometheus.prometheusInstanceID') ? { prometheusInstanceId: str('operator.prometheus.prometheusInstanceID') } : {}),
        ...(flags['probe-image'] ? { probeImage: flags['probe-image'] } : {}),
        ...(flags['preflight-from-local'] ? { fromLocal: true } : {}),
      },
      { onResult: (r) => req.onProgress?.(`${r.id}: ${r.status}`) },
    );
  };
}
