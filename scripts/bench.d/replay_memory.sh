# Memory rows of scripts/bench-replay: replaying a capture larger than the
# memory it may take. Sourced by bench-replay after processes.sh; uses
# $tapedeck, $memory_before (a binary measured alongside, or empty),
# $size_gb and $work, and fills memory_result[...].
#
#   record  `tapedeck record` in front of `tapedeck sample-server` (an echo)
#           while scripts/bench.d/bulk_sessions.py runs 8 sessions at a time,
#           each 256 KiB each way in 64 KiB writes, until the recording holds
#           SIZE GB of payload (half each way): 4,096 sessions a GB. It is
#           written to a disk folder (/var/tmp), not to /dev/shm.
#   drive   `replay drive --speed 0` of it against the echo server: peak RSS
#           (/usr/bin/time) and seconds, start to exit.
#   serve   `replay serve --match order --speed 0` of it, driven by
#           `replay drive --speed 0 --concurrency 1` of the same recording
#           (each connection gets its own session): the server's peak RSS
#           (VmHWM) and the client's seconds.
#   match   request matching over a Redis recording of the same size:
#           scripts/bench.d/redis_values.py (8 connections at a time, each
#           SET k v, GET k, DEL k over keys of its own, 64 KiB values, every
#           value different, a new connection every 32 rounds: sessions of
#           4 MiB each way) through `tapedeck record` in front of redis-server,
#           then the same client against `replay serve --match request
#           --speed 0` of that recording, every reply checked: the server's
#           peak RSS, its seconds from start to listening (reading and
#           indexing), and the client's seconds.
# Goal: peak RSS < 256 MB for all three. $TMPDIR of the replays (where the
# sessions' bytes wait) is the same disk folder.

declare -A memory_result=()
readonly MEMORY_GOAL_MB=256

# Runs the drive and serve rows with binary $2, as row $1.
measure_replay_memory() {
  local row="$1" binary="$2" echo_port="$3" recording="$memory_dir/many.pcap" serve_port
  echo "==> $row: replay drive of the $size_gb GB recording" >&2
  if ! TMPDIR="$memory_dir" /usr/bin/time -f "%M %e" -o "$work/$row-drive.time" "$binary" replay drive "$recording" \
    --target "127.0.0.1:$echo_port" --speed 0 --quiet --log-level warning --report "$work/$row-drive.json" \
    >"$work/$row-drive.out" 2>"$work/$row-drive.err"; then
    cat "$work/$row-drive.out" "$work/$row-drive.err" >&2
    echo "bench-replay: $row replay drive failed" >&2
    return 2
  fi
  read -r kb seconds <"$work/$row-drive.time"
  memory_result[$row,drive_mb]=$((kb / 1024))
  memory_result[$row,drive_s]=$seconds
  memory_result[$row,drive_sessions]=$(json_field "j['sessions'] - j['connect_failures'] - len(j['failures'])" <"$work/$row-drive.json")
  memory_result[$row,drive_mismatches]=$(json_field "len(j['mismatches'])" <"$work/$row-drive.json")

  echo "==> $row: replay serve of the $size_gb GB recording, driven by replay drive" >&2
  serve_port=$(free_port)
  TMPDIR="$memory_dir" spawn "$row-serve" "$binary" replay serve "$recording" --listen "127.0.0.1:$serve_port" \
    --match order --speed 0 --log-level warning
  local serve_pid="$started_pid"
  # Reading a large capture comes before listening.
  wait_listening "127.0.0.1:$serve_port" "$serve_pid" "$row-serve" 600 || return 2
  local start
  start=$(date +%s.%N)
  # One session at a time: the server hands sessions out in order of connection.
  if ! TMPDIR="$memory_dir" "$tapedeck" replay drive "$recording" --target "127.0.0.1:$serve_port" --speed 0 --concurrency 1 --quiet \
    --log-level warning --report "$work/$row-client.json" >"$work/$row-client.out" 2>"$work/$row-client.err"; then
    cat "$work/$row-client.out" "$work/$row-client.err" >&2
    echo "bench-replay: the client of the $row replay serve failed" >&2
    return 2
  fi
  memory_result[$row,serve_s]=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  memory_result[$row,serve_mb]=$(peak_rss_mb "$serve_pid")
  memory_result[$row,serve_mismatches]=$(json_field "len(j['mismatches'])" <"$work/$row-client.json")
  stop_group "$serve_pid" INT
}

