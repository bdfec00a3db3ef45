"""Wire format between the grader and a submission's process: plain data, never code.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. The
reader checks both sizes before it parses anything: the length against the caller's cap
(`Limits.return_mb` for what the child sends), then the number of JSON values against
`MAX_FRAME_VALUES` (one byte scan: every value but the first in a container follows a comma,
every container opens with a bracket). Parsing one frame therefore builds at most that many
Python objects, whatever the frame holds: a frame of 4 MB of `{}` is refused unparsed.
Values are JSON scalars (None, bool, int, float, str) or tagged objects:

    {"t": "list",  "v": [...]}           {"t": "tuple", "v": [...]}
    {"t": "dict",  "v": {"key": ...}}    (string keys only)
    {"t": "array", "dtype": "<f8", "shape": [2, 3], "data": "<base64 of the C-order bytes>"}
    {"t": "scalar", "dtype": "<f8", "data": "<base64>"}   (a numpy scalar such as np.float64)
    {"t": "ref", "name": "forward"}      (grader -> child only: one of the student's functions)

`decode` is the trust boundary: the grader runs it on whatever the child sends, and it
accepts nothing but the shapes above, numeric or boolean dtypes, and sizes under the caps.
It never unpickles and never evaluates anything. `encode` runs on both sides; in the child
it is the student's own process, so the grader never relies on it being honest.
"""
import base64
import json
import struct
import time

HEADER = struct.Struct(">I")
NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex
MAX_DEPTH = 32
MAX_FRAME_VALUES = 200_000  # JSON values in one frame; plenty for these networks' dicts and lists
# Frames from the grader (support files, arguments, supplied values) are trusted and may be
# larger than the child's own answers, which the grader caps at `Limits.return_mb`.
GRADER_FRAME_BYTES = 256 * 1024 * 1024


class _Numpy:
    """``numpy``, imported on first use: the sandbox imports this module (for its frames) before
    it starts the zygote, and the zygote's start should not wait for numpy in this process."""

    def __getattr__(self, name):
        import numpy
        globals()["np"] = numpy
        return getattr(numpy, name)


np = _Numpy()


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame of plain data."""


class NotPlainData(TypeError):
    """A value that cannot cross the wire: the message says what it was."""


# ---------------------------------------------------------------- framing

def send_frame(sock, message, max_bytes):
    body = json.dumps(message, allow_nan=True, separators=(",", ":")).encode()
    if len(body) > max_bytes:
        raise NotPlainData(f"message of {len(body):,} bytes is over the {max_bytes:,}-byte cap")
    sock.sendall(HEADER.pack(len(body)) + body)


def _recv_exact(sock, n, deadline):
    buffer = bytearray(n)  # one copy of the frame in memory, never chunks plus their join
    view, got = memoryview(buffer), 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer in time")
            sock.settimeout(left)
        count = sock.recv_into(view[got:], min(n - got, 1 << 20))
        if not count:
            raise EOFError("the submission's process closed the connection")
        got += count
    return buffer


def count_values(body):
    """An upper bound on the JSON values in `body` (brackets and commas inside strings count too)."""
    return body.count(b",") + body.count(b"[") + body.count(b"{") + 1


def recv_frame(sock, max_bytes, deadline=None, max_values=MAX_FRAME_VALUES):
    """Read one frame by `deadline` (time.monotonic()), at most `max_bytes` long and holding
    at most `max_values` JSON values (None: no count, for frames from the grader).

    Raises TimeoutError (socket.timeout) when late, EOFError when the other side is gone,
    ProtocolError on junk or an oversized frame (the stream is then out of step: drop it).
    """
    (length,) = HEADER.unpack(_recv_exact(sock, HEADER.size, deadline))
    if length > max_bytes:
        raise ProtocolError(f"frame of {length:,} bytes is over the {max_bytes:,}-byte cap")
    body = _recv_exact(sock, length, deadline)
    if max_values is not None and count_values(body) > max_values:
        raise ProtocolError(f"frame holds over {max_values:,} values")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from None


# ---------------------------------------------------------------- values

def describe(value):
    """Short human description of a Python value's type, for error messages."""
    cls = type(value)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    if isinstance(value, np.ndarray):
        return f"{name} of dtype {value.dtype} and shape {value.shape}"
    return name


