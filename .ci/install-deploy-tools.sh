#!/usr/bin/env bash
# Installs the pinned tools the deployment suite (test/deploy/, `npm run test:deploy`) runs:
#   helm           helm.sh/helm/v3/cmd/helm (go install)            lint + template the chart
#   kubeconform    github.com/yannh/kubeconform/cmd/kubeconform     strict schema validation, offline
#   tofu           github.com/opentofu/opentofu (go mod download + go build ./cmd/tofu)   fmt -check; init/apply of the values module
#   kubernetes-validate (PyPI, own venv)                            ships the Kubernetes OpenAPI schemas
#   checkov        (PyPI, own venv)                                 static policy checks
# Everything lands in .ci/tools/ (gitignored): binaries in .ci/tools/bin, Python venvs beside.
# Idempotent: a tool whose pinned version is already installed (stamp file) is left alone.
# Fails loudly (non-zero exit, a message naming the tool); never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
TOFU_VERSION=v1.10.10
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECKOV_VERSION=3.3.30
# The Kubernetes minor the chart is validated for: the newest whose schemas kubernetes-validate ships.
KUBE_SCHEMA_VERSION=v1.37.0

tools=$PWD/.ci/tools
bin=$tools/bin
stamps=$tools/stamps
mkdir -p "$bin" "$stamps"

die() { echo "install-deploy-tools: $*" >&2; exit 1; }
command -v go >/dev/null || die "go is required (go install builds helm, kubeconform and tofu)"
command -v python3 >/dev/null || die "python3 is required (venvs for kubernetes-validate and checkov)"

go_tool() { # name module-path version
  local name=$1 pkg=$2 version=$3
  if [ -x "$bin/$name" ] && [ -e "$stamps/$name-$version" ]; then return 0; fi
  echo "install-deploy-tools: go install $pkg@$version"
  GOBIN=$bin GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "$pkg@$version" \
    || die "go install $pkg@$version failed"
  [ -x "$bin/$name" ] || die "$name is missing after go install"
  rm -f "$stamps/$name-"*
  touch "$stamps/$name-$version"
}

# OpenTofu's go.mod has a replace directive, so `go install …@version` refuses it: fetch the module
# through the Go module proxy (`go mod download`) and build it as the main module, as its own
# release build does.
tofu_tool() {
  local version=$1 dir
  if [ -x "$bin/tofu" ] && [ -e "$stamps/tofu-$version-release" ]; then return 0; fi
  echo "install-deploy-tools: go mod download github.com/opentofu/opentofu@$version; go build ./cmd/tofu"
  dir=$(GOFLAGS=-modcacherw go mod download -json "github.com/opentofu/opentofu@$version" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') \
    || die "go mod download github.com/opentofu/opentofu@$version failed"
  (cd "$dir" && GOFLAGS="-buildvcs=false -mod=readonly" CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$bin/tofu" ./cmd/tofu) \
    || die "go build of opentofu $version failed"
  rm -f "$stamps/tofu-"*
  touch "$stamps/tofu-$version-release"
}

py_tool() { # name version (venv .ci/tools/venv-<name>)
  local name=$1 version=$2 venv=$tools/venv-$1
  if [ -e "$stamps/$name-$version" ] && [ -x "$venv/bin/python" ]; then return 0; fi
  echo "install-deploy-tools: pip install $name==$version"
  rm -rf "$venv"
  if ! python3 -m venv "$venv"; then
    # Debian's python3 ships venv separately.
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; else sudo -n apt-get update -q && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; fi \
      || die "python3 -m venv failed and python3-venv could not be installed"
    python3 -m venv "$venv" || die "python3 -m venv failed for $name"
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$name==$version" \
    || die "pip install $name==$version failed"
  rm -f "$stamps/$name-"*
  touch "$stamps/$name-$version"
}

go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
tofu_tool "$TOFU_VERSION"
py_tool kubernetes-validate "$KUBERNETES_VALIDATE_VERSION"
py_tool checkov "$CHECKOV_VERSION"

# kubeconform reads the OpenAPI schemas kubernetes-validate ships (strict variant), offline. Their $refs
# are absolute (/api/_definitions.json, which kubernetes-validate resolves itself): rewritten here to
# file:// URLs of a project-local copy, so kubeconform resolves them without a network.
schemas=$tools/schemas/$KUBE_SCHEMA_VERSION-local-strict
if [ ! -e "$stamps/schemas-$KUBE_SCHEMA_VERSION-$KUBERNETES_VALIDATE_VERSION" ]; then
  shipped=$("$tools/venv-kubernetes-validate/bin/python" -c 'import kubernetes_validate, os; print(os.path.dirname(kubernetes_validate.__file__))')/kubernetes-json-schema/$KUBE_SCHEMA_VERSION-local-strict
  [ -e "$shipped/_definitions.json" ] || die "kubernetes-validate $KUBERNETES_VALIDATE_VERSION ships no $KUBE_SCHEMA_VERSION-local-strict schemas"
  rm -rf "$schemas"
  mkdir -p "$schemas"
  for f in "$shipped"/*.json; do
    sed "s#\"/api/_definitions.json#\"file://$schemas/_definitions.json#g" "$f" > "$schemas/${f##*/}"
  done
  rm -f "$stamps/schemas-"*
  touch "$stamps/schemas-$KUBE_SCHEMA_VERSION-$KUBERNETES_VALIDATE_VERSION"
fi
[ -e "$schemas/deployment-apps-v1.json" ] || die "the kubeconform schemas in $schemas are incomplete"

ln -sf "$tools/venv-checkov/bin/checkov" "$bin/checkov"
ln -sf "$tools/venv-kubernetes-validate/bin/kubernetes-validate" "$bin/kubernetes-validate"

# Module versions as built (go install leaves the tools' own -version strings at their defaults).
echo "install-deploy-tools: $(go version -m "$bin/helm" | awk '$1 == "mod" {print $2, $3}') (pinned $HELM_VERSION)"
echo "install-deploy-tools: $(go version -m "$bin/kubeconform" | awk '$1 == "mod" {print $2, $3}') (pinned $KUBECONFORM_VERSION)"
echo "install-deploy-tools: $(TF_CLI_CONFIG_FILE=/dev/null "$bin/tofu" version | head -n 1) (pinned $TOFU_VERSION)"
echo "install-deploy-tools: kubernetes-validate $("$tools/venv-kubernetes-validate/bin/python" -m pip show kubernetes-validate 2>/dev/null | sed -n 's/^Version: //p')"
echo "install-deploy-tools: Kubernetes schemas $KUBE_SCHEMA_VERSION (strict): $(ls "$schemas" | wc -l) files in $schemas"
echo "install-deploy-tools: checkov $("$bin/checkov" --version 2>&1)"
