/**
 * What a judged list keeps of each object: everything but the fields that repeat the object or grow
 * with the node and no check reads. managedFields is most of a small object's bytes; a node's image
 * list is most of a node's. Lists whose managedFields are read (config-age.ts) do not use this.
 */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Leanable = { kind?: string; metadata?: { managedFields?: unknown; annotations?: Record<string, string> }; status?: { images?: unknown } };

export function lean<T>(item: T): T {
  const o = item as Leanable;
  if (o.metadata) {
    delete o.metadata.managedFields;
    if (o.metadata.annotations && LAST_APPLIED in o.metadata.annotations) delete o.metadata.annotations[LAST_APPLIED];
  }
  // Items of a list carry no kind: a node is what has status.images (pods' images are in containerStatuses).
  if (o.status && 'images' in o.status) delete o.status.images;
  return item;
}
