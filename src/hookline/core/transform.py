"""Per-route shaping of a webhook body: field selection, then a sandboxed JMESPath transformation.

A route may narrow the envelope to the fields its receiver wants (``include``, then ``exclude``: dotted
paths such as ``data.object.public_id``) and may then reshape what is left with a JMESPath expression whose
result, any JSON value, becomes the body.

Why JMESPath, and not a template language or code: an expression is declarative data selection; it has no
loops, no variables, no I/O and no access to Python objects; it produces JSON values rather than text that
must be re-parsed; it is the language of the AWS CLI, so many developers already read it; and the
``jmespath`` package is small and well kept. A Jinja2 sandbox, by contrast, can loop and renders text, and
JavaScript (Svix, Convoy) needs an engine with its own sandbox to keep safe.

"Terminates on bounded input" is not the whole story, though: a multi-select can repeat its input
(``[@, @]``) and a pipe can do it again, so a 2,000-character expression can ask for 2^300 values, and
``to_string`` or ``==`` can walk such a value in a single step. Evaluation therefore runs in a counting
interpreter with a budget: every step and every value it builds is paid for, no value may grow past a
bound tied to the input, and a body that would exceed :data:`MAX_OUTPUT` is refused before it is
serialised. The budget counts work, not time, so the same event and expression always give the same answer
(a preview that succeeds will not fail at ingest because the machine was busy).

One event goes to many routes and one request carries many events, so the work of all of them is also
paid from a shared :class:`Budget` (a request's, with a share per event): the walk of each input (once per
event, whichever routes read it) and every route's steps. When that runs out the caller refuses the whole
request (:class:`OverBudget`), rather than failing whichever route happened to be evaluating.

The module is pure: no I/O, no clock, no configuration.
"""

from __future__ import annotations

import functools
import re
import sys
import warnings
from typing import Any, Final

import jmespath
import orjson
from jmespath import exceptions as jmespath_errors
from jmespath.functions import Functions
from jmespath.parser import ParsedResult
from jmespath.visitor import TreeInterpreter

MAX_EXPRESSION: Final = 2_000  # characters
MAX_OUTPUT: Final = 256 * 1024  # bytes of a transformed body
MAX_PATHS: Final = 50
MAX_PATH_LENGTH: Final = 200
MAX_DEPTH: Final = 40  # nesting of the expression's syntax tree (the interpreter recurses once per level)
MAX_STEPS: Final = 100_000  # interpreter steps, plus one per array element or object member it builds
MIN_VALUE_BOUND: Final = 1024 * 1024  # no intermediate value may exceed 2 x max(input, this), in JSON bytes
ALWAYS_KEPT: Final = ("id", "type")  # the envelope fields a receiver dedupes and dispatches on

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_FUNCTIONS: Final[dict[str, Any]] = Functions.FUNCTION_TABLE
_ALL: Final[dict[str, Any]] = {}  # marks a selected subtree: kept (include) or dropped (exclude) whole

Tree = dict[str, Any]


class Failed(Exception):
    """The route's transformation could not produce a body (error, too slow, too large)."""


class OverBudget(Exception):
    """The shared budget of a request (or of one of its events) is used up: refuse the request."""

    def __init__(self, message: str, *, event: bool) -> None:
        super().__init__(message)
        self.event = event  # the event's share ran out (else the whole request's)


