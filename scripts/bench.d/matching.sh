# Request matching rows of scripts/bench-replay: each load runs against
# `tapedeck replay serve --match request` and, in the same run, against
# what it is measured beside. Sourced by bench-replay after processes.sh;
# uses $tapedeck and $work, and fills match_result[...] and match_rows.
#
#   redis   redis-benchmark -t set,get (50 clients) against a mock of a
#           recording of 100,000 SET/GET exchanges over 10,000 keys, beside
#           the real redis-server. Goal: >= 0.5x its rate.
#
# The mocks run with --speed 0 (answers at once, as mitmdump's replay and
# the real servers do: the point is the cost of matching, not recorded time).
#   http    wrk -t1 -c10 on one recorded path against the mock of an HTTP
#           recording, beside mitmdump's server replay of the same traffic
#           (pip install mitmproxy, in a venv). Goal: >= 50x its rate.
#   index   the 100,000-exchange Redis recording: seconds from start to
#           listening, and peak RSS. Goal: < 2 s and < 200 MB.

declare -A match_result=()
MATCH_REQUESTS=50000 # per test: SET and GET make 100,000 exchanges
MATCH_KEYS=10000
MATCH_WRK_SECONDS=${MATCH_WRK_SECONDS:-10}

# rps of redis-benchmark's SET and GET rows against port $1, as "set get".
redis_rates() {
  redis-benchmark -p "$1" -t set,get -n "$MATCH_REQUESTS" -r "$MATCH_KEYS" -c 50 -q 2>/dev/null |
    tr '\r' '\n' | awk '/requests per second/ && !/rps=/ {gsub(":", "", $1); rate[$1] = $2} END {print rate["SET"], rate["GET"]}'
}

# Starts `tapedeck replay serve FILE --listen 127.0.0.1:PORT ARGS...` as NAME;
# waits for it to listen and sets $serve_pid and $serve_seconds (start to listening).
start_mock() {
  local name="$1" file="$2" port="$3" start
  shift 3
  start=$(date +%s.%N)
  spawn "$name" "$tapedeck" replay serve "$file" --listen "127.0.0.1:$port" --speed 0 --log-level warning "$@"
  serve_pid="$started_pid"
  wait_listening "127.0.0.1:$port" "$serve_pid" "$name" 40 || return 2
  serve_seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
}

bench_matching_redis() {
  echo "==> request matching: redis-benchmark against redis-server and against the mock" >&2
  local redis_port record_port mock_port
  redis_port=$(free_port)
  spawn redis-server redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no
  local redis_pid="$started_pid"
  wait_listening "127.0.0.1:$redis_port" "$redis_pid" redis-server || return 2
  record_port=$(free_port)
  spawn record-redis "$tapedeck" record --listen "127.0.0.1:$record_port" --upstream "127.0.0.1:$redis_port" \
    -w "$work/redis.pcap" --quiet --log-level warning
  local record_pid="$started_pid"
  wait_listening "127.0.0.1:$record_port" "$record_pid" record-redis || return 2
  redis_rates "$record_port" >/dev/null
  stop_group "$record_pid"
  read -r match_result[redis,real_set] match_result[redis,real_get] <<<"$(redis_rates "$redis_port")"
  stop_group "$redis_pid"

  mock_port=$(free_port)
  start_mock mock-redis "$work/redis.pcap" "$mock_port" --on-unmatched nearest || return 2
  match_result[index,seconds]="$serve_seconds"
  match_result[index,rss_mb]=$(peak_rss_mb "$serve_pid")
  read -r match_result[redis,mock_set] match_result[redis,mock_get] <<<"$(redis_rates "$mock_port")"
  stop_group "$serve_pid"
  match_result[index,exchanges]=$(grep -o 'recorded exchanges [0-9]*' "$work/mock-redis.log" | grep -o '[0-9]*$' || true)
  grep -E '^redis requests answered' "$work/mock-redis.log" | sed 's/^/    /' >&2 || true
}