def encode(value, max_array_bytes, *, refs=None, _depth=0):
    """Plain data -> JSON-able tagged structure. Raises NotPlainData naming the culprit.

    `refs` maps objects to names for `{"t": "ref"}` (the grader passes its stubs this way).
    """
    if _depth > MAX_DEPTH:
        raise NotPlainData(f"nested deeper than {MAX_DEPTH} levels")
    cls = type(value)
    if value is None or cls in (bool, int, str):
        return value
    if cls is float:
        return value
    if refs is not None:
        name = refs(value)
        if name is not None:
            return {"t": "ref", "name": name}
    if cls in (list, tuple):
        return {"t": cls.__name__,
                "v": [encode(v, max_array_bytes, refs=refs, _depth=_depth + 1) for v in value]}
    if cls is dict:
        out = {}
        for key, v in value.items():
            if type(key) is not str:
                raise NotPlainData(f"a dict with a {describe(key)} key (only str keys cross)")
            out[key] = encode(v, max_array_bytes, refs=refs, _depth=_depth + 1)
        return {"t": "dict", "v": out}
    if cls is np.ndarray:
        if value.dtype.kind not in NUMERIC_KINDS or value.dtype.fields is not None:
            raise NotPlainData(f"a numpy array of dtype {value.dtype} (only numeric or bool arrays cross)")
        if value.nbytes > max_array_bytes:
            raise NotPlainData(f"a numpy array of {value.nbytes:,} bytes (cap {max_array_bytes:,})")
        data = np.ascontiguousarray(value).tobytes()
        return {"t": "array", "dtype": value.dtype.str, "shape": list(value.shape),
                "data": base64.b64encode(data).decode("ascii")}
    if isinstance(value, np.generic) and cls.__module__ == "numpy" and value.dtype.kind in NUMERIC_KINDS:
        return {"t": "scalar", "dtype": value.dtype.str,
                "data": base64.b64encode(value.tobytes()).decode("ascii")}
    raise NotPlainData(describe(value))


def _dtype(text):
    try:
        dtype = np.dtype(str(text))
    except (TypeError, ValueError):
        raise ProtocolError(f"unknown dtype {text!r}") from None
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"dtype {dtype} is not numeric")
    return dtype


def _bytes(data, expected):
    if type(data) is not str:
        raise ProtocolError("array data is not a base64 string")
    if len(data) > 4 * (expected // 3 + 1) + 4:
        raise ProtocolError("array data longer than its shape says")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    if len(raw) != expected:
        raise ProtocolError(f"array data has {len(raw)} bytes, its shape and dtype say {expected}")
    return raw


def decode(obj, max_array_bytes, *, resolve_ref=None, _depth=0):
    """Tagged structure -> fresh plain Python/numpy values. Trusts nothing in `obj`."""
    if _depth > MAX_DEPTH:
        raise ProtocolError(f"nested deeper than {MAX_DEPTH} levels")
    cls = type(obj)
    if obj is None or cls in (bool, int, float, str):
        return obj
    if cls is not dict:
        raise ProtocolError(f"unexpected {cls.__name__} on the wire")
    tag = obj.get("t")
    if tag in ("list", "tuple"):
        items = obj.get("v")
        if type(items) is not list:
            raise ProtocolError(f"{tag} without items")
        out = [decode(v, max_array_bytes, resolve_ref=resolve_ref, _depth=_depth + 1) for v in items]
        return out if tag == "list" else tuple(out)
    if tag == "dict":
        items = obj.get("v")
        if type(items) is not dict:
            raise ProtocolError("dict without items")
        return {str(k): decode(v, max_array_bytes, resolve_ref=resolve_ref, _depth=_depth + 1)
                for k, v in items.items()}
    if tag == "array":
        dtype = _dtype(obj.get("dtype"))
        shape = obj.get("shape")
        if type(shape) is not list or len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
            raise ProtocolError("array with a malformed shape")
        count = 1
        for n in shape:
            count *= n
        nbytes = count * dtype.itemsize
        if nbytes > max_array_bytes:
            raise ProtocolError(f"array of {nbytes:,} bytes is over the cap")
        raw = _bytes(obj.get("data"), nbytes)
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if tag == "scalar":
        dtype = _dtype(obj.get("dtype"))
        raw = _bytes(obj.get("data"), dtype.itemsize)
        return np.frombuffer(raw, dtype=dtype)[0]
    if tag == "ref" and resolve_ref is not None and type(obj.get("name")) is str:
        return resolve_ref(obj["name"])
    raise ProtocolError(f"unknown tag {tag!r} on the wire")
