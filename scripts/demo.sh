#!/usr/bin/env bash
# The main job: on a fresh Debian machine (as root), start a throw-away Samba on
# loopback, run pike's demo against it (write, read back, verify, delete), clean up.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if ! command -v smbd >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends samba samba-vfs-modules >/dev/null
fi
LAB=$(mktemp -d /tmp/pike-demo.XXXXXX)
trap 'bash scripts/samba-down.sh "$LAB" >/dev/null 2>&1 || true; rm -rf "$LAB"' EXIT
PORT=${PIKE_DEMO_PORT:-44590}
SMB_PORT=$PORT bash scripts/samba-up.sh "$LAB" >/dev/null
cargo build -q -p pike-interop --example demo
cargo build -q -p pike --all-features --example quickstart_tokio --example quickstart_blocking
export PIKE_SERVER=127.0.0.1 PIKE_PORT=$PORT PIKE_SHARE=share PIKE_CREDS='LAB\pike%pike-pass'
export PIKE_ENCRYPT=${PIKE_ENCRYPT:-yes}
EX="${CARGO_TARGET_DIR:-target}/debug/examples"
"$EX/demo"
echo "--- README quick start (tokio)"
"$EX/quickstart_tokio"
echo "--- README quick start (blocking)"
"$EX/quickstart_blocking"
