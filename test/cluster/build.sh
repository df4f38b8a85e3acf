#!/usr/bin/env bash
# Builds the local test cluster's binaries from Go modules into a cache outside the repo, keyed by
# version; a component already in the cache is reused, so a warm run takes seconds.
# Prints the bin directory on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
cache=${KUBECTL_INSIGHT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-insight}
export GOFLAGS=${GOFLAGS:--trimpath}
log() { echo "build: $*" >&2; }

build_k8s() {
  local out="$cache/kubernetes-$K8S_VERSION" minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  # Each binary is checked on its own, so an interrupted cold build resumes where it stopped.
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [ -x "$out/$cmd" ] && continue
    log "building $cmd $K8S_VERSION (cold: several minutes)"
    (cd "$here/tools" && go build -ldflags "$ld" -o "$out/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd") && mv "$out/$cmd.tmp" "$out/$cmd"
  done
  if [ ! -x "$out/etcd" ]; then
    log "building etcd (the version kubernetes $K8S_VERSION pins)"
    (cd "$here/tools" && go build -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3) && mv "$out/etcd.tmp" "$out/etcd"
  fi
}

build_install() { # name version package ldflags
  local out="$cache/$1-$2"
  [ -x "$out/$1" ] && return 0
  log "building $1 $2"
  GOBIN="$out" go install -ldflags "$4" "$3@$2"
}

mkdir -p "$cache"
build_k8s
build_install kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
# Both helm majors: helm 4 is what users install today, helm 3 gets security fixes until 2027-02-10.
build_install helm "$HELM3_VERSION" helm.sh/helm/v3/cmd/helm "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
build_install helm "$HELM4_VERSION" helm.sh/helm/v4/cmd/helm "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
# krew and its index's manifest validator: the packaging tests install the plugin with the real krew.
# Left untagged on purpose: krew skips its GitHub upgrade check for an untagged (development) build.
build_install krew "$KREW_VERSION" sigs.k8s.io/krew/cmd/krew "-s -w"
build_install validate-krew-manifest "$KREW_VERSION" sigs.k8s.io/krew/cmd/validate-krew-manifest "-s -w"

# kwok's stage YAMLs ship inside its module download.
stages="$cache/kwok-$KWOK_VERSION/stages"
if [ ! -d "$stages" ]; then
  dir=$(cd /tmp && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$stages.tmp" && cp -r "$dir/kustomize/stage/." "$stages.tmp/" && chmod -R u+w "$stages.tmp" && mv "$stages.tmp" "$stages"
fi
# And its CRDs (Logs, Exec, ...): the harness applies them so kwok's server can take rules at run time.
crds="$cache/kwok-$KWOK_VERSION/crds"
if [ ! -d "$crds" ]; then
  dir=$(cd /tmp && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$crds.tmp" && cp "$dir"/kustomize/crd/bases/*.yaml "$crds.tmp/" && chmod -R u+w "$crds.tmp" && mv "$crds.tmp" "$crds"
fi

# One bin dir of symlinks for the harness and the README's PATH line.
bin="$cache/bin"
mkdir -p "$bin"
for f in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd; do ln -sf "$cache/kubernetes-$K8S_VERSION/$f" "$bin/$f"; done
ln -sf "$cache/kwok-$KWOK_VERSION/kwok" "$bin/kwok"
ln -sf "$cache/helm-$HELM3_VERSION/helm" "$bin/helm3"
ln -sf "$cache/helm-$HELM4_VERSION/helm" "$bin/helm4"
ln -sf "$cache/helm-$HELM4_VERSION/helm" "$bin/helm"
ln -sf "$cache/krew-$KREW_VERSION/krew" "$bin/krew"
ln -sf "$cache/validate-krew-manifest-$KREW_VERSION/validate-krew-manifest" "$bin/validate-krew-manifest"
ln -sfn "$stages" "$cache/stages"
ln -sfn "$crds" "$cache/kwok-crds"
echo "$bin"
