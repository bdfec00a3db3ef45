"""The supplied-calls table, sealed, so that the submission's process answers a dependency call
the test determines without a round trip to the grader, and learns nothing it could not learn
by asking.

A test calls a student's function with the student's other functions answered by the reference
where the test determines the call (``backprop_checks.SuppliedCalls``): the grader runs the
reference on the test's arguments and records each call it makes to those functions, with its
result. The child used to send every such call to the grader and wait (``{"event": "dep"}``):
half a millisecond each, and a training loop makes hundreds per test. Now the grader also sends,
with the call, every recorded call *sealed*:

    {"salt": b64, "calls": {name: {"count": n, "sealed": [[index, id, box], ...]}}}

where ``A`` is the recorded call's positional arguments packed (``pack``: exact types, dtypes,
shapes and bytes, as the child packs the arguments it is called with), ``id = SHA-256(salt, name,
A)`` and ``box`` is the reference's result, packed, XORed with SHAKE-256(salt, name, index, A). A
box opens only with the exact arguments of its call: the child learns a result only when it
presents bit for bit the arguments it would otherwise have sent to the grader, which the grader
would have answered with the same result. The reference's code is never sent, and no result is
readable without its call's arguments, so a notebook cannot read the table for answers (e.g.
``train``'s final parameters, which are the last recorded update's result).

The child answers a call itself only when the grader would answer it with that very entry: the
arguments match exactly (so they match within the grader's tolerance) and the entry is the one the
grader's lookup tries first (``SuppliedCalls`` starts where its last answer for that name left
off; the child keeps that position and reports it with every call it does send). Anything else
(arguments that differ in the last bit, keyword arguments, an entry elsewhere in the table, a
call the test does not determine) goes to the grader as before, which decides with its tolerance
and answers "run your own" when no recorded call matches. Entries whose arguments hold nan or inf
(which the grader never matches) or that the protocol cannot encode are left out.
"""
import base64
import hashlib
import inspect
import itertools
import math
import os
import struct

import numpy as np

from autograder.grade import protocol

MAX_SEALED_BYTES = 32 * 1024 * 1024  # a larger table is not sent: the child asks for every call
MISS = object()  # Opener.open: only the grader can answer this call

_LENGTH = struct.Struct("<I")
_FLOAT = struct.Struct("<d")


# ---------------------------------------------------------------- plain data, packed

def pack(value, max_array_bytes: int, finite: bool = False) -> bytes:
    """Plain data as bytes: exact types (as ``protocol.encode`` takes them), dtypes, shapes and
    values, every part length-prefixed, so two values pack alike only when ``protocol`` would send
    them alike. Raises ``protocol.NotPlainData`` for anything else (then only the grader decides),
    and, with ``finite``, for a nan or an inf anywhere."""
    out: list[bytes] = []
    _pack(value, max_array_bytes, out, 0, finite)
    return b"".join(out)


_TEXTS: dict = {}    # short str -> its packed bytes (dict keys and dtypes repeat in every call)
_HEADERS: dict = {}  # (dtype, shape) -> an array's packed header
_DTYPES: dict = {}   # dtype text -> numpy dtype


def _text_bytes(text: str) -> bytes:
    packed = _TEXTS.get(text)
    if packed is None:
        data = text.encode("utf-8", "surrogatepass")
        packed = _LENGTH.pack(len(data)) + data
        if len(text) <= 64 and len(_TEXTS) < 4096:
            _TEXTS[text] = packed
    return packed


