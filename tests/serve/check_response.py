"""Checks one saved HTTP response body of hifp8 serve: strictly valid UTF-8, and either one JSON
object or a Server-Sent Events stream of JSON objects ending in `data: [DONE]`.
Prints "ok", or what is wrong. Usage: check_response.py FILE [json|sse]"""
import json
import sys


def check(raw: bytes, kind: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"invalid UTF-8: {e}"
    if kind == "json":
        try:
            json.loads(text)
        except ValueError as e:
            return f"not JSON: {e}"
        return "ok"
    events = [line[len("data: "):] for line in text.split("\n") if line.startswith("data: ")]
    if not events or events[-1] != "[DONE]":
        return "stream does not end with data: [DONE]"
    for e in events[:-1]:
        try:
            json.loads(e)
        except ValueError as err:
            return f"event is not JSON: {err}: {e[:80]}"
    return "ok"


if __name__ == "__main__":
    print(check(open(sys.argv[1], "rb").read(), sys.argv[2] if len(sys.argv) > 2 else "json"))
