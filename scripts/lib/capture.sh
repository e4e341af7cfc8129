# tcpdump captures for Tapedeck's benchmark scripts; needs scripts/lib/processes.sh.
# Usage: start_tcpdump NAME TCPDUMP_ARGS...; ...; stop_tcpdump NAME

# Starts tcpdump with the arguments after NAME ($1) in a process group of its
# own, logging to $work/NAME.log, and waits (at most 10 s) until it captures;
# sets $capture_pid. Returns 2 when it does not start.
start_tcpdump() {
  local name="$1"
  shift
  spawn "$name" tcpdump "$@"
  capture_pid="$started_pid"
  wait_for_line "$work/$name.log" "listening on" "$capture_pid"
}

# Stops the capture started last with SIGINT, so tcpdump writes its file out
# and counts, and sets $dropped to the packets the kernel dropped (empty when
# tcpdump did not say).
stop_tcpdump() {
  local name="$1"
  stop_group "$capture_pid" INT
  dropped=$(awk '/packets? dropped by kernel/ {print $1}' "$work/$name.log")
}
