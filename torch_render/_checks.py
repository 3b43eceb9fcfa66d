"""What the ops' Python wrappers, ``nn.Module`` transforms and fake kernels share:
the type checks of plain Python arguments, the dtypes, float32 rounding, the
colour limits of the output dtypes, the checks of an ``out=`` tensor, and the
defaults read from an op's schema.

Every message names the op (or module), the argument, what was expected and what
came. The fake kernels' messages repeat those of ``csrc/`` word for word.
"""

from __future__ import annotations

import itertools
import math
import numbers
import operator
import struct
from typing import Any, Callable, Dict, FrozenSet, List, NamedTuple, Optional, Sequence, Tuple

import torch

#: Input dtypes the ops read (series, ohlc, volume, overlays, value_range).
FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
#: Output dtypes the ops write.
OUTPUT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8)


def schema_defaults(op: torch._ops.OpOverload, **python_defaults: Any) -> Dict[str, Any]:
    """``{name: default}`` of the arguments of ``op``'s schema that have one (the one
    place the defaults are defined), updated with ``python_defaults``: what a
    schema default such as ``dtype=None`` stands for in the Python signature."""
    defaults = {a.name: a.default_value for a in op._schema.arguments if a.has_default_value()}
    unknown = python_defaults.keys() - defaults.keys()
    if unknown:
        raise KeyError(f"schema_defaults: {op} has no argument with a default named {sorted(unknown)}")
    defaults.update(python_defaults)
    return defaults


# ------------------------------------------------------------------ argument types
#
# torch's dispatcher would turn a float height into an error without the argument's
# name and a string or an int into a bool silently, so the wrappers and modules
# check the types of the plain Python arguments first (CONVENTIONS: no silent
# coercion); `who` names the caller.


def type_error(who: str, name: str, expected: str, value: object) -> TypeError:
    """The TypeError for an argument of the wrong type."""
    return TypeError(f"{who}: {name} must be {expected}, got {value!r} of type {type(value).__name__}")


def check_int(who: str, name: str, value: object, allow_none: bool = False) -> Optional[int]:
    """``value`` as an int: a Python or NumPy integer (``operator.index``), not a bool
    (or None where allowed)."""
    if type(value) is int or isinstance(value, torch.SymInt) or (allow_none and value is None):
        return value  # type: ignore[return-value]
    if not isinstance(value, (bool, torch.Tensor)):
        try:
            return operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            pass
    raise type_error(who, name, "an int" + (" or None" if allow_none else ""), value)


def check_float(who: str, name: str, value: object, allow_none: bool = False) -> Optional[float]:
    """``value`` as a float: a Python or NumPy real number (ints too), not a bool or a
    tensor (or None where allowed)."""
    if type(value) is float or isinstance(value, (torch.SymFloat, torch.SymInt)):
        return value  # type: ignore[return-value]
    if type(value) is int:  # (before the slower ABC test below)
        return float(value)
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, torch.Tensor)):
        return float(value)
    if allow_none and value is None:
        return None
    raise type_error(who, name, "a float" + (" or None" if allow_none else ""), value)


def check_bool(who: str, name: str, value: object, allow_none: bool = False) -> Optional[bool]:
    """``value`` as a bool: True, False or a NumPy bool, not an int or a string (or
    None where allowed)."""
    if value is True or value is False or isinstance(value, torch.SymBool):
        return value  # type: ignore[return-value]
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):  # NumPy 2, 1
        return bool(value)
    if allow_none and value is None:
        return None
    raise type_error(who, name, "a bool" + (" or None" if allow_none else ""), value)


def check_str(who: str, name: str, value: object, allow_none: bool = False) -> Optional[str]:
    """``value`` as a str (or None where allowed)."""
    if isinstance(value, str) or (allow_none and value is None):
        return value
    raise type_error(who, name, "a str" + (" or None" if allow_none else ""), value)


def check_dtype(who: str, name: str, value: object, allow_none: bool = False) -> Optional[torch.dtype]:
    """``value`` as a torch.dtype (or None where allowed)."""
    if isinstance(value, torch.dtype) or (allow_none and value is None):
        return value
    raise type_error(who, name, "a torch.dtype" + (" or None" if allow_none else ""), value)


