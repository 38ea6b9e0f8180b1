# shellcheck shell=bash
# scripts/lib.sh — small helpers shared by the Samba fixture scripts and .ci/run.
# Source it; it defines functions only and changes no shell options.

# port_in_use PORT [HOST] — true if something accepts TCP connections there.
port_in_use() {
  local port=$1 host=${2:-127.0.0.1}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# free_port START [HOST] [TRIES] — print the first port >= START nobody listens on.
free_port() {
  local p=$1 host=${2:-127.0.0.1} tries=${3:-200}
  while ((tries-- > 0)); do
    if ! port_in_use "$p" "$host"; then
      echo "$p"
      return 0
    fi
    p=$((p + 1))
  done
  echo "no free port found from $1 on $host" >&2
  return 1
}

# wait_port PORT HOST SECONDS [PID] — wait until PORT accepts connections.
# Returns 2 early if PID (when given) dies, 1 on timeout.
wait_port() {
  local port=$1 host=$2 secs=$3 pid=${4:-} i
  for ((i = 0; i < secs * 10; i++)); do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      return 2
    fi
    if port_in_use "$port" "$host"; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# smbd_pid_of LABDIR — print the pid recorded for LABDIR's smbd if that process
# is still alive *and* is an smbd using LABDIR/smb.conf (guards against pid reuse).
smbd_pid_of() {
  local labdir=$1 pid cmd
  [[ -f "$labdir/smbd.pid" ]] || return 1
  pid=$(<"$labdir/smbd.pid")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmd" == *smbd* && "$cmd" == *"$labdir/smb.conf"* ]] || return 1
  echo "$pid"
}
