"""For every max_tokens from 1 to N: the streamed text of a sampled completion equals the non-streamed
text, and both equal the reference decode of the completion's token ids (from a server on the same
weights without a tokenizer, which answers with ids, decoded by `hifp8 detokenize --skip-special`,
itself checked against the reference decoders in test_detokenizer). stdlib only.
  stream_cuts.py TEXT_URL IDS_URL HIFP8 TOKENIZER_DIR PROMPT_TEXT PROMPT_IDS N"""
import json
import subprocess
import sys
import urllib.request

text_url, ids_url, hifp8, tok_dir, prompt, prompt_ids, n = sys.argv[1:8]
prompt_ids = [int(x) for x in prompt_ids.split(",")]


def post(url, body):
    req = urllib.request.Request(url + "/v1/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read().decode("utf-8")


failures = crossing = 0
for cut in range(1, int(n) + 1):
    sampling = {"max_tokens": cut, "temperature": 1.0, "seed": 11}
    whole = json.loads(post(text_url, {"prompt": prompt, **sampling}))["choices"][0]["text"]
    streamed = "".join(json.loads(line[6:])["choices"][0]["text"] for line in post(text_url, {"prompt": prompt, "stream": True, **sampling}).splitlines()
                       if line.startswith("data: {") and json.loads(line[6:]).get("choices"))
    ids = json.loads(post(ids_url, {"prompt": prompt_ids, **sampling}))["choices"][0]["text"].split()
    # The completion's text as clients get it: decode(prompt + completion) past decode(prompt).
    decode = lambda i: subprocess.run([hifp8, "detokenize", "--model", tok_dir, "--skip-special", "--ids", ",".join(map(str, i))],
                                      capture_output=True, check=True).stdout[:-1].decode("utf-8")
    reference = decode(prompt_ids + [int(i) for i in ids])[len(decode(prompt_ids)):]
    crossing += any(ord(c) > 127 for c in reference)
    if not (whole == streamed == reference):
        failures += 1
        print(f"FAIL max_tokens={cut}: stream {streamed!r} / whole {whole!r} / reference {reference!r}")
print(f"{n} cuts, {failures} differ, {crossing} with non-ASCII text")
sys.exit(1 if failures or crossing == 0 else 0)
