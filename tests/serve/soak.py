"""Soak test for hifp8 serve (loopback only, bounded): N requests from parallel clients mixing valid
completions and chats (random sampling parameters, multi-byte prompts, stop strings, streaming),
malformed JSON, wrong types, oversized bodies (plain and chunked), garbage request lines, unknown
routes and clients that disconnect mid-request. Every response must be well-formed (valid UTF-8;
JSON, or SSE ending in [DONE]) with the status its kind calls for; the server must stay up; its RSS
is sampled after a warm-up and at the end.
Usage: soak.py URL SERVER_PID [REQUESTS] [CLIENTS]  -> prints a JSON summary; exit 1 on any failure."""
import http.client
import json
import random
import socket
import sys
import threading
import time
from urllib.parse import urlparse

url, pid = urlparse(sys.argv[1]), int(sys.argv[2])
total = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
clients = int(sys.argv[4]) if len(sys.argv) > 4 else 16
HOST, PORT = url.hostname, url.port
WORDS = ["Once", "upon", "a", "time", "héllo", "世界", "🎉", "naïve", "café", "Ünïcödé", "日本語", "the", "little", "girl"]


def rss_kb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def prompt(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))


def sampling(rng):
    body = {"max_tokens": rng.randint(1, 16), "temperature": rng.choice([0, 0.3, 1.0, 2.0, 1e-45])}
    if rng.random() < 0.3:
        body["top_p"] = rng.choice([0.1, 0.9, 1.0])
    if rng.random() < 0.3:
        body["top_k"] = rng.choice([0, 1, 5, 50])
    if rng.random() < 0.5:
        body["seed"] = rng.randrange(1 << 31)
    if rng.random() < 0.3:
        body["stop"] = [rng.choice(WORDS), "\n"]
    body["stream"] = rng.random() < 0.5
    return body


def check_body(raw, stream):
    text = raw.decode("utf-8")  # raises on invalid UTF-8
    if not stream:
        json.loads(text)
        return
    events = [line[6:] for line in text.split("\n") if line.startswith("data: ")]
    assert events and events[-1] == "[DONE]", "stream without [DONE]"
    for e in events[:-1]:
        json.loads(e)


def http_request(method, path, body=None, headers=None, timeout=120):
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    headers = headers or {}
    try:
        conn.request(method, path, body=body, headers=headers, encode_chunked="Transfer-Encoding" in headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def raw_exchange(data, read=True):
    with socket.create_connection((HOST, PORT), timeout=30) as s:
        s.sendall(data)
        if not read:
            return None
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except socket.timeout:
            pass
        return b"".join(chunks)


KINDS = ["completion", "chat", "malformed", "wrong_type", "oversized", "chunked_oversized", "garbage", "unknown_route", "disconnect"]
WEIGHTS = [40, 20, 8, 8, 4, 4, 4, 4, 8]
ALLOWED = {"completion": {200, 429}, "chat": {200, 429}, "malformed": {400}, "wrong_type": {400}, "oversized": {413, None},
           "chunked_oversized": {413, None}, "garbage": {400, None}, "unknown_route": {404}, "disconnect": {None}}


def one(rng, kind):
    hdr = {"Content-Type": "application/json"}
    if kind == "completion":
        body = {"prompt": prompt(rng), **sampling(rng)}
        status, raw = http_request("POST", "/v1/completions", json.dumps(body, ensure_ascii=False).encode(), hdr)
        if status == 200:
            check_body(raw, body["stream"])
        return kind, status
    if kind == "chat":
        body = {"messages": [{"role": "user", "content": prompt(rng)}], **sampling(rng)}
        status, raw = http_request("POST", "/v1/chat/completions", json.dumps(body, ensure_ascii=False).encode(), hdr)
        if status == 200:
            check_body(raw, body["stream"])
        return kind, status
    if kind == "malformed":
        status, raw = http_request("POST", "/v1/completions", b'{"prompt": "x", "max_tokens": ' + bytes([rng.randrange(256)]), hdr)
    elif kind == "wrong_type":
        field = rng.choice(["max_tokens", "temperature", "stop", "prompt", "stream", "top_p"])
        status, raw = http_request("POST", "/v1/completions", json.dumps({"prompt": "x", field: {"a": [1]}}).encode(), hdr)
    elif kind == "oversized":
        status, raw = http_request("POST", "/v1/completions", b'{"prompt": "' + b"x" * 70000 + b'"}', hdr)
    elif kind == "chunked_oversized":
        chunks = (b'{"prompt": "' + b"y" * 8192 for _ in range(12))
        status, raw = http_request("POST", "/v1/completions", chunks, {**hdr, "Transfer-Encoding": "chunked"})
    elif kind == "unknown_route":
        status, raw = http_request("GET", "/v1/" + "".join(rng.choice("abc/") for _ in range(8)))
    elif kind == "garbage":
        reply = raw_exchange(bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))) + b"\r\n\r\n")
        if not reply:
            return kind, None
        status, raw = int(reply.split(b" ")[1]), reply.split(b"\r\n\r\n", 1)[-1]
        if raw:
            raw.decode("utf-8")
        return kind, status
    else:  # disconnect: a streaming request, then gone after the headers were sent
        body = json.dumps({"prompt": prompt(rng), "max_tokens": 64, "stream": rng.random() < 0.5}).encode()
        raw_exchange(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body, read=False)
        return kind, None
    check_body(raw, False)
    return kind, status


counts, failures, lock = {}, [], threading.Lock()
issued = [0]
rss_start = [None]


def worker(seed):
    rng = random.Random(seed)
    while True:
        with lock:
            if issued[0] >= total:
                return
            issued[0] += 1
            n = issued[0]
        if n == min(200, total // 4) and rss_start[0] is None:
            rss_start[0] = rss_kb()
        kind = rng.choices(KINDS, WEIGHTS)[0]
        try:
            try:
                kind, status = one(rng, kind)
            except (BrokenPipeError, ConnectionResetError):
                # An oversized body may be refused (413) and the connection closed while it is still
                # being sent: the client then sees the close instead of the answer.
                if kind not in ("oversized", "chunked_oversized"):
                    raise
                status = None
            ok = status in ALLOWED[kind]
            with lock:
                counts.setdefault(kind, {}).setdefault(str(status), 0)
                counts[kind][str(status)] += 1
                if not ok:
                    failures.append(f"{kind}: status {status}")
        except Exception as e:  # noqa: BLE001 - every failure is reported
            with lock:
                failures.append(f"{kind}: {type(e).__name__}: {str(e)[:200]}")


start = time.time()
threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.time() - start
time.sleep(1)
try:
    health, _ = http_request("GET", "/health", timeout=10)
except OSError as e:
    health = repr(e)
summary = {"requests": total, "clients": clients, "seconds": round(elapsed, 1), "health_after": health,
           "rss_kb_after_warmup": rss_start[0], "rss_kb_end": rss_kb(), "counts": counts,
           "failures": len(failures), "first_failures": failures[:10]}
print(json.dumps(summary, indent=1))
sys.exit(0 if not failures and health == 200 else 1)
