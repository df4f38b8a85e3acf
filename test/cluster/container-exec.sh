#!/bin/sh
# What `kubectl exec` runs on a fake pod. kwok's server runs an exec as a plain process on this host
# (exec.Command: cmd[0] is looked up on kwok's own PATH). The harness puts a directory first on kwok's PATH
# whose sh, tail, cat, ... are symlinks to this script ($INSIGHT_E2E_SHIM_DIR), so that a pod's exec sees
# the pod's files where the container would have them, and nothing is written to the host's real paths:
#   - without INSIGHT_E2E_ROOTFS (no Exec rule asks for files): runs the real tool, as if there were no shim;
#   - with it (set by the ClusterExec's envs, see serveContainerFiles in test/e2e/support/cluster.ts):
#     re-runs itself in a private mount namespace, bind-mounts $INSIGHT_E2E_ROOTFS<dir> over <dir> for
#     every <dir> in INSIGHT_E2E_MOUNTS (colon-separated, e.g. /usr/local), then runs the real tool there.
#     Every later command of the exec (the `tail` of an `sh -c`, a glob, a `2>/dev/null || ...`) then
#     sees the fixture directory as a container sees its image, and the host's own content of <dir> is
#     hidden from it. The mounts vanish with the process; the host's mount table never sees them.
set -eu
tool=${0##*/}

# Drop the shim directory from PATH, so the real tool is found and nothing below recurses into here.
if [ -n "${INSIGHT_E2E_SHIM_DIR:-}" ]; then
  path=''
  rest=$PATH:
  while [ -n "$rest" ]; do
    entry=${rest%%:*}
    rest=${rest#*:}
    [ "$entry" = "$INSIGHT_E2E_SHIM_DIR" ] || path=${path:+$path:}$entry
  done
  PATH=$path
  export PATH
fi

if [ -z "${INSIGHT_E2E_ROOTFS:-}" ]; then
  exec "$tool" "$@"
fi

if [ -z "${INSIGHT_E2E_IN_MOUNT_NS:-}" ]; then
  INSIGHT_E2E_IN_MOUNT_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

rest=${INSIGHT_E2E_MOUNTS:-}:
while [ "$rest" != ":" ] && [ -n "$rest" ]; do
  dir=${rest%%:*}
  rest=${rest#*:}
  [ -n "$dir" ] && mount --bind "$INSIGHT_E2E_ROOTFS$dir" "$dir"
done
unset INSIGHT_E2E_ROOTFS INSIGHT_E2E_MOUNTS INSIGHT_E2E_IN_MOUNT_NS INSIGHT_E2E_SHIM_DIR
exec "$tool" "$@"
