"""Load generator for hifp8 serve without Node.js (machines where bench/serve_load.sh's openai npm
client cannot be installed, such as the lent GPU machine): CLIENTS concurrent streaming clients x
REQUESTS completions each, standard library only. Prints the same JSON line as
tests/serve/openai_client/load.mjs.
  python3 bench/serve_load.py URL MODEL [--clients 64] [--requests 20] [--tokens 16]
"""

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse


def one(url, model, i, tokens, stats, lock):
    body = json.dumps({"model": model, "prompt": f"Story number {i}: once upon a time", "max_tokens": tokens,
                       "temperature": 0.8, "seed": i, "stream": True, "stream_options": {"include_usage": True}})
    start, first, generated = time.perf_counter(), 0.0, 0
    try:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {response.read()[:200]!r}")
        for line in response:
            line = line.strip()
            if not line.startswith(b"data: {"):
                continue
            chunk = json.loads(line[6:])
            if not first and chunk.get("choices") and chunk["choices"][0]["text"]:
                first = time.perf_counter() - start
            if chunk.get("usage"):
                generated = chunk["usage"]["completion_tokens"]
        conn.close()
        with lock:
            stats["latency"].append(time.perf_counter() - start)
            stats["first"].append(first)
            stats["generated"] += generated
    except Exception as e:  # counted and reported, the load goes on
        with lock:
            stats["errors"] += 1
        print(f"request {i}: {e}", file=sys.stderr)


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] * 1e3 if s else 0.0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("model")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--tokens", type=int, default=16)
    a = p.parse_args()
    url = urllib.parse.urlparse(a.url)
    stats, lock = {"latency": [], "first": [], "generated": 0, "errors": 0}, threading.Lock()

    def client(c):
        for r in range(a.requests):
            one(url, a.model, c * a.requests + r, a.tokens, stats, lock)

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    print(json.dumps({
        "clients": a.clients, "requests_per_client": a.requests, "max_tokens": a.tokens, "seconds": round(seconds, 2),
        "requests_per_s": round((a.clients * a.requests - stats["errors"]) / seconds, 2),
        "tokens_per_s": round(stats["generated"] / seconds, 1),
        "latency_ms_p50": round(percentile(stats["latency"], 0.5), 1),
        "latency_ms_p99": round(percentile(stats["latency"], 0.99), 1),
        "first_token_ms_p50": round(percentile(stats["first"], 0.5), 1),
        "first_token_ms_p99": round(percentile(stats["first"], 0.99), 1), "errors": stats["errors"],
    }))
    sys.exit(1 if stats["errors"] else 0)


if __name__ == "__main__":
    main()
