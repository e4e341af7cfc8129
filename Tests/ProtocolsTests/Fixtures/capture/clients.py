"""Clients whose sessions become fixtures. Each function is one connection."""
import socket
import sys
import time

import psycopg


def raw(port, sends, pause=0.15):
    """Sends each chunk, waits for answers in between; returns nothing."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(0.3)
        for data in sends:
            sock.sendall(data)
            time.sleep(pause)
            try:
                while sock.recv(65536):
                    pass
            except socket.timeout:
                pass


def http_pipelined(port):
    raw(port, [
        b"GET /users/7 HTTP/1.1\r\nHost: localhost\r\n\r\n"
        b"GET /chunked HTTP/1.1\r\nHost: localhost\r\n\r\n"
        b"HEAD /users/7 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /etag HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"v1\"\r\n\r\n",
        b"GET /empty HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /socket HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
        b"raw bytes after the upgrade\n",
    ])


def redis_inline(port):
    raw(port, [b"PING\r\n", b"SET greeting \"hello world\"\r\nGET greeting\r\n", b"\r\n", b"ECHO 'it''s'\r\n", b"QUIT\r\n"])


def redis_resp3(port):
    raw(port, [
        b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n",
        b"*6\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$7\r\nHGETALL\r\n$1\r\nh\r\n",
        b"*4\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\nx\r\n$1\r\ny\r\n*2\r\n$8\r\nSMEMBERS\r\n$1\r\ns\r\n",
        b"".join(b"*3\r\n$5\r\nDEBUG\r\n$8\r\nPROTOCOL\r\n$%d\r\n%s\r\n" % (len(t), t)
                 for t in [b"attrib", b"bignum", b"verbatim", b"double", b"true", b"null", b"map", b"set"]),
        b"*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
        b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n",
        b"*1\r\n$4\r\nPING\r\n",
    ], pause=0.3)


def postgres_extended(port):
    with psycopg.connect(host="127.0.0.1", port=port, user="tapedeck", password="secret", dbname="shop", sslmode="prefer") as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT id, name FROM items WHERE id = %s OR name = %s", (1, "pear"))
            cur.fetchall()
            with conn.pipeline():
                cur.execute("INSERT INTO items (name) VALUES (%s)", ("fig",))
                cur.execute("SELECT count(*) FROM items WHERE name <> %s", ("none",))
                cur.execute("UPDATE items SET name = %s WHERE id = %s", ("kiwi", 2))
            conn.commit()
            try:
                cur.execute("SELECT * FROM missing_table WHERE id = %s", (1,))
            except psycopg.errors.UndefinedTable:
                conn.rollback()
            cur.execute("SELECT %s::text, %s::int, %s::text", ("a\tb", None, "€"))


CLIENTS = {"http_pipelined": http_pipelined, "redis_inline": redis_inline, "redis_resp3": redis_resp3,
           "postgres_extended": postgres_extended}


def redis_pipelined(port):
    commands = [[b"SELECT", b"2"], [b"SET", b"counter", b"10"], [b"MULTI"], [b"INCR", b"counter"], [b"GET", b"counter"],
                [b"EXEC"], [b"LRANGE", b"missing", b"0", b"-1"], [b"GET", b"nothing"], [b"WRONGCMD"]]
    raw(port, [b"".join(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in c) for c in commands)])


def postgres_listen(port):
    with psycopg.connect(host="127.0.0.1", port=port, user="tapedeck", password="secret", dbname="shop", autocommit=True) as listener:
        listener.execute("LISTEN orders")
        with psycopg.connect(host="127.0.0.1", port=port, user="tapedeck", password="secret", dbname="shop", autocommit=True) as notifier:
            notifier.execute("NOTIFY orders, 'order 42 shipped'")
        time.sleep(0.2)
        for _ in listener.notifies(timeout=1, stop_after=1):
            pass
        listener.execute("SELECT 1")


CLIENTS["redis_pipelined"] = redis_pipelined
CLIENTS["postgres_listen"] = postgres_listen
CLIENTS[sys.argv[1]](int(sys.argv[2]))
