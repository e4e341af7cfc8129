# Ports, process groups and waits for Tapedeck's benchmark, soak and sample
# scripts. Messages name the script that sources this file.
#
# Usage: . scripts/lib/processes.sh; make_work_dir [mktemp template]; then
#   port=$(free_port)
#   spawn NAME COMMAND...                    sets $started_pid, logs to $work/NAME.log
#   wait_listening HOST:PORT PID NAME [SECONDS]  fails (status 2) after SECONDS (10)
#   stop_group PID [SIGNAL]
# On exit every process group spawned is killed and $work removed (kept, and
# named, when $keep_work is 1).

groups=() # process groups this script started, each led by the pid recorded here
also_remove=() # directories besides $work that cleanup removes (kept with $keep_work)

# Makes the directory $work (mktemp -d with the arguments given) and arranges
# the clean-up on exit, and exit status 130 on SIGINT or SIGTERM.
make_work_dir() {
  work=$(mktemp -d "$@")
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

# Kills every process group still in $groups, waits for their leaders, and
# removes $work unless $keep_work is 1.
cleanup() {
  local pid
  for pid in "${groups[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  for pid in "${groups[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${work:-}" ] || return 0
  if [ "${keep_work:-0}" -eq 1 ]; then
    echo "${0##*/}: the files are in $work ${also_remove[*]}" >&2
  else
    rm -rf "$work" "${also_remove[@]}"
  fi
}

# Prints a TCP port below the ephemeral range that no socket uses, as source
# or as destination, so that no outgoing connection takes it before it is bound.
free_port() {
  local low high first last port
  read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || { low=32768 high=60999; }
  if [ "$low" -gt 21000 ]; then first=20000 last=$((low - 1))
  elif [ "$high" -lt 64000 ]; then first=$((high + 1)) last=65535
  else first=20000 last=59999 # the ephemeral range leaves no room
  fi
  for _ in $(seq 50); do
    port=$((first + RANDOM % (last - first + 1)))
    ss -Htan "sport = :$port or dport = :$port" | grep -q . || { echo "$port"; return 0; }
  done
  echo "${0##*/}: found no free port" >&2
  return 2
}

# Starts "$@" in a process group of its own, logging to $work/NAME.log; sets $started_pid.
spawn() {
  local name="$1"
  shift
  setsid "$@" >"$work/$name.log" 2>&1 </dev/null &
  started_pid=$!
  groups+=("$started_pid")
}

# Waits (at most $4 seconds, default 10: a server that reads a large capture
# first wants more) until something listens on the port of HOST:PORT ($1)
# while process $2 lives. On failure, prints $work/NAME.log ($3) and which
# address it waited for, and returns 2 (a setup error, the scripts' exit status).
wait_listening() {
  local address="$1" pid="$2" name="$3" seconds="${4:-10}"
  for _ in $(seq $((seconds * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    ss -Htln "sport = :${address##*:}" | grep -q . && return 0
    sleep 0.1
  done
  cat "$work/$name.log" >&2 2>/dev/null || true
  if kill -0 "$pid" 2>/dev/null; then
    echo "${0##*/}: $name did not start listening on $address within $seconds s" >&2
  else
    echo "${0##*/}: $name exited before listening on $address" >&2
  fi
  return 2
}

# Waits (at most 10 s) until FILE ($1) has a line containing TEXT ($2), while
# process $3 (when given) lives. On failure, prints FILE and returns 2.
wait_for_line() {
  local file="$1" text="$2" pid="${3:-}"
  for _ in $(seq 100); do
    grep -q -- "$text" "$file" 2>/dev/null && return 0
    [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$file" >&2 2>/dev/null || true
  echo "${0##*/}: '$text' did not appear in $file within 10 s" >&2
  return 2
}

# Stops the process group led by $1 with signal $2 (default TERM), then KILL
# after 20 s, and forgets it. A process that stops cleanly costs no more than
# its own shutdown; the 20 s let `tapedeck record` finish its recording.
stop_group() {
  local pid="$1" signal="${2:-TERM}" kept=() kept_pid
  kill -"$signal" -- "-$pid" 2>/dev/null || true
  for _ in $(seq 200); do
    pgrep -g "$pid" >/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for kept_pid in "${groups[@]}"; do [ "$kept_pid" = "$pid" ] || kept+=("$kept_pid"); done
  groups=("${kept[@]}")
}

# Peak resident memory of process $1, in MB.
peak_rss_mb() {
  awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null
}
