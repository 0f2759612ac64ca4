#!/usr/bin/env bash
# Installs what Berth needs on Debian 12 (as root): build tools, libseccomp, busybox-static for
# test images, and the anchors the tests and benchmarks compare against; then `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  gcc make libc6-dev libseccomp-dev pkg-config  # native/: berth-init, the probe
  zlib1g-dev                                    # the shim gzips rotated logs (--log-opt compress=true)
  libjemalloc2                                  # berthd's allocator (src/common/daemon-flags.ts)
  busybox-static                                # test rootfs
  util-linux iproute2 procps                    # nsenter for hooks, ip for netns tests, ps
  tini                                          # tini-static: docker-init for --init
  openssl                                       # certificates for the TLS tests
  runc crun containerd docker.io                # anchors: side-by-side tests and benches
  hyperfine                                     # bench timing
  zstd tar attr                                 # zstd layers; GNU tar as the applier's anchor; setfattr for layer xattrs
  docker-registry skopeo umoci apache2-utils    # a real registry (htpasswd auth) and independent image tools
  python3                                       # the console-socket receiver in tests
  containernetworking-plugins iptables          # CNI bridge/host-local for networks (iptables for the plugins' masquerade)
  docker-compose                                # docker-compose v1 as a client in the e2e tests
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  # Installing docker.io/containerd must not start system daemons on this machine: Berth's tests
  # start private ones. policy-rc.d 101 tells invoke-rc.d to start nothing; removed afterwards.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  trap '[ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