def _pack(value, limit, out, depth, finite):
    if depth > protocol.MAX_DEPTH:
        raise protocol.NotPlainData("nested too deeply")
    cls = type(value)
    if cls is np.ndarray:
        dtype = value.dtype
        if dtype.kind not in protocol.NUMERIC_KINDS or dtype.fields is not None or value.nbytes > limit:
            raise protocol.NotPlainData(protocol.describe(value))
        if finite and dtype.kind in "fc" and not np.isfinite(value).all():
            raise protocol.NotPlainData("not finite")
        key = (dtype.str, value.shape)
        header = _HEADERS.get(key)
        if header is None:
            header = (b"a" + _text_bytes(dtype.str) + _LENGTH.pack(value.ndim)
                      + struct.pack(f"<{value.ndim}Q", *value.shape))
            if len(_HEADERS) < 4096:
                _HEADERS[key] = header
        out.append(header)
        out.append(value.tobytes())  # C order, whatever the array's layout
    elif cls is dict:
        out.append(b"d" + _LENGTH.pack(len(value)))
        for key, item in value.items():
            if type(key) is not str:
                raise protocol.NotPlainData("a dict key that is not a str")
            out.append(_text_bytes(key))
            _pack(item, limit, out, depth + 1, finite)
    elif cls is float:
        if finite and not math.isfinite(value):
            raise protocol.NotPlainData("not finite")
        out.append(b"f" + _FLOAT.pack(value))
    elif value is None:
        out.append(b"N")
    elif cls is bool:
        out.append(b"T" if value else b"F")
    elif cls is int:
        out.append(b"i" + _text_bytes(str(value)))
    elif cls is str:
        out.append(b"s" + _text_bytes(value))
    elif cls is list or cls is tuple:
        out.append((b"l" if cls is list else b"t") + _LENGTH.pack(len(value)))
        for item in value:
            _pack(item, limit, out, depth + 1, finite)
    elif isinstance(value, np.generic) and cls.__module__ == "numpy" and value.dtype.kind in protocol.NUMERIC_KINDS:
        if finite and value.dtype.kind in "fc" and not np.isfinite(value):
            raise protocol.NotPlainData("not finite")
        out.append(b"g" + _text_bytes(value.dtype.str))
        out.append(value.tobytes())
    else:
        raise protocol.NotPlainData(protocol.describe(value))


def unpack(data: bytes):
    """``pack``'s bytes -> fresh values, as ``protocol.decode(protocol.encode(value))`` gives them."""
    value, end = _unpack(memoryview(data), 0)
    if end != len(data):
        raise ValueError("trailing bytes")
    return value


def _read_text(view, at):
    (size,) = _LENGTH.unpack_from(view, at)
    at += _LENGTH.size
    return str(view[at:at + size], "utf-8", "surrogatepass"), at + size


def _dtype(view, at):
    text, at = _read_text(view, at)
    dtype = _DTYPES.get(text)
    if dtype is None:
        dtype = _DTYPES[text] = np.dtype(text)  # only the grader's own dtypes reach here
    return dtype, at


def _unpack(view, at):
    tag = view[at]
    at += 1
    if tag == 0x61:  # a: array
        dtype, at = _dtype(view, at)
        (ndim,) = _LENGTH.unpack_from(view, at)
        at += _LENGTH.size
        shape = struct.unpack_from(f"<{ndim}Q", view, at)
        at += 8 * ndim
        count = 1
        for n in shape:
            count *= n
        array = np.frombuffer(view, dtype, count, at).reshape(shape).copy()
        return array, at + count * dtype.itemsize
    if tag == 0x64:  # d: dict
        (count,) = _LENGTH.unpack_from(view, at)
        at += _LENGTH.size
        items = {}
        for _ in range(count):
            key, at = _read_text(view, at)
            items[key], at = _unpack(view, at)
        return items, at
    if tag == 0x66:  # f: float
        return _FLOAT.unpack_from(view, at)[0], at + _FLOAT.size
    if tag == 0x4E:  # N
        return None, at
    if tag in (0x54, 0x46):  # T, F
        return tag == 0x54, at
    if tag == 0x69:  # i: int
        text, at = _read_text(view, at)
        return int(text), at
    if tag == 0x73:  # s: str
        return _read_text(view, at)
    if tag in (0x6C, 0x74):  # l, t: list, tuple
        (count,) = _LENGTH.unpack_from(view, at)
        at += _LENGTH.size
        items = []
        for _ in range(count):
            item, at = _unpack(view, at)
            items.append(item)
        return (items if tag == 0x6C else tuple(items)), at
    if tag == 0x67:  # g: numpy scalar
        dtype, at = _dtype(view, at)
        return np.frombuffer(view, dtype, 1, at)[0], at + dtype.itemsize
    raise ValueError(f"unknown tag {tag!r}")


# ---------------------------------------------------------------- sealing

def _ident(salt: bytes, name: str, arguments: bytes) -> str:
    digest = hashlib.sha256(b"id\0" + salt + name.encode("utf-8", "surrogatepass") + b"\0" + arguments)
    return base64.b64encode(digest.digest()[:18]).decode("ascii")