# Runs the request-matching row with binary $2, as row $1, over $3.
measure_matching_memory() {
  local row="$1" binary="$2" recording="$3" port start
  echo "==> $row: replay serve --match request of the $size_gb GB Redis recording" >&2
  port=$(free_port)
  start=$(date +%s.%N)
  TMPDIR="$memory_dir" spawn "$row-match" "$binary" replay serve "$recording" --listen "127.0.0.1:$port" \
    --match request --speed 0 --log-level warning
  local serve_pid="$started_pid"
  wait_listening "127.0.0.1:$port" "$serve_pid" "$row-match" 900 || return 2
  memory_result[$row,index_s]=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  if ! python3 scripts/bench.d/redis_values.py 127.0.0.1 "$port" --total-bytes "$redis_value_bytes" --session-rounds 32 >"$work/$row-match-client.json"; then
    cat "$work/$row-match-client.json" >&2
    echo "bench-replay: the $row mock answered a request wrongly" >&2
    return 2
  fi
  memory_result[$row,match_mb]=$(peak_rss_mb "$serve_pid")
  memory_result[$row,match_s]=$(json_field "j['seconds']" <"$work/$row-match-client.json")
  memory_result[$row,match_exchanges]=$(json_field "j['exchanges']" <"$work/$row-match-client.json")
  stop_group "$serve_pid" INT
}

# Records the Redis traffic of the matching row, then measures it.
bench_matching_memory() {
  local redis_port record_port redis_pid record_pid
  # Half the recording each way: values go out in SET and come back in GET.
  redis_value_bytes=$(awk -v g="$size_gb" 'BEGIN {printf "%.0f", g * 2^29}')
  redis_port=$(free_port)
  spawn memory-redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no
  redis_pid="$started_pid"
  wait_listening "127.0.0.1:$redis_port" "$redis_pid" memory-redis || return 2
  echo "==> recording $size_gb GB of Redis SET/GET/DEL of 64 KiB values through tapedeck record" >&2
  record_port=$(free_port)
  spawn memory-record-redis "$tapedeck" record --listen "127.0.0.1:$record_port" --upstream "127.0.0.1:$redis_port" \
    -w "$memory_dir/redis.pcap" --quiet --log-level warning
  record_pid="$started_pid"
  wait_listening "127.0.0.1:$record_port" "$record_pid" memory-record-redis || return 2
  if ! python3 scripts/bench.d/redis_values.py 127.0.0.1 "$record_port" --total-bytes "$redis_value_bytes" --session-rounds 32 >"$work/memory-redis-clients.json"; then
    cat "$work/memory-redis-clients.json" >&2
    echo "bench-replay: the Redis clients failed against redis-server" >&2
    return 2
  fi
  stop_group "$record_pid"
  stop_group "$redis_pid"
  memory_result[redis_file_mb]=$(( $(stat -c %s "$memory_dir/redis.pcap") >> 20 ))
  measure_matching_memory after "$tapedeck" "$memory_dir/redis.pcap" || return 2
  if [ -n "$memory_before" ]; then
    measure_matching_memory before "$memory_before" "$memory_dir/redis.pcap" || return 2
  fi
  rm -f "$memory_dir/redis.pcap" "$memory_dir/redis.pcap.json"
}

