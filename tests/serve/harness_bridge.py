"""The server as lm-eval-harness and evalscope use it (stdlib only): prompt log-probs summed equal
`hifp8 eval ppl`'s NLL; a request log in lm-eval-harness's local-completions shape (batched token-id
prompts, echo, max_tokens 1, logprobs 1; generate_until with stop strings) answered as its parser
expects; chat log-probs.   harness_bridge.py URL HIFP8 MODEL TEXT_FILE REQUESTS.jsonl"""
import json
import math
import subprocess
import sys
import urllib.request

url, hifp8, model, text_file, requests_file = sys.argv[1:6]
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    failures += not ok


def post(path, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


ids = [int(t) for t in subprocess.run([hifp8, "tokenize", "--model", model, "--file", text_file, "--ids-only"],
                                      capture_output=True, text=True, check=True).stdout.split()]
ppl = json.loads(subprocess.run([hifp8, "eval", "ppl", "--model", model, "--text", text_file, "--ctx", "1024", "--stride", "1024",
                                 "--json", "--quiet"], capture_output=True, text=True, check=True).stdout)
r = post("/v1/completions", {"prompt": ids, "echo": True, "max_tokens": 0, "logprobs": 0, "temperature": 0})
lp = r["choices"][0]["logprobs"]
check("echo returns one entry per prompt token", len(lp["token_logprobs"]) == len(ids), f"{len(lp['token_logprobs'])} vs {len(ids)}")
check("the first prompt token has no log-prob", lp["token_logprobs"][0] is None)
nll = -sum(lp["token_logprobs"][1:])
ref = ppl["mean_nll"] * ppl["tokens"]
check("summed log-probs equal eval ppl's NLL (1e-4 relative)", abs(nll - ref) <= 1e-4 * abs(ref), f"{nll} vs {ref}")
print(f"     NLL over {len(ids) - 1} tokens: {nll:.6f} (server) vs {ref:.6f} (eval ppl), relative {abs(nll - ref) / abs(ref):.1e}")
check("echo text is the prompt", r["choices"][0]["text"] == open(text_file, encoding="utf-8").read(), repr(r["choices"][0]["text"][:60]))
check("max_tokens 0 generates nothing", r["usage"]["completion_tokens"] == 0 and r["choices"][0]["finish_reason"] == "length")

for line in open(requests_file, encoding="utf-8"):
    entry = json.loads(line)
    body = entry["body"]
    r = post("/v1/completions", body)
    if entry["kind"] == "loglikelihood":
        choices = sorted(r["choices"], key=lambda c: c["index"])
        check("one choice per prompt", len(choices) == len(body["prompt"]))
        for choice, prompt, ctxlen in zip(choices, body["prompt"], entry["ctxlens"]):
            logprobs = choice["logprobs"]
            # lm-eval-harness's parse_logprobs: the continuation is [ctxlen:-1] (the last entry is the generated token).
            cont = logprobs["token_logprobs"][ctxlen:-1]
            tops = logprobs["top_logprobs"][ctxlen:-1]
            check("prompt + generated token scored", len(logprobs["token_logprobs"]) == len(prompt) + 1)
            single = post("/v1/completions", {"prompt": prompt, "echo": True, "max_tokens": 0, "logprobs": 1, "temperature": 0})
            same = single["choices"][0]["logprobs"]["token_logprobs"][ctxlen:]
            check("a batched prompt scores as alone", all(abs(a - b) < 1e-6 for a, b in zip(cont, same)) and len(cont) == len(same))
            greedy = all(t == max(top.values()) for t, top in zip(cont, tops))
            check("is_greedy computable from top_logprobs", isinstance(greedy, bool) and all(len(top) >= 1 for top in tops))
            check("log-probs are finite and <= 0", all(math.isfinite(x) and x <= 1e-6 for x in cont))
    else:
        text = r["choices"][0]["text"]
        check("generate_until stops before the stop string", "." not in text and r["choices"][0]["finish_reason"] in ("stop", "length"), repr(text))

r = post("/v1/chat/completions", {"messages": [{"role": "user", "content": "Tell a story."}], "max_tokens": 5, "temperature": 0,
                                   "logprobs": True, "top_logprobs": 2})
content = r["choices"][0]["logprobs"]["content"]
check("chat log-probs: one entry per generated token", len(content) >= r["usage"]["completion_tokens"] >= 1, str(len(content)))
check("chat top_logprobs has 2 alternatives", all(len(c["top_logprobs"]) == 2 for c in content))
check("greedy chat tokens are their own top alternative", all(abs(c["logprob"] - c["top_logprobs"][0]["logprob"]) < 1e-6 for c in content))
print(f"{failures} harness-bridge checks failed")
sys.exit(1 if failures else 0)