def check_tensor(who: str, name: str, value: object, allow_none: bool = False) -> Optional[torch.Tensor]:
    """``value`` as a tensor (or None where allowed: an optional tensor not given)."""
    if isinstance(value, torch.Tensor) or (allow_none and value is None):
        return value
    raise type_error(who, name, "a Tensor", value)


# The check of each schema type, and the Python type that needs no check or conversion.
_TYPE_CHECKS = {
    "int": (check_int, int),
    "float": (check_float, float),
    "bool": (check_bool, bool),
    "str": (check_str, str),
    "ScalarType": (check_dtype, torch.dtype),
    "Tensor": (check_tensor, torch.Tensor),
}


class ArgumentChecks(NamedTuple):
    """How a wrapper checks the types of its arguments: per argument its name, its
    check, whether None is allowed and the Python types that pass unchanged; and
    every tuple of such types (the common case, tested at once)."""

    checks: Tuple[Tuple[str, Callable[..., Any], bool, Tuple[type, ...]], ...]
    exact_types: FrozenSet[Tuple[type, ...]]


def argument_checks(op: torch._ops.OpOverload, names: Sequence[str], not_none: Sequence[str] = ()) -> ArgumentChecks:
    """The type check of each argument in ``names`` as ``op``'s schema declares it
    (``int`` -> :func:`check_int`, ``float?`` -> :func:`check_float` allowing None, ...),
    so the Python side defines no argument type of its own; ``not_none``: optional
    arguments that a caller (a module's option) requires."""
    types = {a.name: a.real_type for a in op._schema.arguments}
    checks = []
    for name in names:
        optional = isinstance(types[name], torch._C.OptionalType)
        check, python_type = _TYPE_CHECKS[str(types[name].getElementType() if optional else types[name])]
        allow_none = optional and name not in not_none
        checks.append((name, check, allow_none, (python_type, type(None)) if allow_none else (python_type,)))
    return ArgumentChecks(tuple(checks), frozenset(itertools.product(*(c[3] for c in checks))))


def check_arguments(who: str, arguments: ArgumentChecks, values: Tuple[object, ...]) -> Sequence[Any]:
    """``values`` (in the order of ``arguments``) as Python values (NumPy scalars
    taken, ints for floats), or a TypeError naming the first argument of the wrong type."""
    types = tuple(map(type, values))
    if types in arguments.exact_types:
        return values
    checked = list(values)
    for i, (name, check, allow_none, exact) in enumerate(arguments.checks):
        if types[i] not in exact:
            checked[i] = check(who, name, checked[i], allow_none)
    return checked


def check_int64(who: str, arguments: ArgumentChecks, values: Sequence[object]) -> None:
    """A ValueError for an int argument whose Python int int64 cannot hold (the
    dispatcher would refuse it without the argument's name)."""
    for (name, check, _, _), value in zip(arguments.checks, values):
        if check is check_int and type(value) is int and not -(2**63) <= value < 2**63:
            raise ValueError(f"{who}: {name} must fit in int64, got {value}")


def check_out_dtype(who: str, dtype: Optional[torch.dtype], out: torch.Tensor) -> None:
    """With ``out=``, ``dtype`` must be left at its default (float32 or None) or equal
    ``out.dtype``. Scriptable: the wrappers call it in eager and TorchScript alike."""
    if dtype is not None and dtype != torch.float32 and dtype != out.dtype:
        raise TypeError(f"{who}: dtype and out.dtype must agree, got dtype={dtype} and out.dtype={out.dtype}")


# ------------------------------------------------------------- messages as C++ prints

