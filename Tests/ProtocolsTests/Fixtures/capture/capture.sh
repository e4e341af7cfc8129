#!/usr/bin/env bash
# Captures the real sessions the Protocols tests replay, on loopback, and
# writes them as .chunks fixtures in the folder above. Needs (Debian):
# redis-server redis-tools postgresql tcpdump tshark curl, and
# `pip install "psycopg[binary]"`. Run from anywhere, as root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/.." && pwd)
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/pg/postmaster.pid" ] && su postgres -c "pg_ctl -D $work/pg -m fast stop" >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

capture() { # name port command...
    local name=$1 port=$2
    shift 2
    tcpdump -i lo -U -w "$work/$name.pcap" "tcp port $port" 2>/dev/null &
    local dump=$!
    sleep 1
    "$@"
    sleep 1
    kill "$dump"
    wait "$dump" || true
    (cd "$out" && python3 "$here/to_chunks.py" "$work/$name.pcap" "$port" "$name")
}

# HTTP
python3 "$here/http_server.py" 18080 &
pids+=($!)
sleep 1
capture http-pipelined 18080 python3 "$here/clients.py" http_pipelined 18080
capture http-curl 18080 curl -s -o /dev/null -o /dev/null -o /dev/null \
    http://127.0.0.1:18080/users/7 http://127.0.0.1:18080/chunked --next -s -o /dev/null \
    -H 'Expect: 100-continue' -H 'Content-Type: application/json' --data '{"name": "Ada", "tags": ["a", "b"]}' http://127.0.0.1:18080/users

# Redis
redis-server --port 16390 --save '' --appendonly no --enable-debug-command yes --daemonize no >/dev/null &
pids+=($!)
sleep 1
capture redis-cli 16390 bash -c 'printf "SELECT 1\nSET user:7 Ada\nGET user:7\nDEL nothing\nHSET h f v\nHGETALL h\n" | redis-cli -p 16390 >/dev/null'
capture redis-pipelined 16390 python3 "$here/clients.py" redis_pipelined 16390
capture redis-inline 16390 python3 "$here/clients.py" redis_inline 16390
capture redis-resp3 16390 python3 "$here/clients.py" redis_resp3 16390
capture redis-pubsub 16390 bash -c '(timeout 2 redis-cli -p 16390 SUBSCRIBE news alerts >/dev/null &) ; sleep 0.5; redis-cli -p 16390 PUBLISH news "hello subscribers" >/dev/null; redis-cli -p 16390 PUBLISH alerts "disk full" >/dev/null; sleep 2'

# PostgreSQL: SCRAM over TCP, no TLS (so SSLRequest is answered N)
mkdir "$work/pg" "$work/run"
echo secret >"$work/run/password"
chown postgres "$work/pg" "$work/run" "$work/run/password"
su postgres -c "initdb -D $work/pg -A scram-sha-256 --pwfile=$work/run/password -U postgres" >/dev/null
su postgres -c "pg_ctl -D $work/pg -o '-p 15441 -k $work/run -c listen_addresses=127.0.0.1' -l $work/run/pg.log start -w" >/dev/null
export PGPASSWORD=secret
psql -h 127.0.0.1 -p 15441 -U postgres -q -c "CREATE USER tapedeck PASSWORD 'secret'" -c "CREATE DATABASE shop OWNER tapedeck"
psql -h 127.0.0.1 -p 15441 -U tapedeck -q shop -c "CREATE TABLE items (id serial PRIMARY KEY, name text)" -c "INSERT INTO items (name) VALUES ('apple'), ('pear')"
psql_shop() { psql "host=127.0.0.1 port=15441 user=tapedeck dbname=shop sslmode=prefer" -q "$@" >/dev/null 2>&1 || true; }
capture postgres-simple 15441 psql_shop -c "BEGIN; INSERT INTO items (name) VALUES ('plum'); SELECT id, name FROM items ORDER BY id; COMMIT" \
    -c "SELECT 1; SELECT 1/0; SELECT 2" -c "DO \$\$ BEGIN RAISE NOTICE 'stock is low: %', 3; END \$\$"
capture postgres-copy 15441 bash -c "printf 'cherry\nmango\n' | psql 'host=127.0.0.1 port=15441 user=tapedeck dbname=shop sslmode=prefer' -q -c 'COPY items (name) FROM STDIN' -c 'COPY items TO STDOUT' >/dev/null"
capture postgres-extended 15441 python3 "$here/clients.py" postgres_extended 15441
capture postgres-listen 15441 python3 "$here/clients.py" postgres_listen 15441
