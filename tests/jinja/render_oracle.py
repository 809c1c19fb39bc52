#!/usr/bin/env python3
"""Renders Jinja test cases with python3-jinja2 in the environment transformers uses for chat
templates (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, json.dumps as
tojson, raise_exception, strftime_now), writing what hifp8's interpreter must reproduce.

  render_oracle.py OUT.json --cases CASES.json                # {name, template, context} snippets
  render_oracle.py OUT.json --model NAME=DIR --conversations CONV.json
                                                               # each model's chat template x conversations
Each output row is the input row plus "output" (the text) or "error" (the exception's type)."""
import argparse
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, template, context):
    try:
        return {"output": env.from_string(template).render(**context)}
    except Exception as e:  # the interpreter must fail too; messages differ
        return {"error": type(e).__name__ + ": " + str(e)}


def token_text(t):
    return t.get("content") if isinstance(t, dict) else t


def model_template(directory, with_tools):
    """The template transformers picks: chat_template.jinja, else tokenizer_config.json's string, or
    from a list of named templates 'tool_use' when tools are given and it exists, else 'default'."""
    jinja_file = os.path.join(directory, "chat_template.jinja")
    config = json.load(open(os.path.join(directory, "tokenizer_config.json"), encoding="utf-8"))
    if os.path.exists(jinja_file):
        return open(jinja_file, encoding="utf-8").read(), config
    t = config.get("chat_template")
    if isinstance(t, list):
        named = {x["name"]: x["template"] for x in t}
        t = named.get("tool_use") if with_tools and "tool_use" in named else named.get("default")
    return t, config


def special_tokens(config):
    out = {}
    for key in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
        if config.get(key) is not None:
            out[key] = token_text(config[key])
    if config.get("additional_special_tokens"):
        out["additional_special_tokens"] = [token_text(t) for t in config["additional_special_tokens"]]
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--cases")
    p.add_argument("--model", action="append", default=[])
    p.add_argument("--conversations")
    a = p.parse_args()
    env = environment()
    rows = []
    if a.cases:
        for case in json.load(open(a.cases, encoding="utf-8")):
            rows.append({**case, **render(env, case["template"], case.get("context", {}))})
    conversations = json.load(open(a.conversations, encoding="utf-8")) if a.conversations else []
    for spec in a.model:
        name, directory = spec.split("=", 1)
        for conv in conversations:
            for add_generation_prompt in (True, False):
                template, config = model_template(directory, bool(conv.get("tools")))
                if template is None:
                    continue
                # As transformers' render_jinja_template: tools and documents always passed (None when absent).
                context = {**special_tokens(config), **conv.get("extra", {}), "messages": conv["messages"],
                           "tools": conv.get("tools"), "documents": None, "add_generation_prompt": add_generation_prompt}
                row = {"name": f"{name}/{conv['name']}/agp={int(add_generation_prompt)}", "model_dir": directory,
                       "messages": conv["messages"], "tools": conv.get("tools"), "extra": conv.get("extra", {}),
                       "add_generation_prompt": add_generation_prompt}
                rows.append({**row, **render(env, template, context)})
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False, indent=1)
    print(f"render_oracle: {len(rows)} cases rendered with jinja2 {jinja2.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
