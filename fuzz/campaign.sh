#!/usr/bin/env bash
# fuzz/campaign.sh — runs fuzz targets one after another (one core, nice'd) from
# prebuilt binaries, and appends one line per run to a ledger:
#   <target> <executions> <sanitizer> crashes=<n> <log>
# Usage: fuzz/campaign.sh SECONDS [target...]     (default: every target)
# Env: SANITIZER=none|address [none], FUZZ_TARGET_DIR [/var/tmp/pike-tgt-fuzz],
#      LEDGER [fuzz/ledger.txt], LOGS [fuzz/logs].
# Build first: cd fuzz && CARGO_TARGET_DIR=... cargo +nightly fuzz build -O -a -s none
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
secs=${1:?usage: campaign.sh SECONDS [target...]}
shift
san=${SANITIZER:-none}
dir=${FUZZ_TARGET_DIR:-/var/tmp/pike-tgt-fuzz}/x86_64-unknown-linux-gnu/release
ledger=${LEDGER:-ledger.txt}
logs=${LOGS:-logs}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
mkdir -p "$logs"
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log=$logs/$t-$(date +%Y%m%d-%H%M%S).log
  status=0
  nice -n 10 "$dir/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$secs" \
    -print_final_stats=1 "corpus/$t" >"$log" 2>&1 || status=$?
  n=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' || true)
  crashes=$(grep -c 'SUMMARY\|panicked\|deadly signal' "$log" || true)
  echo "$t ${n:-0} $san crashes=$crashes exit=$status $(basename "$log")" >>"$ledger"
done
