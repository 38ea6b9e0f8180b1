#!/usr/bin/env bash
# The main job: on a fresh Debian machine (as root), start a throw-away Samba on
# loopback, run a short `pike` CLI session against it (put, ls, get, verify the
# sha256, rm), then the library demo and the README quick starts; clean up.
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
# below Linux's ephemeral port range; a few tries in case a port is taken
PORT=${PIKE_DEMO_PORT:-24590}
for try in 1 2 3 4 5; do
  if SMB_PORT=$PORT bash scripts/samba-up.sh "$LAB" >/dev/null; then break; fi
  ((try < 5)) || exit 1
  PORT=$((PORT + 1))
done
cargo build -q -p pike-cli
cargo build -q -p pike-interop --example demo
cargo build -q -p pike --all-features --example quickstart_tokio --example quickstart_blocking
export PIKE_SERVER=127.0.0.1 PIKE_PORT=$PORT PIKE_SHARE=share PIKE_CREDS='LAB\pike%pike-pass'
export PIKE_ENCRYPT=${PIKE_ENCRYPT:-yes}
EX="${CARGO_TARGET_DIR:-target}/debug/examples"
PIKE="${CARGO_TARGET_DIR:-target}/debug/pike"
R="//127.0.0.1:$PORT/share"
run() {
  echo "+ pike $*"
  "$PIKE" "$@"
}
echo "--- pike CLI session (PIKE_CREDS from the environment; -U 'DOMAIN\\user%pass' works too)"
head -c $((8 << 20)) /dev/urandom >"$LAB/demo.bin"
run put "$LAB/demo.bin" "$R/demo.bin"
run ls "$R"
run get "$R/demo.bin" "$LAB/demo.back"
want=$(sha256sum <"$LAB/demo.bin")
got=$(sha256sum <"$LAB/demo.back")
if [[ "$want" != "$got" ]]; then
  echo "demo: sha256 mismatch after put/get: ${want%% *} != ${got%% *}" >&2
  exit 1
fi
echo "sha256 verified: ${got%% *}"
run stat "$R/demo.bin"
run rm "$R/demo.bin"
echo "--- library demo"
"$EX/demo"
echo "--- README quick start (tokio)"
"$EX/quickstart_tokio"
echo "--- README quick start (blocking)"
"$EX/quickstart_blocking"
