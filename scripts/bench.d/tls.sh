# The TLS rows of scripts/bench (sourced by it): TLS on both sides of the
# target, which ends the client's TLS and speaks TLS again to the upstream.
# HAProxy does the same (`bind … ssl crt`, `server … ssl verify none`);
# tapedeck proxy and record with --tls-cert/--tls-key --upstream-tls
# --upstream-insecure. Every server uses one ECDSA P-256 certificate.
#
#   tlsbulk  iperf3, 1 stream: iperf3 → HAProxy (plain in, TLS out) → target
#           → HAProxy (TLS in, plain out) → iperf3 -s. The two wrappers are
#           the same for every target.
#   tlsset/tlsget redis-benchmark --tls, 50 clients → target → redis-server --tls-port
#   tlshs   openssl s_time -new: full handshakes per second, each a new
#           connection, through the target to HAProxy ending TLS in front of
#           tapedeck's echo server.

readonly TLS_TARGETS=(haproxy proxy record)

tls_certificate() {
  tls_dir="$work/tls"
  mkdir -p "$tls_dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$tls_dir/server.key" -out "$tls_dir/server.crt" -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
  cat "$tls_dir/server.crt" "$tls_dir/server.key" >"$tls_dir/server.pem"
}

# haproxy_tcp NAME LISTEN_PORT BIND_OPTIONS UPSTREAM SERVER_OPTIONS: an HAProxy in tcp mode; sets $started_pid.
haproxy_tcp() {
  local name="$1" port="$2" bind_options="$3" upstream="$4" server_options="$5"
  cat >"$work/$name.cfg" <<CONFIG
global
    maxconn $haproxy_maxconn
    nbthread 2
    tune.ssl.default-dh-param 2048
defaults
    mode tcp
    timeout connect 5s
    timeout client 10m
    timeout server 10m
frontend $name
    bind 127.0.0.1:$port $bind_options
    maxconn $haproxy_maxconn
    default_backend upstream
backend upstream
    server upstream $upstream $server_options maxconn $haproxy_maxconn
CONFIG
  spawn "$name" haproxy -db -f "$work/$name.cfg"
  wait_listening "127.0.0.1:$port" "$started_pid" "$name"
}

# start_tls_target TARGET UPSTREAM_PORT: sets $target_port and $target_pid.
start_tls_target() {
  local target="$1" upstream="$2"
  target_port=$(free_port)
  local tls=(--tls-cert "$tls_dir/server.crt" --tls-key "$tls_dir/server.key" --upstream-tls --upstream-insecure)
  case "$target" in
    haproxy)
      haproxy_tcp "tls-haproxy" "$target_port" "ssl crt $tls_dir/server.pem" "127.0.0.1:$upstream" "ssl verify none" ;;
    proxy)
      spawn proxy "$tapedeck" proxy --listen "127.0.0.1:$target_port" --upstream "127.0.0.1:$upstream" "${tls[@]}" \
        --quiet --log-level warning
      wait_listening "127.0.0.1:$target_port" "$started_pid" proxy ;;
    record)
      spawn record "$tapedeck" record --listen "127.0.0.1:$target_port" --upstream "127.0.0.1:$upstream" "${tls[@]}" \
        -w "$work/record.pcap" -C 1GB -W 2 --quiet --log-level warning
      wait_listening "127.0.0.1:$target_port" "$started_pid" record ;;
  esac
  target_pid="$started_pid"
}

run_tls() {
  local target json csv report out_port out_pid in_port in_pid iperf_port iperf_pid redis_tls_port redis_tls_pid echo_port echo_pid
  tls_certificate

  iperf_port=$(free_port)
  spawn iperf3 iperf3 -s -B 127.0.0.1 -p "$iperf_port"
  iperf_pid="$started_pid"
  wait_listening "127.0.0.1:$iperf_port" "$iperf_pid" iperf3
  out_port=$(free_port)
  haproxy_tcp tls-out "$out_port" "ssl crt $tls_dir/server.pem" "127.0.0.1:$iperf_port" ""
  out_pid="$started_pid"
  for target in "${TLS_TARGETS[@]}"; do
    echo "==> TLS bulk: $target" >&2
    start_tls_target "$target" "$out_port"
    in_port=$(free_port)
    haproxy_tcp tls-in "$in_port" "" "127.0.0.1:$target_port" "ssl verify none"
    in_pid="$started_pid"
    for _ in $(seq "$runs"); do
      json=$(timeout $((iperf_seconds + 15)) iperf3 -c 127.0.0.1 -p "$in_port" -t "$iperf_seconds" -J) || {
        echo "bench: iperf3 over TLS through $target failed" >&2
        continue
      }
      keep_best tlsbulk "$target" "$(json_field "j['end']['sum_received']['bits_per_second'] / 1e9" <<<"$json")" higher
    done
    stop_group "$in_pid"
    stop_target
  done
  stop_group "$out_pid"
  stop_group "$iperf_pid"

  redis_tls_port=$(free_port)
  spawn redis-tls redis-server --bind 127.0.0.1 --port 0 --tls-port "$redis_tls_port" \
    --tls-cert-file "$tls_dir/server.crt" --tls-key-file "$tls_dir/server.key" --tls-ca-cert-file "$tls_dir/server.crt" \
    --tls-auth-clients no --save "" --appendonly no --protected-mode no
  redis_tls_pid="$started_pid"
  wait_listening "127.0.0.1:$redis_tls_port" "$redis_tls_pid" redis-tls
  for target in "${TLS_TARGETS[@]}"; do
    echo "==> TLS requests: $target" >&2
    start_tls_target "$target" "$redis_tls_port"
    for _ in $(seq "$runs"); do
      csv=$(timeout "$redis_limit" redis-benchmark --tls --cacert "$tls_dir/server.crt" -h 127.0.0.1 -p "$target_port" \
        -c 50 -n "$redis_requests" -t set,get --csv) || {
        echo "bench: redis-benchmark --tls through $target failed" >&2
        continue
      }
      keep_best tlsset "$target" "$(csv_field SET 2 <<<"$csv")" higher
      keep_best tlsget "$target" "$(csv_field GET 2 <<<"$csv")" higher
    done
    stop_target
  done
  stop_group "$redis_tls_pid"

  echo_port=$(free_port)
  spawn echo "$tapedeck" sample-server --listen "127.0.0.1:$echo_port"
  echo_pid="$started_pid"
  wait_listening "127.0.0.1:$echo_port" "$echo_pid" echo
  out_port=$(free_port)
  haproxy_tcp tls-echo "$out_port" "ssl crt $tls_dir/server.pem" "127.0.0.1:$echo_port" ""
  out_pid="$started_pid"
  for target in "${TLS_TARGETS[@]}"; do
    echo "==> TLS handshakes: $target" >&2
    start_tls_target "$target" "$out_port"
    for _ in $(seq "$runs"); do
      report=$(timeout $((churn_limit + 20)) openssl s_time -connect "127.0.0.1:$target_port" -new -time "$churn_limit" \
        -CAfile "$tls_dir/server.crt" 2>&1) || true
      keep_best tlshs "$target" "$(awk '/connections in [0-9.]+ real seconds/ {printf "%.1f", $1 / $4; exit}' <<<"$report")" higher
    done
    stop_target
  done
  stop_group "$out_pid"
  stop_group "$echo_pid"
}
