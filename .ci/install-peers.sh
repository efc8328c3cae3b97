#!/usr/bin/env bash
# Installs the real peer programs that the peer-harness tests (test/peers/) start:
#   rsyslog + rsyslog-gnutls  (syslog-over-TLS receiver, RFC 5425 octet counting)
#   curl                      (runs the command a first start logs)
#   prometheus + promtool     (federation: scrapes /federate, remote-writes, checks exposition;
#                              the metrics upstream: --web.enable-remote-write-receiver)
#   victoria-metrics          (the metrics upstream, single-node; Go module, pinned, built into
#                              .peers/bin/ of the repository: test/peers/victoria-metrics.ts finds it there)
#   mimir                     (the metrics upstream with header tenancy, monolithic; Go module, pinned,
#                              built into .peers/bin/: test/peers/mimir.ts finds it there)
# Idempotent: installs only what is missing, then prints the versions. Needs root,
# or passwordless sudo (sudo -n) when not root. Fails loudly; never skips.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

# rsyslog's modules live in /usr/lib/<multiarch>/rsyslog on Debian (/usr/lib/rsyslog elsewhere).
has_module() {
  local f
  for f in /usr/lib/*/rsyslog/"$1" /usr/lib/rsyslog/"$1" /usr/lib64/rsyslog/"$1"; do
    [ -e "$f" ] && return 0
  done
  return 1
}

# Debian packages that must be installed.
need=()
rsyslogd_bin=$(command -v rsyslogd || true)
[ -z "$rsyslogd_bin" ] && [ -x /usr/sbin/rsyslogd ] && rsyslogd_bin=/usr/sbin/rsyslogd
[ -z "$rsyslogd_bin" ] && need+=(rsyslog)
# The gtls network stream driver (imtcp StreamDriver.Name="gtls") ships separately.
if ! has_module lmnsd_gtls.so; then
  need+=(rsyslog-gnutls)
fi
command -v curl >/dev/null || need+=(curl)
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || need+=(prometheus)

if [ "${#need[@]}" -gt 0 ]; then
  echo "install-peers: installing ${need[*]}"
  as_root apt-get update -q
  # policy-rc.d/invoke-rc.d decide whether the package's system service starts;
  # the tests never use it (they run their own rsyslogd with its own config).
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

rsyslogd_bin=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
if [ ! -x "$rsyslogd_bin" ]; then
  echo "install-peers: rsyslogd is still missing after installation" >&2
  exit 1
fi
for m in imtcp.so mmpstrucdata.so lmnsd_gtls.so; do
  if ! has_module "$m"; then
    echo "install-peers: rsyslog module $m is still missing after installation" >&2
    exit 1
  fi
done

echo "install-peers: $("$rsyslogd_bin" -v | head -n 1)"
echo "install-peers: $(curl --version | head -n 1)"
echo "install-peers: $(prometheus --version 2>&1 | head -n 1)"

# VictoriaMetrics single-node, pinned, built with the Go toolchain into the repository's
# .peers/bin (git-ignored). Rebuilt only when the binary is missing or of another version.
VM_VERSION=v1.151.0
repo_root=$(cd "$(dirname "$0")/.." && pwd)
vm_bin="$repo_root/.peers/bin/victoria-metrics"
vm_have() { [ -x "$vm_bin" ] && go version -m "$vm_bin" 2>/dev/null | grep -q "mod[[:space:]]*github.com/VictoriaMetrics/VictoriaMetrics[[:space:]]*$VM_VERSION[[:space:]]"; }
if ! vm_have; then
  command -v go >/dev/null || { echo "install-peers: the Go toolchain is needed to build victoria-metrics" >&2; exit 1; }
  echo "install-peers: building victoria-metrics $VM_VERSION (go install; takes a few minutes)"
  mkdir -p "$repo_root/.peers/bin"
  GOBIN="$repo_root/.peers/bin" go install "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@$VM_VERSION"
fi
if ! vm_have; then
  echo "install-peers: victoria-metrics $VM_VERSION is still missing after installation" >&2
  exit 1
fi
echo "install-peers: victoria-metrics $(go version -m "$vm_bin" | awk '$1 == "mod" { print $3; exit }') ($vm_bin)"

# Grafana Mimir, monolithic, pinned. Its module path has no /v2 suffix, so the Go module proxy
# serves only pseudo-versions (this one is main of 2026-04-23, VERSION 3.0.5), and its go.mod has
# replace directives, so `go install …@version` refuses it: the module source is downloaded,
# copied out of the read-only module cache and built there (no vendor/ in the zip: -mod=mod),
# with the pinned version stamped in, so `mimir -version` tells it. About 10 minutes on 2 cores.
MIMIR_VERSION=v1.3.1-0.20260423142704-aced80d74930
mimir_bin="$repo_root/.peers/bin/mimir"
mimir_have() { [ -x "$mimir_bin" ] && "$mimir_bin" -version 2>/dev/null | grep -q "version $MIMIR_VERSION "; }
if ! mimir_have; then
  command -v go >/dev/null || { echo "install-peers: the Go toolchain is needed to build mimir" >&2; exit 1; }
  echo "install-peers: building mimir $MIMIR_VERSION (module source, go build; takes about 10 minutes)"
  mimir_src=$(go mod download -json "github.com/grafana/mimir@$MIMIR_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$mimir_src" ] && [ -f "$mimir_src/go.mod" ] || { echo "install-peers: go mod download gave no source for mimir $MIMIR_VERSION" >&2; exit 1; }
  mimir_build=$(mktemp -d)
  trap 'rm -rf "$mimir_build"' EXIT
  cp -R "$mimir_src/." "$mimir_build/"
  chmod -R u+w "$mimir_build"
  mkdir -p "$repo_root/.peers/bin"
  (cd "$mimir_build" && GOFLAGS="-mod=mod -buildvcs=false" go build -ldflags "-X github.com/grafana/mimir/pkg/util/version.Version=$MIMIR_VERSION" -o "$mimir_bin" ./cmd/mimir)
  rm -rf "$mimir_build"
  trap - EXIT
fi
if ! mimir_have; then
  echo "install-peers: mimir $MIMIR_VERSION is still missing after installation" >&2
  exit 1
fi
echo "install-peers: $("$mimir_bin" -version | head -n 1) ($mimir_bin)"
dpkg-query -W -f='install-peers: ${Package} ${Version}\n' rsyslog rsyslog-gnutls libgnutls30 2>/dev/null || true