class Budget:
    """Work shared by the transformations of one request: ``request_units`` in all, ``event_units`` for the
    routes of each event (``next_event`` starts the next one's share).

    It also keeps the sizes of the inputs' lists and objects, measured once (and paid for once) however
    many routes evaluate the same event; it holds them, so their ids stay theirs while it lives.
    """

    def __init__(self, request_units: int, event_units: int) -> None:
        self.request_units = request_units
        self.event_units = event_units
        self.request_left = request_units
        self.event_left = event_units
        self.spent = 0
        self.sizes: dict[int, tuple[Any, int]] = {}

    @classmethod
    def unlimited(cls) -> Budget:
        return cls(sys.maxsize, sys.maxsize)

    @property
    def left(self) -> int:
        return min(self.request_left, self.event_left)

    def next_event(self) -> None:
        self.event_left = self.event_units

    def pay(self, units: int) -> None:
        self.spent += units
        self.request_left -= units
        self.event_left -= units
        if self.event_left < 0:
            raise OverBudget(
                f"shaping one event for its routes needs more than {self.event_units} units of work "
                "(transformation steps and the values they walk); simplify the routes' transformations",
                event=True,
            )
        if self.request_left < 0:
            raise OverBudget(
                f"shaping this request's events for their routes needs more than {self.request_units} "
                "units of work (transformation steps and the values they walk); send fewer events at a time",
                event=False,
            )


def apply(
    body: dict[str, Any],
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    expression: str | None = None,
    budget: Budget | None = None,
) -> bytes:
    """The final body bytes for one route; raises Failed when the transformation fails, OverBudget when
    the shared ``budget`` runs out.

    ``body`` is never modified. Without an expression the selected body is serialised as is; the
    :data:`MAX_OUTPUT` limit applies to what an expression makes (selection can only shrink a body).
    """
    selected = select(body, include, exclude)
    if not expression:
        return _dump(selected)
    data = _dump(evaluate(expression, selected, budget))
    if len(data) > MAX_OUTPUT:
        raise Failed(f"the transformed body is {len(data)} bytes; the limit is {MAX_OUTPUT} bytes")
    return data


# --- field selection ------------------------------------------------------------------------------------


def select(body: dict[str, Any], include: list[str] | None, exclude: list[str] | None) -> dict[str, Any]:
    """The body narrowed to ``include`` (plus ``id`` and ``type``), then without ``exclude``.

    Paths walk through objects only. A path that reaches an array (or any non-object) before its last
    segment keeps that value whole when including and leaves it untouched when excluding: arrays are never
    filtered element by element (a transformation can do that). Paths to missing fields are ignored.
    """
    selected = body
    if include:
        selected = _keep(selected, _tree([*ALWAYS_KEPT, *include]))
    if exclude:
        tree = _tree(exclude)
        for name in ALWAYS_KEPT:
            if tree.get(name) is _ALL:
                del tree[name]
        selected = _drop(selected, tree)
    return selected


def _tree(paths: list[str]) -> Tree:
    """Paths as a trie; a shorter path wins over the longer ones below it."""
    root: Tree = {}
    for path in paths:
        node = root
        *parents, leaf = path.split(".")
        for part in parents:
            child = node.get(part)
            if child is _ALL:
                break
            node = node.setdefault(part, {})
        else:
            node[leaf] = _ALL
    return root


def _keep(value: dict[str, Any], tree: Tree) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, child in value.items():
        rule = tree.get(key)
        if rule is None:
            continue
        kept[key] = _keep(child, rule) if rule is not _ALL and isinstance(child, dict) else child
    return kept


def _drop(value: dict[str, Any], tree: Tree) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, child in value.items():
        rule = tree.get(key)
        if rule is _ALL:
            continue
        kept[key] = _drop(child, rule) if rule is not None and isinstance(child, dict) else child
    return kept


def validate_paths(paths: list[str], *, excluding: bool = False) -> str | None:
    """Why these field paths cannot be saved, or None when they can."""
    if len(paths) > MAX_PATHS:
        return f"at most {MAX_PATHS} paths"
    for path in paths:
        if not isinstance(path, str) or not path:
            return "each path is a non-empty string"
        if len(path) > MAX_PATH_LENGTH:
            return f"a path has at most {MAX_PATH_LENGTH} characters"
        if not all(_SEGMENT.fullmatch(part) for part in path.split(".")):
            return (
                f"{path!r} is not a dotted path of field names (letters, digits, _ and -), "
                "e.g. data.object.public_id"
            )
        if excluding and path in ALWAYS_KEPT:
            return f"{path} cannot be excluded: id and type are always sent"
    return None


# --- the transformation ---------------------------------------------------------------------------------


