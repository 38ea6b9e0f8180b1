#!/usr/bin/env bash
# scripts/samba-matrix.sh [NAME...] — sanity-check the Samba configs of the CI
# matrix (the MATRIX table in .ci/run) without building pike: start each config
# with samba-up.sh, connect with smbclient in several client modes, and print a
# markdown table of what each connection negotiated (from smbstatus) or the
# client's error. Each smbd is stopped again. Needs root, samba and smbclient.
#   SMB_PORT   first port tried [44601]
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/lib.sh"

CREDS='LAB\pike%pike-pass'
CLIENT_MODES=(
  "-m SMB3_11"
  "-m SMB3_02"
  "-m SMB3_00"
  "-m SMB2_10"
  "-m SMB2_02"
  "-m SMB3_11 --client-protection=sign"
  "-m SMB3_11 --client-protection=encrypt"
  "-m SMB2_02 --client-protection=encrypt"
)

# the table between <<'MATRIX' and MATRIX in .ci/run
rows=$(sed -n "/<<'MATRIX'/,/^MATRIX\$/{/MATRIX/d;p}" "$ROOT/.ci/run")
port=${SMB_PORT:-44601}
LAB=
trap '[[ -n "$LAB" ]] && KEEP_LABDIR=0 "$HERE/samba-down.sh" "$LAB" >/dev/null' EXIT

echo "| config | smbclient | result | dialect | encryption | signing |"
echo "|---|---|---|---|---|---|"
while IFS='|' read -r name senv _; do
  name=${name//[[:space:]]/}
  [[ -z "$name" || "$name" == \#* ]] && continue
  if (($#)) && [[ " $* " != *" $name "* ]]; then continue; fi
  read -r -a server_env <<<"$senv"
  [[ "${server_env[*]}" == - ]] && server_env=()
  port=$(free_port "$port") || exit 1
  LAB=$(mktemp -d "/tmp/pike-matrix-$name.XXXXXX")
  if ! env SMB_PORT="$port" "${server_env[@]}" "$HERE/samba-up.sh" "$LAB" >/dev/null; then
    echo "| $name | - | SERVER FAILED | | | |"
    continue
  fi
  for mode in "${CLIENT_MODES[@]}"; do
    out=$(mktemp)
    # keep the session open long enough for smbstatus to see it
    # shellcheck disable=SC2086
    (echo ls; sleep 1; echo quit) | smbclient -p "$port" //127.0.0.1/share -U "$CREDS" $mode >"$out" 2>&1 &
    cpid=$!
    sleep 0.6
    st=$(smbstatus -s "$LAB/smb.conf" -b 2>/dev/null | awk '/^[0-9]+ +pike/ {print $(NF-2)"|"$(NF-1)"|"$NF}' | tail -1)
    wait "$cpid"
    rc=$?
    if ((rc == 0)) && grep -q 'blocks available' "$out"; then
      IFS='|' read -r d e s <<<"$st"
      echo "| $name | \`$mode\` | ok | ${d:-?} | ${e:-?} | ${s:-?} |"
    else
      err=$(grep -v '^[[:space:]]*$' "$out" | tail -1 | tr '|' '/')
      echo "| $name | \`$mode\` | FAIL: $err | | | |"
    fi
    rm -f "$out"
  done
  KEEP_LABDIR=0 "$HERE/samba-down.sh" "$LAB" >/dev/null
  LAB=
  port=$((port + 1))
done <<<"$rows"
