"""Read a declarative Jenkinsfile far enough to run its shell steps outside Jenkins.

Not a Groovy parser: it understands what declarative pipelines are made of —
``name(args) { body }`` blocks, Groovy string literals ('...', "...", '''...''',
\"\"\"...\"\"\") and comments — and extracts the parameters with their defaults, the
``environment`` block, the ``options`` entries and, per stage, the ``sh`` steps in
order. Double-quoted (interpolating) strings in ``sh`` steps are reported, because
Groovy would expand ``${...}`` in them before the shell runs (and because
parameters interpolated by Groovy are a shell-injection risk).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "'": "'", '"': '"', "$": "$", "/": "/"}


class JenkinsfileError(ValueError):
    """The text is not a declarative pipeline this reader understands."""


@dataclass(frozen=True)
class Literal:
    """A Groovy string literal: its value and whether Groovy would interpolate it."""

    value: str
    interpolated: bool


@dataclass(frozen=True)
class Step:
    """One ``sh`` step: the script, and whether it is a GString with ``${...}``."""

    script: str
    interpolated: bool = False


@dataclass
class Stage:
    name: str
    steps: list[Step] = field(default_factory=list)


@dataclass
class Pipeline:
    """What :func:`parse` found."""

    parameters: dict[str, str] = field(default_factory=dict)
    parameter_kinds: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    post: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------- lexing
def _literal_end(text: str, i: int) -> int:
    """Index just past the string literal starting at ``text[i]``."""
    quote = text[i : i + 3] if text[i : i + 3] in ("'''", '"""') else text[i]
    j = i + len(quote)
    while True:
        if j >= len(text):
            raise JenkinsfileError(f"unterminated string starting at offset {i}")
        if text[j] == "\\":
            j += 2
            continue
        if text.startswith(quote, j):
            return j + len(quote)
        if len(quote) == 1 and text[j] == "\n":
            raise JenkinsfileError(f"newline in a one-line string starting at offset {i}")
        j += 1


def decode(literal: str) -> Literal:
    """The value of a Groovy string literal (with its quotes)."""
    quote = literal[:3] if literal[:3] in ("'''", '"""') else literal[0]
    body = literal[len(quote) : -len(quote)]
    interpolated = quote.startswith('"') and re.search(r"(?<!\\)\$", body) is not None
    value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body, flags=re.S)
    return Literal(value=value, interpolated=interpolated)


def strip_comments(text: str) -> str:
    """``text`` with ``//`` and ``/* */`` comments removed (strings kept intact)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            end = _literal_end(text, i)
            out.append(text[i:end])
            i = end
        elif text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise JenkinsfileError("unterminated /* comment")
            i = end + 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _match(text: str, i: int, open_ch: str, close_ch: str) -> int:
    """Index of the bracket closing the one at ``text[i]``."""
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            i = _literal_end(text, i)
            continue
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise JenkinsfileError(f"unbalanced {open_ch}{close_ch}")


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def blocks(text: str) -> list[tuple[str, str, str]]:
    """Top-level ``name(args) { body }`` items of ``text`` as (name, args, body)."""
    found = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            i = _literal_end(text, i)
            continue
        if ch == "{":
            i = _match(text, i, "{", "}") + 1  # an anonymous block: not ours
            continue
        word = re.match(r"[A-Za-z_]\w*", text[i:])
        if not word or (i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_.")):
            i += 1
            continue
        name, j = word.group(0), _skip_ws(text, i + len(word.group(0)))
        args = ""
        if j < len(text) and text[j] == "(":
            close = _match(text, j, "(", ")")
            args, j = text[j + 1 : close], _skip_ws(text, close + 1)
        if j < len(text) and text[j] == "{":
            close = _match(text, j, "{", "}")
            found.append((name, args, text[j + 1 : close]))
            i = close + 1
        else:
            i += len(name)
    return found


def named_args(args: str) -> dict[str, Literal | str]:
    """``key: value`` pairs of a call's arguments (string literals decoded, other values raw)."""
    result: dict[str, Literal | str] = {}
    i = 0
    while i < len(args):
        if args[i] in "'\"":
            i = _literal_end(args, i)
            continue
        match = re.match(r"(\w+)\s*:\s*", args[i:])
        if not match or (i > 0 and (args[i - 1].isalnum() or args[i - 1] == "_")):
            i += 1
            continue
        start = i + match.end()
        if start < len(args) and args[start] in "'\"":
            end = _literal_end(args, start)
            result[match.group(1)] = decode(args[start:end])
        else:
            end = start + len(re.match(r"[^,]*", args[start:]).group(0))  # type: ignore[union-attr]
            result[match.group(1)] = args[start:end].strip()
        i = end
    return result