def _pad(salt: bytes, name: str, index: int, arguments: bytes, size: int) -> bytes:
    key = hashlib.shake_256(b"box\0" + salt + name.encode("utf-8", "surrogatepass") + b"\0"
                            + index.to_bytes(8, "big") + arguments)
    return key.digest(size)


def _xor(data: bytes, pad: bytes) -> bytes:
    return (np.frombuffer(data, np.uint8) ^ np.frombuffer(pad, np.uint8)).tobytes()


def _positional(signature) -> tuple | None:
    """The parameter names when every parameter is plain positional-or-keyword (else None)."""
    if not isinstance(signature, inspect.Signature):
        return None
    params = list(signature.parameters.values())
    if not all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params)


_SECRET = os.urandom(32)  # this process's; each sealed table gets a salt of its own from it
_tables_sealed = itertools.count()


def seal(supplied, max_array_bytes: int) -> dict | None:
    """The sealed form of a ``SuppliedCalls`` table (its recorded calls and results), or None when
    it has nothing the child could answer itself.

    An entry is sealed when its call can be packed (then ``protocol`` would carry the same call,
    and the grader's pattern of it is a plain one: containers and numeric or exact leaves), its
    arguments are finite (the grader matches nan and inf with nothing) and its result can be
    packed (else the grader answers "run your own")."""
    entries = getattr(supplied, "entries", None)
    signatures = getattr(supplied, "signatures", None) or {}
    if not isinstance(entries, dict) or not entries:
        return None
    salt = hashlib.sha256(_SECRET + next(_tables_sealed).to_bytes(8, "big")).digest()[:16]
    calls, size = {}, 0
    for name, rows in entries.items():
        names = _positional(signatures.get(name))
        if names is None or type(name) is not str:
            continue
        sealed = []
        for index, (recorded, result) in enumerate(rows):
            if not isinstance(recorded, dict) or tuple(recorded) != names:
                continue
            try:
                arguments = pack([recorded[n] for n in names], max_array_bytes, finite=True)
                plain = pack(result, max_array_bytes)
            except (protocol.NotPlainData, RecursionError, TypeError, ValueError, OverflowError):
                continue
            box = _xor(plain, _pad(salt, name, index, arguments, len(plain)))
            sealed.append([index, _ident(salt, name, arguments), base64.b64encode(box).decode("ascii")])
            size += len(sealed[-1][2]) + 40
        if sealed:
            calls[name] = {"count": len(rows), "sealed": sealed}
    if not calls or size > MAX_SEALED_BYTES:
        return None
    return {"salt": base64.b64encode(salt).decode("ascii"), "calls": calls}


class Opener:
    """The child's side: answers a call from the sealed table when the grader would answer it with
    the same entry; keeps, per name, where the grader's lookup would start."""

    def __init__(self, table, max_array_bytes: int):
        self.limit = max_array_bytes
        self.positions: dict[str, int] = {}
        self.calls: dict[str, tuple[int, dict]] = {}
        try:
            self.salt = base64.b64decode(table["salt"])
            for name, found in table["calls"].items():
                by_ident: dict[str, list] = {}
                for index, ident, box in found["sealed"]:
                    by_ident.setdefault(ident, []).append((index, box))
                self.calls[name] = (int(found["count"]), by_ident)
        except Exception:  # no table, or not one we understand: ask the grader for every call
            self.calls = {}

    def position(self, name: str) -> int:
        return self.positions.get(name, 0)

    def moved(self, name: str, position) -> None:
        """The grader answered a call of ``name``; its lookup now starts at ``position``."""
        if type(position) is int:
            self.positions[name] = position

    def open(self, name: str, args: tuple):
        """The reference's result for ``name(*args)``, or ``MISS`` when only the grader can say."""
        known = self.calls.get(name)
        if known is None:
            return MISS
        count, by_ident = known
        try:
            arguments = pack(list(args), self.limit)
        except (protocol.NotPlainData, RecursionError, ValueError, OverflowError):
            return MISS
        candidates = by_ident.get(_ident(self.salt, name, arguments))
        if not candidates or count <= 0:
            return MISS
        first = self.positions.get(name, 0) % count  # the entry the grader's lookup tries first
        for index, box in candidates:
            if index == first:
                try:
                    data = base64.b64decode(box)
                    value = unpack(_xor(data, _pad(self.salt, name, index, arguments, len(data))))
                except Exception:
                    return MISS
                self.positions[name] = index + 1
                return value
        return MISS
