/** `--image-registry`: the chart's images pulled from another registry. No I/O. */
import { hasPath, isMap, setPath, type Values } from './tree.js';

/**
 * Point every component image at another registry: each `<x>.image.repository` in the chart's
 * defaults keeps its path and gets the new host (`registry-cn-hangzhou.ack.aliyuncs.com/acs/loongcollector`
 * → `<registry>/acs/loongcollector`). A repository the user set explicitly wins.
 */
export function rewriteImageRegistry(chartDefaults: Values, userValues: Values, registry: string): Values {
  const host = registry.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
  const overlay: Values = {};
  const walk = (v: unknown, path: string[]) => {
    if (!isMap(v)) return;
    const image = v.image;
    if (isMap(image) && typeof image.repository === 'string') {
      const p = [...path, 'image', 'repository'].join('.');
      if (!hasPath(userValues, p)) {
        const repo = image.repository;
        const slash = repo.indexOf('/');
        const first = slash > 0 ? repo.slice(0, slash) : '';
        // Only the first segment is a host when it has a dot or port (docker's rule).
        const rest = first && /[.:]/.test(first) ? repo.slice(slash + 1) : repo;
        setPath(overlay, p, `${host}/${rest}`);
      }
    }
    for (const [k, x] of Object.entries(v)) if (k !== 'image') walk(x, [...path, k]);
  };
  walk(chartDefaults, []);
  return overlay;
}
