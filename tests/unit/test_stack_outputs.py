"""The offline apply reads the stack's outputs as `Output.from_input` reads them:
the same values, of the same types, keys in the same order, the same secretness."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime.sync_await import _sync_await

from network.offline.apply import stack_output


@pulumi.input_type
class _Args:
    def __init__(self, name: pulumi.Input[str], count: pulumi.Input[int] | None = None):
        pulumi.set(self, "name", name)
        if count is not None:
            pulumi.set(self, "count", count)


@pulumi.input_type
class _Empty:
    pass


def _typed(value: Any) -> Any:
    """A value with the type of every part, dict keys in their order."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_typed(v) for v in value])
    if isinstance(value, _Args | _Empty):
        return (type(value).__name__, _typed(dict(value.__dict__)))
    return (type(value).__name__, value)


async def _later(value: Any) -> Any:
    return value


def _outputs() -> dict[str, Any]:
    """Fresh values of every kind `Output.from_input` walks (an awaitable is read once)."""
    out = pulumi.Output
    return {
        "plain": "a string",
        "number": 65000,
        "nothing": None,
        "empty": {},
        "empty list": [],
        "output": out.from_input("vpc-1"),
        "secret": out.secret("a key"),
        "nested": {
            "z": out.from_input(1),
            "t": (out.from_input("u"), 2),
            "a": [out.from_input("x"), ("t", out.from_input(2.5)), {"k": out.secret("s")}],
            "m": out.all(out.from_input("p"), out.from_input({"q": out.from_input("r")})),
        },
        "output of outputs": out.from_input("v").apply(lambda v: {"b": out.from_input(v), "a": v}),
        "secret inside": [out.from_input("x"), {"deep": out.secret({"k": 1})}],
        "input types": [_Args(out.from_input("n"), out.secret(3)), _Args("m"), _Empty()],
        "awaitable": _later({"w": out.from_input("a")}),
        "tuple": (1, out.from_input("two")),
    }


def test_stack_outputs_read_as_from_input_reads_them() -> None:
    slow = {}
    for name, value in _outputs().items():
        o = pulumi.Output.from_input(value)
        slow[name] = (_sync_await(o.future()), _sync_await(o.is_secret()))
    fast = {name: stack_output(value) for name, value in _outputs().items()}
    assert {n: (_typed(v), s) for n, (v, s) in fast.items()} == {
        n: (_typed(v), s) for n, (v, s) in slow.items()
    }
    secret = sorted(n for n, (_, s) in fast.items() if s)
    assert secret == ["input types", "nested", "secret", "secret inside"]


def test_an_unknown_output_is_read_the_slow_way() -> None:
    unknown = pulumi.Output(set(), _later(None), _later(False), _later(False))
    assert stack_output({"x": unknown}) == (None, False)
