"""The label rule language: a small, safe expression language, parsed and type-checked.

A rule such as ``amount > 100 and country in ['FR', 'DE'] or not is_trial`` makes a
binary label from other columns when the data has no label column; a rule that gives
a number (``revenue - cost``) makes a numeric label, the target of a regression. It is tokenised
and parsed by recursive descent into an AST; nothing is ever ``eval``-ed. The AST is
evaluated on pandas/Arrow data by :mod:`arlequin_core.training.rule_numpy` and
compiled to a pyspark ``Column`` by :mod:`arlequin_core.training.rule_spark`; both
follow the semantics below, so a rule labels the same rows the same way on both
engines.

Grammar (keywords are case-insensitive, column names are case-sensitive)::

    rule       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [ ("==" | "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") sum
                      | ["not"] "in" "[" literal ("," literal)* [","] "]"
                      | "is" ["not"] "null" ]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | "true" | "false" | NAME | `quoted name` | "(" or ")"
    literal    := ["-"] NUMBER | STRING | "true" | "false"

Types and semantics (SQL three-valued logic):

* Every value is a ``number``, a ``string`` or a ``bool``; both sides of a comparison
  have the same type, ``<``/``>`` need numbers or strings, ``and``/``or``/``not``
  need bools, the whole rule is a bool (a label) or a number (a regression
  target). Type errors are reported before any data is touched.
* A missing value (null, and NaN: **NaN is null**) makes comparisons and arithmetic
  null; ``and``/``or`` follow Kleene logic (``null and false`` is false, ``null or
  true`` is true); ``x in [...]`` is null when ``x`` is; ``is null`` is never null.
* Arithmetic is done in double precision; division by zero gives null.
* Strings compare by Unicode code point (what Spark's binary collation does).
* A row whose rule is null gets no label and is left out of training (counted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from arlequin_core.training.errors import LabelRuleError

ValueType = Literal["number", "string", "bool"]

KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false"}
COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
_ALIASES = {"=": "==", "<>": "!="}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<quoted>`(?:[^`]|``)+`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<>|<=|>=|[=<>+\-*/(),\[\]])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is number, string, name, keyword, op or end."""

    kind: str
    text: str
    pos: int
    value: object = None

    @property
    def width(self) -> int:
        """Characters to underline in an error (at least 1)."""
        return max(1, len(self.text))


# --------------------------------------------------------------------------- #
# AST
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ColumnRef:
    """A column of the data, by name; ``pos``/``width`` locate it in the rule text."""

    name: str
    pos: int
    width: int


@dataclass(frozen=True)
class Literal_:
    """A number, string or boolean written in the rule."""

    value: float | int | str | bool
    type: ValueType
    pos: int
    width: int


@dataclass(frozen=True)
class Unary:
    """``-x`` or ``not x``."""

    op: str  # "-" or "not"
    operand: Node
    pos: int


@dataclass(frozen=True)
class Binary:
    """Arithmetic, a comparison, ``and`` or ``or``; ``pos``/``width`` locate the operator."""

    op: str  # arithmetic, comparison, "and", "or"
    left: Node
    right: Node
    pos: int
    width: int


@dataclass(frozen=True)
class InList:
    """``x [not] in [literal, ...]``."""

    operand: Node
    values: tuple[Literal_, ...]
    negated: bool
    pos: int
    width: int


@dataclass(frozen=True)
class IsNull:
    """``x is [not] null``."""

    operand: Node
    negated: bool
    pos: int
    width: int


Node = ColumnRef | Literal_ | Unary | Binary | InList | IsNull


