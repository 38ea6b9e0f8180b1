#!/usr/bin/env bash
# scripts/browser-tests.sh — pike-wasm in real headless Chromium against a real Samba:
# starts Samba and websockify relays on loopback, runs the wasm_bindgen_test suite
# (bindings/wasm/tests) and the demo page's end-to-end test, stops everything.
#
# Needs: smbd, websockify, chromium, chromedriver, wasm-bindgen-test-runner and
# wasm-bindgen at the version in Cargo.lock (.ci/run installs them).
# Env: PIKE_BROWSER_PORT_BASE (first port tried) [24580]; PIKE_E2E_DIR (artifacts:
# screenshot, downloads) [a temp dir, printed].
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

LAB=$(mktemp -d /tmp/pike-browser.XXXXXX)
chmod 755 "$LAB" # the share user must traverse it to the Samba lab inside
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  bash scripts/samba-down.sh "$LAB/samba" >/dev/null 2>&1 || true
}
trap cleanup EXIT

port=${PIKE_BROWSER_PORT_BASE:-24580}
mkdir -p "$LAB/samba"
for try in 1 2 3 4 5; do
  port=$(free_port "$port")
  if SMB_PORT=$port bash scripts/samba-up.sh "$LAB/samba" >/dev/null; then break; fi
  ((try < 5)) || exit 1
  port=$((port + 1))
done
SMB_PORT=$port

# websockify pins each relay's one target: the page never chooses the server.
start_relay() { # LISTEN_PORT TARGET_PORT NAME
  websockify "127.0.0.1:$1" "127.0.0.1:$2" >"$LAB/$3.log" 2>&1 &
  PIDS+=($!)
  wait_port "$1" 127.0.0.1 10 "$!" || { cat "$LAB/$3.log" >&2; return 1; }
}
RELAY_PORT=$(free_port $((SMB_PORT + 1)))
start_relay "$RELAY_PORT" "$SMB_PORT" relay
CLOSED_PORT=$(free_port $((RELAY_PORT + 1)))         # nobody listens here
NOSERVER_PORT=$(free_port $((CLOSED_PORT + 1)))
start_relay "$NOSERVER_PORT" "$CLOSED_PORT" relay-noserver
DEAD_PORT=$(free_port $((NOSERVER_PORT + 1)))         # no relay here
ODD_PORT=$(free_port $((DEAD_PORT + 1)))
/usr/bin/python3 bindings/wasm/e2e/ws_oddities.py "$ODD_PORT" >"$LAB/oddities.log" 2>&1 &
PIDS+=($!)
wait_port "$ODD_PORT" 127.0.0.1 10 "$!"

export PIKE_RELAY_URL="ws://127.0.0.1:$RELAY_PORT/"
export PIKE_RELAY_NOSERVER_URL="ws://127.0.0.1:$NOSERVER_PORT/"
export PIKE_RELAY_DEAD_URL="ws://127.0.0.1:$DEAD_PORT/"
export PIKE_WS_ODDITIES_URL="ws://127.0.0.1:$ODD_PORT"
export PIKE_SHARE=share PIKE_CREDS='LAB\pike%pike-pass'
echo "samba :$SMB_PORT, relay $PIKE_RELAY_URL, relay without server $PIKE_RELAY_NOSERVER_URL"

echo "--- wasm_bindgen_test suite in headless Chromium, through websockify"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/bindings/wasm/webdriver.json"
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-300}
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
cargo test -p pike-wasm --target wasm32-unknown-unknown

echo "--- the same suite through pike's own relay (pike relay)"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build -q -p pike-cli
start_pike_relay() { # LISTEN_PORT TARGET_PORT NAME
  "$TARGET/debug/pike" relay --listen "127.0.0.1:$1" --target "127.0.0.1:$2" >"$LAB/$3.log" 2>&1 &
  PIDS+=($!)
  wait_port "$1" 127.0.0.1 10 "$!" || { cat "$LAB/$3.log" >&2; return 1; }
}
PIKE_RELAY_PORT=$(free_port $((ODD_PORT + 1)))
start_pike_relay "$PIKE_RELAY_PORT" "$SMB_PORT" pike-relay
PIKE_NOSERVER_PORT=$(free_port $((PIKE_RELAY_PORT + 1)))
start_pike_relay "$PIKE_NOSERVER_PORT" "$CLOSED_PORT" pike-relay-noserver
PIKE_RELAY_URL="ws://127.0.0.1:$PIKE_RELAY_PORT/" \
  PIKE_RELAY_NOSERVER_URL="ws://127.0.0.1:$PIKE_NOSERVER_PORT/" \
  cargo test -p pike-wasm --target wasm32-unknown-unknown

echo "--- demo page end to end"
cargo build --release -p pike-wasm --target wasm32-unknown-unknown
WWW="$LAB/www"
cp -r bindings/wasm/www "$WWW"
wasm-bindgen --target web --out-dir "$WWW/pkg" \
  "$TARGET/wasm32-unknown-unknown/release/pike_wasm.wasm"
# The TypeScript types are part of the API: the typed signatures must be generated.
for sig in 'export function connect(relayUrl: string, options: ConnectOptions): Promise<Share>;' \
  'list(path: string): Promise<Entry[]>;' 'export interface PikeError extends Error'; do
  grep -qF "$sig" "$WWW/pkg/pike_wasm.d.ts" || { echo "pike_wasm.d.ts lacks: $sig" >&2; exit 1; }
done
HTTP_PORT=$(free_port $((PIKE_NOSERVER_PORT + 1)))
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$WWW" "$HTTP_PORT" \
  >"$LAB/http.log" 2>&1 &
PIDS+=($!)
wait_port "$HTTP_PORT" 127.0.0.1 10 "$!"
export PIKE_E2E_DIR=${PIKE_E2E_DIR:-$LAB/e2e}
mkdir -p "$PIKE_E2E_DIR"
PIKE_PAGE_URL="http://127.0.0.1:$HTTP_PORT/index.html" python3 bindings/wasm/e2e/demo_page.py
