#!/usr/bin/env bash
# scripts/samba-down.sh LABDIR — stop the smbd that scripts/samba-up.sh started
# in LABDIR: SIGTERM to its pid (wait up to 10 s), then SIGTERM to its own
# process group (samba-up.sh starts smbd under setsid, so pgid == pid and the
# group holds only its helpers), then SIGKILL to whatever is left.
# Nothing else is touched: no pkill, no other smbd.
# KEEP_LABDIR=0 also deletes LABDIR afterwards (default: keep it for the logs).
# Exits 0 if nothing was running.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/lib.sh"

LABDIR=${1:?usage: samba-down.sh LABDIR}
[[ -d "$LABDIR" ]] || { echo "samba-down: no such dir $LABDIR" >&2; exit 1; }
LABDIR=$(cd "$LABDIR" && pwd)
PIDFILE="$LABDIR/smbd.pid"

group_alive() { pgrep -g "$1" >/dev/null 2>&1; }

if [[ -f "$PIDFILE" ]]; then
  PID=$(<"$PIDFILE")
  if [[ "$PID" =~ ^[0-9]+$ ]]; then
    if smbd_pid_of "$LABDIR" >/dev/null; then
      kill -TERM "$PID" 2>/dev/null || true
      for _ in $(seq 100); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
      done
      # the group is only ours if its leader was our smbd (pgid == pid, via setsid)
      OURS=1
    else
      # smbd already gone; its group id may live on in orphaned helpers, whose
      # command lines still name our smb.conf
      OURS=0
      for p in $(pgrep -g "$PID" 2>/dev/null); do
        if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$LABDIR/smb.conf"; then OURS=1; fi
      done
    fi
    if ((OURS)) && group_alive "$PID"; then
      kill -TERM -- "-$PID" 2>/dev/null || true
      for _ in $(seq 50); do
        group_alive "$PID" || break
        sleep 0.1
      done
      if group_alive "$PID"; then kill -KILL -- "-$PID" 2>/dev/null || true; fi
    fi
    if ((OURS)) && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
    echo "samba-down: stopped smbd $PID ($LABDIR)"
  fi
  rm -f "$PIDFILE"
else
  echo "samba-down: no smbd recorded in $LABDIR"
fi

if [[ "${KEEP_LABDIR:-1}" == 0 ]]; then
  rm -rf -- "$LABDIR"
fi