# --------------------------------------------------------------------------- #
# Tokeniser and parser
# --------------------------------------------------------------------------- #


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens (ending with an ``end`` token).

    :raises LabelRuleError: a character that starts no token, or an unclosed string.
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            ch = text[pos]
            if ch in "'\"`":
                raise LabelRuleError(text, pos, len(text) - pos, f"unclosed {ch} quote")
            raise LabelRuleError(text, pos, 1, f"unexpected character {ch!r}")
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "number":
            value: object = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(Token("number", raw, pos, value))
        elif kind == "string":
            body = raw[1:-1]
            value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)
            tokens.append(Token("string", raw, pos, value))
        elif kind == "quoted":
            tokens.append(Token("name", raw, pos, raw[1:-1].replace("``", "`")))
        elif kind == "name":
            if raw.lower() in KEYWORDS:
                tokens.append(Token("keyword", raw, pos, raw.lower()))
            else:
                tokens.append(Token("name", raw, pos, raw))
        elif kind == "op":
            tokens.append(Token("op", raw, pos, _ALIASES.get(raw, raw)))
        pos = match.end()
    tokens.append(Token("end", "", len(text), None))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _is(self, kind: str, *values: str) -> bool:
        tok = self.tok
        return tok.kind == kind and (not values or tok.value in values)

    def _next(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def _fail(self, tok: Token, problem: str) -> LabelRuleError:
        if tok is self.tok and self._bare_name(self.i) and self._bare_name(self.i - 1):
            return self._spaced_name()  # what went wrong is the missing backticks, whatever was expected
        return LabelRuleError(self.text, tok.pos, tok.width, problem)

    def _describe(self, tok: Token) -> str:
        return "end of rule" if tok.kind == "end" else repr(tok.text)

    def _expect(self, kind: str, value: str, what: str) -> Token:
        if not self._is(kind, value):
            raise self._fail(self.tok, f"expected {what}, found {self._describe(self.tok)}")
        return self._next()

    def parse(self) -> Node:
        """The whole rule as one AST (the parse_* methods follow the grammar, one rule each)."""
        if self.tok.kind == "end":
            raise self._fail(self.tok, "the rule is empty")
        node = self.parse_or()
        if self.tok.kind != "end":
            tok = self.tok
            if tok.kind == "op" and tok.value in COMPARISONS:
                raise self._fail(tok, "chained comparisons are not supported; combine them with 'and'")
            raise self._fail(tok, f"unexpected {self._describe(tok)}; expected an operator or the end of the rule")
        return node

    def _bare_name(self, i: int) -> bool:
        """Token ``i`` is a column name written without backticks."""
        return 0 <= i < len(self.tokens) and self.tokens[i].kind == "name" and not self.tokens[i].text.startswith("`")

    def _spaced_name(self) -> LabelRuleError:
        """Two bare names in a row (``worst area > 800``): a column name with spaces, unquoted."""
        first = self.i - 1
        while self._bare_name(first - 1):
            first -= 1
        last = self.i
        while self._bare_name(last + 1):
            last += 1
        start, end = self.tokens[first].pos, self.tokens[last].pos + len(self.tokens[last].text)
        phrase = self.text[start:end]
        fixed = f"{self.text[:start]}`{phrase}`{self.text[end:]}"
        return LabelRuleError(
            self.text,
            start,
            end - start,
            f"{phrase!r} is not one name; a column name with spaces (or other characters) is written in "
            f"backticks: {fixed}",
        )

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self._is("keyword", "or"):
            op = self._next()
            node = Binary("or", node, self.parse_and(), op.pos, op.width)
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self._is("keyword", "and"):
            op = self._next()
            node = Binary("and", node, self.parse_not(), op.pos, op.width)
        return node

    def parse_not(self) -> Node:
        if self._is("keyword", "not"):
            op = self._next()
            return Unary("not", self.parse_not(), op.pos)
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_sum()
        tok = self.tok
        if tok.kind == "op" and tok.value in COMPARISONS:
            self._next()
            return Binary(str(tok.value), left, self.parse_sum(), tok.pos, tok.width)
        nxt = self.tokens[self.i + 1] if self.tok.kind != "end" else self.tok
        if self._is("keyword", "not") and nxt.kind == "keyword" and nxt.value == "in":
            self._next()
            self._next()
            return self._parse_in(left, tok, negated=True)
        if self._is("keyword", "in"):
            self._next()
            return self._parse_in(left, tok, negated=False)
        if self._is("keyword", "is"):
            self._next()
            negated = False
            if self._is("keyword", "not"):
                self._next()
                negated = True
            end = self._expect("keyword", "null", "'null' after 'is'")
            return IsNull(left, negated, tok.pos, end.pos + end.width - tok.pos)
        return left

    def _parse_in(self, operand: Node, op: Token, negated: bool) -> Node:
        self._expect("op", "[", "'[' to start the list after 'in'")
        values: list[Literal_] = []
        while True:
            if self._is("op", "]") and values:
                break
            values.append(self._parse_literal())
            if self._is("op", ","):
                self._next()
                continue
            if not self._is("op", "]"):
                raise self._fail(self.tok, f"expected ',' or ']' in the list, found {self._describe(self.tok)}")
        end = self._next()
        return InList(operand, tuple(values), negated, op.pos, end.pos + 1 - op.pos)

    def _parse_literal(self) -> Literal_:
        tok = self.tok
        sign = 1
        if self._is("op", "-"):
            self._next()
            sign = -1
        lit = self.tok
        if lit.kind == "number":
            self._next()
            return Literal_(sign * lit.value, "number", tok.pos, lit.pos + lit.width - tok.pos)  # type: ignore[operator]
        if sign == 1 and lit.kind == "string":
            self._next()
            return Literal_(str(lit.value), "string", lit.pos, lit.width)
        if sign == 1 and lit.kind == "keyword" and lit.value in ("true", "false"):
            self._next()
            return Literal_(lit.value == "true", "bool", lit.pos, lit.width)
        raise self._fail(lit, f"expected a literal (number, 'string', true or false), found {self._describe(lit)}")

    def parse_sum(self) -> Node:
        node = self.parse_product()
        while self._is("op", "+", "-"):
            op = self._next()
            node = Binary(str(op.value), node, self.parse_product(), op.pos, op.width)
        return node

    def parse_product(self) -> Node:
        node = self.parse_unary()
        while self._is("op", "*", "/"):
            op = self._next()
            node = Binary(str(op.value), node, self.parse_unary(), op.pos, op.width)
        return node

    def parse_unary(self) -> Node:
        if self._is("op", "-"):
            op = self._next()
            return Unary("-", self.parse_unary(), op.pos)
        return self.parse_primary()

    def parse_primary(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self._next()
            return Literal_(tok.value, "number", tok.pos, tok.width)  # type: ignore[arg-type]
        if tok.kind == "string":
            self._next()
            return Literal_(str(tok.value), "string", tok.pos, tok.width)
        if tok.kind == "keyword" and tok.value in ("true", "false"):
            self._next()
            return Literal_(tok.value == "true", "bool", tok.pos, tok.width)
        if tok.kind == "name":
            self._next()
            return ColumnRef(str(tok.value), tok.pos, tok.width)
        if self._is("op", "("):
            self._next()
            node = self.parse_or()
            self._expect("op", ")", "')'")
            return node
        if tok.kind == "keyword" and tok.value == "null":
            raise self._fail(tok, "null is not a value here; use 'x is null' or 'x is not null'")
        if tok.kind == "end":
            raise self._fail(tok, "the rule ends too early; expected a value")
        raise self._fail(tok, f"expected a value (column, number, 'string', true, false or '('), found {tok.text!r}")


# --------------------------------------------------------------------------- #
# Type checking
# --------------------------------------------------------------------------- #


def span(node: Node) -> tuple[int, int]:
    """The (start, end) character offsets of ``node`` in the rule text."""
    if isinstance(node, (ColumnRef, Literal_)):
        return node.pos, node.pos + node.width
    if isinstance(node, Unary):
        return node.pos, span(node.operand)[1]
    if isinstance(node, Binary):
        return span(node.left)[0], span(node.right)[1]
    start = span(node.operand)[0]
    return start, node.pos + node.width


class LabelRule:
    """A parsed label rule.

    :param text: the rule, e.g. ``"churn_days > 30 or cancelled"``.
    :raises LabelRuleError: a syntax error, pointing at the place in ``text``.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.ast = _Parser(text).parse()
        self.columns: tuple[str, ...] = tuple(dict.fromkeys(_columns(self.ast)))

    def __repr__(self) -> str:
        return f"LabelRule({self.text!r})"

    def check(
        self, column_types: Mapping[str, ValueType | None], allow: tuple[ValueType, ...] = ("bool",)
    ) -> dict[int, ValueType]:
        """Type-check against the data's columns; return each node's type by ``id``.

        :param column_types: every column of the data -> ``number``, ``string``,
            ``bool``, or None for a type rules cannot use (timestamps, lists, ...).
        :param allow: the types the whole rule may have: ``("bool",)`` for a
            classification label, ``("number",)`` for a regression target.
        :raises LabelRuleError: an unknown column, an unusable column type, a type
            mismatch, or a rule whose type is not allowed.
        """
        types: dict[int, ValueType] = {}
        result = self._type(self.ast, column_types, types)
        if result not in allow:
            start, end = span(self.ast)
            wanted = " or ".join({"bool": "a condition (true/false)", "number": "a number"}.get(a, a) for a in allow)
            raise LabelRuleError(self.text, start, end - start, f"the rule gives a {result}, but it must be {wanted}")
        return types

    def result_type(self, column_types: Mapping[str, ValueType | None]) -> ValueType:
        """The type of the whole rule on data with these columns (``bool`` or ``number`` make a label).

        :raises LabelRuleError: as :meth:`check`, or a rule that gives a string.
        """
        types = self.check(column_types, allow=("bool", "number"))
        return types[id(self.ast)]

    def _fail(self, node: Node, problem: str) -> LabelRuleError:
        start, end = span(node)
        return LabelRuleError(self.text, start, end - start, problem)

    def _type(self, node: Node, cols: Mapping[str, ValueType | None], types: dict[int, ValueType]) -> ValueType:
        result = self._infer(node, cols, types)
        types[id(node)] = result
        return result

    def _infer(self, node: Node, cols: Mapping[str, ValueType | None], types: dict[int, ValueType]) -> ValueType:
        if isinstance(node, ColumnRef):
            if node.name not in cols:
                known = ", ".join(sorted(cols)) or "none"
                hint = _quote_hint(node, cols)
                raise self._fail(node, f"unknown column {node.name!r} (known columns: {known}){hint}")
            kind = cols[node.name]
            if kind is None:
                raise self._fail(node, f"column {node.name!r} has a type rules cannot use (number, string, bool)")
            return kind
        if isinstance(node, Literal_):
            return node.type
        if isinstance(node, Unary):
            operand = self._type(node.operand, cols, types)
            want: ValueType = "bool" if node.op == "not" else "number"
            if operand != want:
                raise self._fail(node, f"{node.op!r} needs a {want}, got a {operand}")
            return want
        if isinstance(node, IsNull):
            self._type(node.operand, cols, types)
            return "bool"
        if isinstance(node, InList):
            operand = self._type(node.operand, cols, types)
            for value in node.values:
                types[id(value)] = value.type
                if value.type != operand:
                    raise self._fail(value, f"list value is a {value.type} but the left side is a {operand}")
            return "bool"
        left = self._type(node.left, cols, types)
        right = self._type(node.right, cols, types)
        op = node.op
        if op in ("and", "or"):
            for side, kind in ((node.left, left), (node.right, right)):
                if kind != "bool":
                    raise self._fail(side, f"'{op}' needs conditions on both sides; this is a {kind}")
            return "bool"
        if op in ("+", "-", "*", "/"):
            if left != "number" or right != "number":
                raise LabelRuleError(self.text, node.pos, node.width, f"'{op}' needs numbers, got {left} {op} {right}")
            return "number"
        if left != right:
            raise LabelRuleError(
                self.text, node.pos, node.width, f"cannot compare a {left} with a {right} using '{op}'"
            )
        if op not in ("==", "!=") and left == "bool":
            raise LabelRuleError(self.text, node.pos, node.width, f"'{op}' needs numbers or strings, got bools")
        return "bool"


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _quote_hint(node: ColumnRef, cols: Mapping[str, object]) -> str:
    """A hint to backtick a known column that needs it and that ``node`` looks like a piece of."""
    near = [
        c
        for c in sorted(cols)
        if not _IDENTIFIER.fullmatch(c) and node.name.lower() in re.split(r"[^0-9A-Za-z_]+", c.lower())
    ]
    if not near:
        return ""
    quoted = ", ".join("`" + c.replace("`", "``") + "`" for c in near[:3])
    return f"; a name with spaces or other characters is written in backticks: {quoted}"


def _columns(node: Node) -> list[str]:
    if isinstance(node, ColumnRef):
        return [node.name]
    if isinstance(node, Literal_):
        return []
    if isinstance(node, Binary):
        return _columns(node.left) + _columns(node.right)
    return _columns(node.operand)