bench_matching_http() {
  echo "==> request matching: wrk against the mock and against mitmdump's server replay" >&2
  local venv="${TAPEDECK_MITMPROXY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tapedeck/mitmproxy-venv}"
  if ! [ -x "$venv/bin/mitmdump" ]; then
    echo "    installing mitmproxy into $venv" >&2
    { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check mitmproxy; } >&2 ||
      echo "    could not install mitmproxy; its row is left empty" >&2
  fi
  mkdir -p "$work/site"
  head -c 2048 /dev/urandom | base64 >"$work/site/index.txt"
  local site_port record_port mock_port mitm_port
  site_port=$(free_port)
  spawn site python3 -m http.server --protocol HTTP/1.1 --bind 127.0.0.1 --directory "$work/site" "$site_port"
  local site_pid="$started_pid"
  wait_listening "127.0.0.1:$site_port" "$site_pid" site || return 2
  record_port=$(free_port)
  spawn record-http "$tapedeck" record --listen "127.0.0.1:$record_port" --upstream "127.0.0.1:$site_port" \
    -w "$work/http.pcap" --quiet --log-level warning
  local record_pid="$started_pid"
  wait_listening "127.0.0.1:$record_port" "$record_pid" record-http || return 2
  curl -s -o /dev/null "http://127.0.0.1:$record_port/index.txt"
  stop_group "$record_pid"

  mock_port=$(free_port)
  start_mock mock-http "$work/http.pcap" "$mock_port" || return 2
  match_result[http,mock]=$(wrk -t1 -c10 -d"${MATCH_WRK_SECONDS}s" "http://127.0.0.1:$mock_port/index.txt" | awk '/Requests\/sec/ {print $2}')
  stop_group "$serve_pid"

  if [ -x "$venv/bin/mitmdump" ]; then
    mitm_port=$(free_port)
    spawn mitm-record "$venv/bin/mitmdump" --mode "reverse:http://127.0.0.1:$site_port" -p "$mitm_port" -w "$work/flows" -q
    local mitm_pid="$started_pid"
    wait_listening "127.0.0.1:$mitm_port" "$mitm_pid" mitm-record || return 2
    curl -s -o /dev/null "http://127.0.0.1:$mitm_port/index.txt"
    stop_group "$mitm_pid"
    stop_group "$site_pid"
    mitm_port=$(free_port)
    # Lazy: a reverse proxy otherwise connects to the (stopped) upstream for every client.
    spawn mitm-replay "$venv/bin/mitmdump" --mode "reverse:http://127.0.0.1:$site_port" -p "$mitm_port" -q \
      --set connection_strategy=lazy \
      --server-replay "$work/flows" --set server_replay_reuse=true --set server_replay_ignore_host=true \
      --set server_replay_ignore_port=true
    mitm_pid="$started_pid"
    wait_listening "127.0.0.1:$mitm_port" "$mitm_pid" mitm-replay || return 2
    match_result[http,mitm]=$(wrk -t1 -c10 -d"${MATCH_WRK_SECONDS}s" "http://127.0.0.1:$mitm_port/index.txt" | awk '/Requests\/sec/ {print $2}')
    stop_group "$mitm_pid"
  else
    stop_group "$site_pid"
  fi
}

# Prints the rows and sets $status to 1 when a goal fails.
print_matching() {
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b}'; }
  echo
  printf "%-46s %14s %14s %8s\n" "request matching (replay serve --match request)" "mock" "beside it" "ratio"
  printf "%-46s %14s %14s %8s\n" "redis-benchmark SET, req/s (vs redis-server)" "${match_result[redis,mock_set]:--}" "${match_result[redis,real_set]:--}" "$(ratio "${match_result[redis,mock_set]:-}" "${match_result[redis,real_set]:-}")"
  printf "%-46s %14s %14s %8s\n" "redis-benchmark GET, req/s (vs redis-server)" "${match_result[redis,mock_get]:--}" "${match_result[redis,real_get]:--}" "$(ratio "${match_result[redis,mock_get]:-}" "${match_result[redis,real_get]:-}")"
  printf "%-46s %14s %14s %8s\n" "wrk -t1 -c10, req/s (vs mitmdump server replay)" "${match_result[http,mock]:--}" "${match_result[http,mitm]:--}" "$(ratio "${match_result[http,mock]:-}" "${match_result[http,mitm]:-}")"
  printf "%-46s %14s\n" "index of ${match_result[index,exchanges]:-?} exchanges: load s, peak RSS MB" "${match_result[index,seconds]:--} s, ${match_result[index,rss_mb]:--} MB"
  echo
  at_least() { # name value goal
    if [ "$2" = "-" ] || [ -z "$2" ]; then echo "FAIL $1: no measurement"; status=1
    elif awk -v a="$2" -v b="$3" 'BEGIN {exit !(a >= b)}'; then echo "PASS $1: $2 >= $3"
    else echo "FAIL $1: $2, not >= $3"; status=1; fi
  }
  below() {
    if [ -z "$2" ]; then echo "FAIL $1: no measurement"; status=1
    elif awk -v a="$2" -v b="$3" 'BEGIN {exit !(a < b)}'; then echo "PASS $1: $2 < $3"
    else echo "FAIL $1: $2, not < $3"; status=1; fi
  }
  at_least "mock redis SET rate / redis-server's" "$(ratio "${match_result[redis,mock_set]:-}" "${match_result[redis,real_set]:-}")" 0.5
  at_least "mock redis GET rate / redis-server's" "$(ratio "${match_result[redis,mock_get]:-}" "${match_result[redis,real_get]:-}")" 0.5
  at_least "mock HTTP rate / mitmdump server replay's" "$(ratio "${match_result[http,mock]:-}" "${match_result[http,mitm]:-}")" 50
  below "index load (s)" "${match_result[index,seconds]:-}" 2
  below "index peak RSS (MB)" "${match_result[index,rss_mb]:-}" 200
}