def validate(expression: str) -> str | None:
    """Why this expression cannot be saved, or None when it can (checked when a route is saved)."""
    try:
        _compile(expression)
    except Failed as exc:
        return str(exc)
    return None


def evaluate(expression: str, value: Any, budget: Budget | None = None) -> Any:
    """The expression's result on ``value``, within the work budget; raises Failed (or OverBudget when
    the shared ``budget`` runs out first).

    A result whose JSON is sure to exceed :data:`MAX_OUTPUT` is refused before anything serialises it.
    """
    parsed = _compile(expression)
    interpreter = _Bounded(value, budget or Budget.unlimited())
    try:
        result = interpreter.visit(parsed.parsed, value)
        if interpreter.measure(result) > MAX_OUTPUT:
            raise Failed(f"the transformed body is larger than the limit of {MAX_OUTPUT} bytes")
        return result
    except (Failed, OverBudget):
        raise
    except RecursionError:
        raise Failed("the transformation is nested too deeply") from None
    except jmespath_errors.JMESPathError as exc:
        raise Failed(f"the transformation failed: {exc}") from None
    except Exception as exc:  # a sandbox: whatever the expression does wrong is its failure, not ours
        raise Failed(f"the transformation failed: {type(exc).__name__}: {exc}") from None
    finally:
        interpreter.settle()


@functools.lru_cache(maxsize=256)
def _compile(expression: str) -> ParsedResult:
    if not expression.strip():
        raise Failed("the transformation is empty")
    if len(expression) > MAX_EXPRESSION:
        raise Failed(f"the transformation has more than {MAX_EXPRESSION} characters")
    try:
        with warnings.catch_warnings():
            # jmespath takes `foo` (a literal that is not JSON) as a string, with a deprecation warning.
            warnings.simplefilter("error")
            parsed = jmespath.compile(expression)
    except jmespath_errors.ParseError as exc:
        raise Failed(_syntax_error(exc)) from None
    except (jmespath_errors.JMESPathError, Warning) as exc:
        raise Failed(f"not a valid JMESPath expression: {exc}") from None
    except RecursionError:
        raise Failed("the transformation is nested too deeply") from None
    _check_tree(parsed.parsed)
    return parsed


def _syntax_error(exc: jmespath_errors.ParseError) -> str:
    if isinstance(exc, jmespath_errors.IncompleteExpressionError):
        return "not a valid JMESPath expression: it ends too early"
    if isinstance(exc, jmespath_errors.LexerError):
        return f"not a valid JMESPath expression: {exc.message} at column {exc.lexer_position}"
    return f"not a valid JMESPath expression: {exc.msg} at column {exc.lex_position}"