# How c10 prints a ScalarType (C++ messages say "got Long", not "torch.int64").
_SCALAR_TYPE_NAMES = {
    getattr(torch, name): c10_name
    for name, c10_name in (
        ("uint8", "Byte"), ("int8", "Char"), ("int16", "Short"), ("int32", "Int"), ("int64", "Long"),
        ("float16", "Half"), ("float32", "Float"), ("float64", "Double"), ("complex32", "ComplexHalf"),
        ("complex64", "ComplexFloat"), ("complex128", "ComplexDouble"), ("bool", "Bool"),
        ("qint8", "QInt8"), ("quint8", "QUInt8"), ("qint32", "QInt32"), ("bfloat16", "BFloat16"),
        ("quint4x2", "QUInt4x2"), ("quint2x4", "QUInt2x4"), ("float8_e5m2", "Float8_e5m2"),
        ("float8_e4m3fn", "Float8_e4m3fn"), ("float8_e5m2fnuz", "Float8_e5m2fnuz"),
        ("float8_e4m3fnuz", "Float8_e4m3fnuz"), ("uint16", "UInt16"), ("uint32", "UInt32"),
        ("uint64", "UInt64"),
    )
    if hasattr(torch, name)
}


def scalar_type(dtype: torch.dtype) -> str:
    """A dtype as c10 prints a ScalarType ("Long")."""
    return _SCALAR_TYPE_NAMES.get(dtype, str(dtype))


def num(value: float) -> str:
    """A float as the C++ messages print it (fmt's shortest round trip: 1 and 1e+300)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


# ------------------------------------------------------------------ float32 colours

FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_OVERFLOW = 2.0**128 - 2.0**103  # float32 rounds magnitudes from here to inf
#: float32 magnitudes from here round to inf in the output dtype; its largest finite value.
OUTPUT_LIMITS = {
    torch.float16: (65520.0, 65504.0),
    torch.bfloat16: (2.0**128 - 2.0**119, 2.0**128 - 2.0**120),
}


def float32(value: float) -> float:
    """float(float32(value)) for a finite |value| <= FLT_MAX."""
    return struct.unpack("f", struct.pack("f", value))[0]


def finite_in_float32(value: float) -> bool:
    """Whether ``value`` is finite and at most FLT_MAX in magnitude (the ops' colours)."""
    return math.isfinite(value) and abs(value) <= FLOAT32_MAX


def stays_finite_in(value: float, dtype: torch.dtype) -> bool:
    """Whether float32(value), finite, stays finite when stored as ``dtype``."""
    limits = OUTPUT_LIMITS.get(dtype)
    return limits is None or abs(float32(value)) < limits[0]


# ------------------------------------------------------------------------ out tensors


def _storage_extent(t: torch.Tensor) -> Optional[Tuple[int, int, int]]:
    """(storage, first byte, end byte) a tensor can touch, or None where unknown."""
    try:
        storage = t.untyped_storage()
        start = t.storage_offset()
        last = start + sum((size - 1) * stride for size, stride in zip(t.shape, t.stride()))
        return storage._cdata, start * t.element_size(), (last + 1) * t.element_size()
    except Exception:  # a tensor subclass without a plain storage
        return None


def overlaps(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors share memory (as the ``overlaps`` of ``csrc/``, by storage)."""
    if a.numel() == 0 or b.numel() == 0:
        return False
    ea, eb = _storage_extent(a), _storage_extent(b)
    if ea is None or eb is None or ea[0] != eb[0]:
        return False
    return ea[1] < eb[2] and eb[1] < ea[2]


def check_out_layout(who: str, shape: List[int], out: torch.Tensor, input_name: str, input: torch.Tensor) -> None:
    """An ``out=`` tensor on the device of the op's first input, of the output shape,
    contiguous (the checks of ``csrc/``, in their order and with their messages)."""
    torch._check(
        out.device == input.device,
        lambda: f"{who}: out must be on the device of {input_name} ({input.device}), got {out.device}",
    )
    torch._check_value(list(out.shape) == shape, lambda: f"{who}: out must have shape {shape}, got {list(out.shape)}")
    torch._check_value(out.is_contiguous(), lambda: f"{who}: out must be contiguous, got strides {list(out.stride())}")


def check_out_overlap(who: str, out: torch.Tensor, inputs: Sequence[Tuple[str, Optional[torch.Tensor]]]) -> None:
    """An ``out=`` tensor that shares no memory with the op's inputs (None: not given)."""
    for name, t in inputs:
        if t is not None:
            torch._check(not overlaps(out, t), lambda: f"{who}: out must not overlap the memory of {name}")