def calls(text: str) -> list[tuple[str, str]]:
    """Top-level ``name(args)`` calls of ``text`` as (name, args)."""
    found = []
    i = 0
    while i < len(text):
        if text[i] in "'\"":
            i = _literal_end(text, i)
            continue
        word = re.match(r"[A-Za-z_]\w*", text[i:])
        if not word or (i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_.")):
            i += 1
            continue
        j = _skip_ws(text, i + len(word.group(0)))
        if j < len(text) and text[j] == "(":
            close = _match(text, j, "(", ")")
            found.append((word.group(0), text[j + 1 : close]))
            i = close + 1
        else:
            i += len(word.group(0))
    return found


def sh_steps(body: str) -> list[Step]:
    """The ``sh`` steps of a ``steps`` body, in order: ``sh '...'``, ``sh(script: '...')``, ``sh script: '...'``."""
    steps = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch in "'\"":
            i = _literal_end(body, i)
            continue
        if body.startswith("sh", i) and (i == 0 or not (body[i - 1].isalnum() or body[i - 1] in "_.")):
            j = i + 2
            if j < len(body) and (body[j].isalnum() or body[j] == "_"):
                i = j
                continue
            j = _skip_ws(body, j)
            literal: Literal | None = None
            if j < len(body) and body[j] == "(":
                close = _match(body, j, "(", ")")
                inner = body[j + 1 : close].strip()
                if inner[:1] in ("'", '"'):
                    literal = decode(inner[: _literal_end(inner, 0)])
                else:
                    value = named_args(inner).get("script")
                    literal = value if isinstance(value, Literal) else None
                j = close + 1
            elif j < len(body) and body[j] in "'\"":
                end = _literal_end(body, j)
                literal, j = decode(body[j:end]), end
            elif body.startswith("script", j):
                value = named_args(body[j : body.find("\n", j) if "\n" in body[j:] else len(body)]).get("script")
                literal = value if isinstance(value, Literal) else None
            if literal is None:
                raise JenkinsfileError(f"cannot read the sh step at: {body[i : i + 60]!r}")
            steps.append(Step(literal.value, literal.interpolated))
            i = j
            continue
        i += 1
    return steps


def parse(text: str) -> Pipeline:
    """Read a declarative Jenkinsfile.

    :raises JenkinsfileError: no ``pipeline { }`` block, no ``stages``, or unreadable syntax.
    """
    top = {name: body for name, _args, body in blocks(strip_comments(text))}
    if "pipeline" not in top:
        raise JenkinsfileError("no pipeline { } block: not a declarative Jenkinsfile")
    sections = blocks(top["pipeline"])
    pipeline = Pipeline()
    for name, _args, body in sections:
        if name == "parameters":
            for kind, args in calls(body):
                values = named_args(args)
                param = values.get("name")
                if isinstance(param, Literal):
                    default = values.get("defaultValue", "")
                    pipeline.parameters[param.value] = default.value if isinstance(default, Literal) else default
                    pipeline.parameter_kinds[param.value] = kind
        elif name == "environment":
            for key, literal in re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", body):
                pipeline.environment[key] = decode(literal).value
        elif name == "options":
            pipeline.options = [line.strip() for line in body.splitlines() if line.strip()]
        elif name == "stages":
            for stage_name, stage_args, stage_body in blocks(body):
                if stage_name != "stage":
                    continue
                title = decode(stage_args.strip()).value
                stage = Stage(title)
                for inner, _a, inner_body in blocks(stage_body):
                    if inner == "steps":
                        stage.steps.extend(sh_steps(inner_body))
                pipeline.stages.append(stage)
        elif name == "post":
            pipeline.post = {condition: inner for condition, _a, inner in blocks(body)}
    if not pipeline.stages:
        raise JenkinsfileError("the pipeline has no stages")
    return pipeline