def _check_tree(root: Any) -> None:
    """Refuse at save time what would only fail at run time: unknown functions, wrong arity, deep nesting."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Failed(f"the transformation is nested more than {MAX_DEPTH} levels deep")
        if node["type"] == "function_expression":
            _check_call(node["value"], len(node["children"]))
        stack.extend((child, depth + 1) for child in node["children"] if isinstance(child, dict))


def _check_call(name: str, given: int) -> None:
    spec = _FUNCTIONS.get(name)
    if spec is None:
        raise Failed(
            f"unknown function {name}(); see https://jmespath.org/specification.html#built-in-functions"
        )
    signature = spec["signature"]
    variadic = bool(signature) and signature[-1].get("variadic", False)
    if given < len(signature) or (given > len(signature) and not variadic):
        wanted = f"at least {len(signature)}" if variadic else str(len(signature))
        raise Failed(f"{name}() takes {wanted} argument(s), not {given}")


class _Bounded(TreeInterpreter):
    """The JMESPath tree interpreter, paying for every step and for the size of every value it builds.

    The size of a value is a lower bound of its JSON length, counted once per distinct list or object (a
    value repeated by ``[@, @]`` is shared, so it is measured once but counted twice in its parent). Every
    operation's cost is bounded by the size of its operands, so bounding the sizes and the steps bounds
    the whole evaluation.
    """

    def __init__(self, value: Any, budget: Budget) -> None:
        super().__init__()
        self.budget = budget
        self._sizes: dict[int, tuple[Any, int]] = {}  # id -> (the value, kept alive; its size)
        # The input is measured outside the route's steps (it is bounded already), into the budget's sizes,
        # so a value that several routes read is walked once; the walk is paid from the shared budget.
        self.bound = sys.maxsize
        self.steps = sys.maxsize
        size = self._measure_into(value, budget.sizes)
        budget.pay(sys.maxsize - self.steps)
        self.bound = 2 * max(size, MIN_VALUE_BOUND)
        # The route's own steps, unless the shared budget has less left: then running out is the budget's.
        self.allowance = min(MAX_STEPS, budget.left)
        self.steps = self.allowance
        self.settled = False

    def settle(self) -> None:
        """Pay the steps taken into the shared budget (at most the allowance it granted), once."""
        if not self.settled:
            self.settled = True
            self.budget.pay(min(self.allowance - self.steps, self.allowance))

    def _out_of_steps(self) -> Exception:
        if self.allowance < MAX_STEPS:
            self.settled = True
            self.budget.pay(self.allowance + 1)  # raises OverBudget, saying which budget ran out
        return Failed("the transformation needs too much work for this event")

    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        result = super().visit(node, *args, **kwargs)
        self.steps -= 1
        if isinstance(result, (list, dict)):
            self.measure(result)
        elif isinstance(result, str):
            self.steps -= len(result) >> 8
            if len(result) > self.bound:
                raise Failed(f"the transformation builds a value larger than {self.bound} bytes")
        if self.steps < 0:
            raise self._out_of_steps()
        return result

    def measure(self, value: Any) -> int:
        """The JSON size of a value (a lower bound), refusing lists and objects past the bound."""
        return self._measure_into(value, self._sizes)

    def _measure_into(self, value: Any, into: dict[int, tuple[Any, int]]) -> int:
        if not isinstance(value, (list, dict)):
            return len(value) + 2 if isinstance(value, str) else 1
        known = self._known(id(value))
        return known[1] if known is not None else self._walk(value, into)

    def _known(self, key: int) -> tuple[Any, int] | None:
        """A size measured before: of a value built by this evaluation, or of an input's value."""
        return self._sizes.get(key) or self.budget.sizes.get(key)

    def _walk(self, value: list[Any] | dict[str, Any], into: dict[int, tuple[Any, int]]) -> int:
        stack = [value]
        while stack:
            node = stack[-1]
            members = node.values() if isinstance(node, dict) else node
            unknown = [m for m in members if isinstance(m, (list, dict)) and self._known(id(m)) is None]
            if unknown:
                stack.extend(unknown)
                continue
            stack.pop()
            if self._known(id(node)) is None:  # a value shared within the walk may be done already
                into[id(node)] = (node, self._size_of(node, members))
        known = self._known(id(value))
        assert known is not None
        return known[1]

    def _size_of(self, node: list[Any] | dict[str, Any], members: Any) -> int:
        size = 1 + len(node)  # brackets and separators
        for member in members:
            if isinstance(member, str):
                size += len(member) + 2
            elif isinstance(member, (list, dict)):
                known = self._known(id(member))
                assert known is not None
                size += known[1]
            else:
                size += 1  # a number, true, false or null takes at least one byte
        if isinstance(node, dict):
            size += sum(map(len, node)) + 3 * len(node)  # keys, their quotes and colons
        self.steps -= len(node) + 1
        if size > self.bound:
            raise Failed(f"the transformation builds a value larger than {self.bound} bytes")
        if self.steps < 0:
            raise self._out_of_steps()
        return size


def _dump(value: Any, limit: int | None = None) -> bytes:
    try:
        data = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise Failed(f"the result is not JSON: {exc}") from None
    if limit is not None and len(data) > limit:
        raise Failed(f"the transformed body is {len(data)} bytes; the limit is {limit} bytes")
    return data
