import type { V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { hostPorts } from '../../../src/kube/pods.js';

describe('hostPorts', () => {
  it('a port with hostPort set, with its protocol and container', () => {
    const spec: V1PodSpec = { containers: [{ name: 'c', ports: [{ containerPort: 9100, hostPort: 19100 }, { containerPort: 53, hostPort: 53, protocol: 'UDP' }, { containerPort: 8080 }] }] };
    expect(hostPorts(spec)).toEqual([
      { port: 19100, protocol: 'TCP', container: 'c' },
      { port: 53, protocol: 'UDP', container: 'c' },
    ]);
  });
  it('every containerPort of a hostNetwork pod or template', () => {
    expect(hostPorts({ hostNetwork: true, containers: [{ name: 'c', ports: [{ containerPort: 19100 }] }] })).toEqual([{ port: 19100, protocol: 'TCP', container: 'c' }]);
  });
  it('sidecars count, plain init containers (exited before the pod runs) do not', () => {
    const spec: V1PodSpec = {
      containers: [{ name: 'main' }],
      initContainers: [
        { name: 'setup', ports: [{ containerPort: 1, hostPort: 1001 }] },
        { name: 'proxy', restartPolicy: 'Always', ports: [{ containerPort: 2, hostPort: 1002 }] },
      ],
    };
    expect(hostPorts(spec)).toEqual([{ port: 1002, protocol: 'TCP', container: 'proxy' }]);
  });
  it('no spec, no ports', () => {
    expect(hostPorts(undefined)).toEqual([]);
  });
});
