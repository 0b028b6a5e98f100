#!/usr/bin/python3
"""Renders every template of this corpus the way transformers' apply_chat_template does (Jinja2 with transformers'
environment: trim_blocks, lstrip_blocks, loopcontrols, {% generation %}, tojson, raise_exception, strftime_now) and
writes expected.json, which ChatTemplateCorpusTest compares align4j's renderer against. Needs only python3-jinja2
(Debian's package); run it after adding a template:  python3 src/test/resources/chat-templates/render_expected.py
"""
import json, os, sys
from datetime import datetime
import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = datetime(2026, 11, 29, 12, 0, 0)          # strftime_now is pinned in tests (align4j: ChatTemplate.clock)


class AssistantTracker(Extension):              # transformers' {% generation %} … {% endgeneration %}: renders its body
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda fmt: NOW.strftime(fmt)

with open(os.path.join(HERE, "conversations.json")) as f:
    CASES = json.load(f)

sources = {}
with open(os.path.join(HERE, "SOURCES.tsv")) as f:
    for line in f:
        if line.strip() and not line.startswith("#"):
            parts = line.rstrip("\n").split("\t") + ["", "", "", ""]
            sources[parts[0]] = {"bos": parts[3], "eos": parts[4]}

expected = {}
for name in sorted(os.listdir(HERE)):
    if not name.endswith(".jinja"):
        continue
    with open(os.path.join(HERE, name)) as f:
        template = env.from_string(f.read())
    tokens = sources.get(name, {"bos": "", "eos": ""})
    out = {}
    for case, conv in CASES.items():
        try:
            out[case] = template.render(messages=conv["messages"], add_generation_prompt=conv["add_generation_prompt"],
                                        tools=conv.get("tools"), bos_token=tokens["bos"], eos_token=tokens["eos"])
        except Exception as e:                      # the template refuses this conversation: align4j must refuse it too
            out[case] = {"error": str(e)}
    expected[name] = out

with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, ensure_ascii=False, sort_keys=True)
print(f"{len(expected)} templates x {len(CASES)} conversations -> expected.json", file=sys.stderr)
