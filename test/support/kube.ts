import { kubeCalls, type KubeCalls } from '../../src/kube/errors.js';

/** A fake kube (any slice of the client) with the bound call methods of a real one, against its `server`. */
export function withCalls<K extends object>(k: K): K & KubeCalls {
  if (typeof (k as Partial<KubeCalls>).call === 'function' && typeof (k as Partial<KubeCalls>).delete === 'function') return k as K & KubeCalls;
  return { ...k, ...kubeCalls((k as { server?: string }).server) };
}
