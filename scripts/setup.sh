#!/usr/bin/env bash
# One-time set-up on a fresh Debian 12 machine, as root: system packages, npm dependencies, build.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(grep -v '^\s*#' scripts/apt-packages.txt | sed '/^\s*$/d')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubectl: the machine's own where it has one (a kubectl package conflicts with Debian's kubernetes-client);
# Debian's (1.20) where it has none. Debian's is also unpacked, not installed, beside the repository's
# build output, so the tests drive the lab's API server with an old kubectl as well as a current one.
if ! command -v kubectl >/dev/null; then
  echo "setup: installing kubectl (kubernetes-client)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi
old_kubectl=dist/tools/kubectl-1.20/usr/bin/kubectl
if [ ! -x "$old_kubectl" ]; then
  echo "setup: unpacking Debian's kubectl 1.20 for the tests"
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download -qq kubernetes-client >/dev/null 2>&1 || { apt-get update -qq && apt-get download -qq kubernetes-client >/dev/null; }); then
    mkdir -p dist/tools/kubectl-1.20 && dpkg -x "$tmp"/kubernetes-client_*.deb dist/tools/kubectl-1.20
  else
    echo "setup: Debian's kubernetes-client could not be downloaded; the old-kubectl tests will be skipped"
  fi
  rm -rf "$tmp"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
npm run --silent build
