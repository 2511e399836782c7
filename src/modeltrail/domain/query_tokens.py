"""The words and signs of a ``q`` expression (``domain.query``): names, quoted text, numbers,
operators, keywords and punctuation, each with the column it starts at."""

from __future__ import annotations

from dataclasses import dataclass

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput

Value = str | float | int | bool


def query_error(message: str, column: int, *, param: str = "q") -> InvalidInput:
    """A 422 about the expression, pointing at ``column`` (1-based) of it."""
    return InvalidInput(
        f"{param}: {message} (at column {column})",
        errors=[{"pointer": f"/{param}", "detail": message, "column": column}],
    )


KEYWORDS = frozenset(
    {"and", "or", "not", "in", "like", "ilike", "is", "null", "true", "false", "prefix", "contains"}
)
_OPERATORS = ("!=", "<>", "<=", ">=", "==", "=", "<", ">")
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT = _IDENT_START | frozenset("0123456789-")
_NUMBER_START = frozenset("0123456789-+.")


@dataclass(frozen=True)
class Token:
    kind: str  # ident keyword quoted backticked number op ( ) , . end
    text: str
    value: Value | None
    column: int


def tokenize(text: str, *, param: str = "q") -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token; a 422 about the parameter
    ``param`` at the first character that starts none, or once there are more than the
    limit allows."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        col = i + 1
        if c in " \t\r\n":
            i += 1
        elif c in "(),.":
            # A dot followed by a digit after an operator is a number (".5"), else a separator.
            if c == "." and i + 1 < n and text[i + 1].isdigit() and _wants_value(out):
                i = _number(text, i, out, param)
            else:
                out.append(Token(c, c, None, col))
                i += 1
        elif c in "\"'`":
            end, value = _quoted(text, i, param)
            kind = "backticked" if c == "`" else "quoted"
            out.append(Token(kind, text[i:end], value, col))
            i = end
        elif c in "!<>=":
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise query_error(f"'{c}' is no operator; use != for 'not equal'", col, param=param)
            out.append(Token("op", op, None, col))
            i += len(op)
        elif c in _IDENT and out and out[-1].kind == ".":
            # A segment after a dot is a name even where it starts with a digit (``layers.0``).
            j = i
            while j < n and text[j] in _IDENT:
                j += 1
            out.append(Token("ident", text[i:j], text[i:j], col))
            i = j
        elif c in _NUMBER_START and (c not in "+-" or _wants_value(out)):
            i = _number(text, i, out, param)
        elif c in _IDENT_START:
            j = i
            while j < n and text[j] in _IDENT:
                j += 1
            word = text[i:j]
            kind = "keyword" if word.lower() in KEYWORDS else "ident"
            out.append(Token(kind, word, word.lower() if kind == "keyword" else word, col))
            i = j
        else:
            raise query_error(f"unexpected character {c!r}", col, param=param)
        if len(out) > limits.MAX_QUERY_TOKENS:
            raise query_error(
                f"the expression is longer than {limits.MAX_QUERY_TOKENS} words and signs",
                col,
                param=param,
            )
    out.append(Token("end", "", None, n + 1))
    return out


def _wants_value(out: list[Token]) -> bool:
    return bool(out) and (out[-1].kind == "op" or out[-1].text in ("(", ","))


def _number(text: str, i: int, out: list[Token], param: str) -> int:
    j = i + 1
    while j < len(text) and (text[j].isalnum() or text[j] in "._" or text[j - 1] in "eE"):
        j += 1
    word = text[i:j]
    try:
        value: float | int = int(word) if word.lstrip("+-").isdigit() else float(word)
    except ValueError:
        raise query_error(f"'{word}' is not a number", i + 1, param=param) from None
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        raise query_error(f"'{word}' is not a finite number", i + 1, param=param)
    out.append(Token("number", word, value, i + 1))
    return j


def _quoted(text: str, start: int, param: str) -> tuple[int, str]:
    """The end of the quoted text at ``start`` and its value; a quote is doubled or
    backslash-escaped inside."""
    quote = text[start]
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and quote != "`":
            nxt = text[i + 1]
            # \% and \_ keep their backslash: they are a like pattern's escapes.
            chars.append(nxt if nxt in (quote, "\\") else "\\" + nxt)
            i += 2
            continue
        if c == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                chars.append(quote)
                i += 2
                continue
            return i + 1, "".join(chars)
        chars.append(c)
        i += 1
    raise query_error(f"the text opened with {quote} here is never closed", start + 1, param=param)
