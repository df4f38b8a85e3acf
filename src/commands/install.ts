import { BaseCommand } from '../base-command.js';

export default class Install extends BaseCommand {
  static override summary = 'Install the CloudLens for Container collector (loongcollector-cluster-insight) into the cluster.';
  static override description = `Validates the chart values, runs the preflight checks, installs the Helm chart with the AccessKey secret
passed through a private temp file (never on a command line), waits for every workload to roll out and
verifies the CRDs and the custom resource.`;
  static override examples = [
    'ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI... <%= config.bin %> install --region cn-hangzhou --cluster-id c1 ... --access-key-secret-stdin < secret.txt',
    '<%= config.bin %> install -f values.yaml --dry-run',
  ];

  async run(): Promise<void> {
    await this.parse(Install);
    this.notBuilt(4);
  }
}
