import { describe, expect, it } from 'vitest';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { explainPod, imageRegistry, schedulingCauses } from '../../../src/kube/pods.js';

const base = (over: Partial<V1Pod> = {}): V1Pod => ({
  metadata: { name: 'ne-abc', namespace: 'cms-monitoring', uid: 'u1' },
  spec: { nodeName: 'n1', containers: [{ name: 'node-exporter', image: 'registry-cn-hangzhou.ack.aliyuncs.com/acs/node-exporter:v1', ports: [{ containerPort: 19100, hostPort: 19100 }], resources: { limits: { memory: '64Mi' } } }] },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'node-exporter', ready: true, restartCount: 0, image: 'x', imageID: '', state: { running: {} } }] },
  ...over,
});
const ev = (reason: string, message: string, type = 'Warning'): CoreV1Event => ({ involvedObject: { kind: 'Pod', name: 'ne-abc', namespace: 'cms-monitoring', uid: 'u1' }, metadata: {}, reason, message, type, lastTimestamp: new Date() });

describe('explainPod', () => {
  it('is silent for a Running, Ready pod', () => {
    expect(explainPod(base())).toBeUndefined();
  });

  it('names CrashLoopBackOff with restarts and the last exit', () => {
    const p = base();
    p.status!.conditions = [{ type: 'Ready', status: 'False' }];
    p.status!.containerStatuses = [{ name: 'node-exporter', ready: false, restartCount: 7, image: 'x', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'Error', exitCode: 2 } } }];
    const r = explainPod(p)!;
    expect(r.reason).toBe('CrashLoopBackOff');
    expect(r.message).toContain('7 restarts');
    expect(r.message).toContain('Error, exit code 2');
    expect(r.hint).toContain('kubectl logs -n cms-monitoring ne-abc -c node-exporter --previous');
  });

  it('names OOMKilled with the memory limit', () => {
    const p = base();
    p.status!.containerStatuses = [{ name: 'node-exporter', ready: false, restartCount: 3, image: 'x', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }];
    const r = explainPod(p)!;
    expect(r.reason).toBe('OOMKilled');
    expect(r.message).toContain('memory limit 64Mi');
    expect(r.evidence).toContain('exitCode=137');
  });

  it('names an image pull failure with image, registry and the --image-registry hint', () => {
    const p = base();
    p.status!.containerStatuses = [{ name: 'node-exporter', ready: false, restartCount: 0, image: 'x', imageID: '', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } }];
    const r = explainPod(p, [ev('Failed', 'Failed to pull image: dial tcp: i/o timeout')])!;
    expect(r.reason).toBe('ImagePullBackOff');
    expect(r.image).toEqual({ image: 'registry-cn-hangzhou.ack.aliyuncs.com/acs/node-exporter:v1', registry: 'registry-cn-hangzhou.ack.aliyuncs.com' });
    expect(r.hint).toContain('--image-registry');
    expect(r.evidence.join('\n')).toContain('i/o timeout');
  });

  it('names a hostPort conflict from FailedScheduling', () => {
    const p = base({ spec: { ...base().spec!, nodeName: undefined } });
    p.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] };
    const r = explainPod(p, [ev('FailedScheduling', "0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 2 node(s) had untolerated taint {gpu: true}.")])!;
    expect(r.reason).toBe('Unschedulable');
    expect(r.schedulingCauses).toEqual(['host-port', 'taint']);
    expect(r.hint).toContain('hostPort 19100');
    expect(r.hint).toContain('{gpu: true}');
  });

  it('classifies scheduler messages', () => {
    expect(schedulingCauses('0/5 nodes are available: 5 Insufficient memory.')).toEqual(['insufficient-resources']);
    expect(schedulingCauses("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")).toEqual(['node-selector']);
    expect(schedulingCauses('weird')).toEqual(['other']);
  });

  it('says Running but not Ready with the probe event', () => {
    const p = base();
    p.status!.conditions = [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }];
    p.status!.containerStatuses![0]!.ready = false;
    const r = explainPod(p, [ev('Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503')])!;
    expect(r.reason).toBe('NotReady');
    expect(r.message).toContain('statuscode: 503');
  });

  it('ignores events of other pods', () => {
    const p = base({ spec: { ...base().spec!, nodeName: undefined } });
    p.status = { phase: 'Pending' };
    const other = ev('FailedScheduling', 'Insufficient cpu');
    other.involvedObject.uid = 'other';
    expect(explainPod(p, [other])!.reason).toBe('Pending');
  });

  it('finds the registry of an image reference', () => {
    expect(imageRegistry('nginx:1')).toBe('docker.io');
    expect(imageRegistry('prom/node-exporter')).toBe('docker.io');
    expect(imageRegistry('localhost:5000/x')).toBe('localhost:5000');
    expect(imageRegistry('quay.io/prometheus/node-exporter:v1')).toBe('quay.io');
  });
});