bench_replay_memory() {
  memory_dir=$(mktemp -d /var/tmp/tapedeck-bench-replay-memory.XXXXXX)
  also_remove+=("$memory_dir")
  local echo_port record_port echo_pid record_pid
  echo_port=$(free_port)
  spawn memory-echo "$tapedeck" sample-server --listen "127.0.0.1:$echo_port"
  echo_pid="$started_pid"
  wait_listening "127.0.0.1:$echo_port" "$echo_pid" memory-echo || return 2
  echo "==> recording $size_gb GB of 256 KiB sessions through tapedeck record" >&2
  record_port=$(free_port)
  spawn memory-record "$tapedeck" record --listen "127.0.0.1:$record_port" --upstream "127.0.0.1:$echo_port" \
    -w "$memory_dir/many.pcap" --quiet --log-level warning
  record_pid="$started_pid"
  wait_listening "127.0.0.1:$record_port" "$record_pid" memory-record || return 2
  if ! python3 scripts/bench.d/bulk_sessions.py 127.0.0.1 "$record_port" \
    --total-bytes "$(awk -v g="$size_gb" 'BEGIN {printf "%.0f", g * 2^29}')" >"$work/memory-clients.json"; then
    echo "bench-replay: the bulk clients failed" >&2
    return 2
  fi
  stop_group "$record_pid"
  memory_result[sessions]=$(json_field "j['sessions']" <"$work/memory-clients.json")
  memory_result[file_mb]=$(( $(stat -c %s "$memory_dir/many.pcap") >> 20 ))
  measure_replay_memory after "$tapedeck" "$echo_port" || return 2
  if [ -n "$memory_before" ]; then
    measure_replay_memory before "$memory_before" "$echo_port" || return 2
  fi
  stop_group "$echo_pid"
  rm -f "$memory_dir/many.pcap" "$memory_dir/many.pcap.json"
  bench_matching_memory || return 2
  rm -rf "$memory_dir"
}

# Prints the rows and sets $status to 1 when a goal fails.
print_replay_memory() {
  echo
  echo "replaying ${memory_result[sessions]:-?} sessions, a ${memory_result[file_mb]:-?} MB recording (--speed 0, sessions' bytes in a temporary file on disk)"
  printf "%-30s %12s %10s %12s %10s %s\n" binary "drive RSS" "drive" "serve RSS" "serve" "mismatches drive/serve"
  printf "%-30s %12s %10s %12s %10s\n" "" MB s MB s
  local row
  for row in after before; do
    [ -n "${memory_result[$row,drive_mb]:-}" ] || continue
    printf "%-30s %12s %10s %12s %10s %s\n" "$([ "$row" = after ] && echo "$tapedeck" || echo "$memory_before")" \
      "${memory_result[$row,drive_mb]}" "${memory_result[$row,drive_s]}" "${memory_result[$row,serve_mb]:--}" \
      "${memory_result[$row,serve_s]:--}" "${memory_result[$row,drive_mismatches]:--}/${memory_result[$row,serve_mismatches]:--}" | cut -c1-200
  done
  echo
  echo "request matching over a ${memory_result[redis_file_mb]:-?} MB Redis recording (replay serve --match request --speed 0)"
  printf "%-30s %12s %12s %12s %10s\n" binary "serve RSS" "indexing" "answering" "exchanges"
  printf "%-30s %12s %12s %12s\n" "" MB s s
  for row in after before; do
    [ -n "${memory_result[$row,match_mb]:-}" ] || continue
    printf "%-30s %12s %12s %12s %10s\n" "$([ "$row" = after ] && echo "$tapedeck" || echo "$memory_before")" \
      "${memory_result[$row,match_mb]}" "${memory_result[$row,index_s]}" "${memory_result[$row,match_s]}" \
      "${memory_result[$row,match_exchanges]}" | cut -c1-200
  done
  if [ "${memory_result[after,drive_sessions]:-}" != "${memory_result[sessions]:-}" ]; then
    echo "FAIL replay drive played every session: ${memory_result[after,drive_sessions]:-0} of ${memory_result[sessions]:-?}"
    status=1
  fi
  for side in drive serve match; do
    local value="${memory_result[after,${side}_mb]:-}"
    if [ -n "$value" ] && [ "$value" -lt "$MEMORY_GOAL_MB" ]; then
      echo "PASS replay $side peak RSS (MB): $value < $MEMORY_GOAL_MB"
    else
      echo "FAIL replay $side peak RSS (MB): ${value:-no measurement}, not < $MEMORY_GOAL_MB"
      status=1
    fi
  done
}
