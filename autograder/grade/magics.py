"""IPython syntax in a submitted cell, as the plain Python the submission's process runs.

    to_python(source) -> str

IPython's ``TransformerManager`` turns magics and shell escapes into calls on ``get_ipython()``
(``%%time`` becomes ``get_ipython().run_cell_magic('time', '', body)``). The submission's
process has no IPython: its ``get_ipython()`` is a stand-in whose methods do nothing, so a
cell under ``%%time`` would silently not run. The magics whose body matters are rewritten here
into the Python IPython runs:

- ``%%time`` / ``%time stmt``: the body, in the notebook's namespace (IPython only adds timing);
  ``x = %time f()`` is ``x = f()``.
- ``%%timeit [options] [setup]`` / ``%timeit [options] stmt``: the setup and the statement
  once, inside a function, as IPython's timeit runs them (names they assign stay local); once,
  not the thousands of loops IPython times.
- ``%%capture [--no-stdout] [--no-stderr] [var]``: the body with its output captured; ``var``
  gets an object with ``stdout``, ``stderr`` and ``show()``.
- ``%%writefile [-a] file``: the body written to the file (in the private working directory).
- Shell escapes (``!cmd``, ``x = !cmd``, ``%%bash``, ``%%sh``, ``%%script``, ``%sx``,
  ``%system``, ...) are refused: a statement's refusal is raised as the cell's error once the
  rest of the cell has run; where the command's output is used, it is raised right there.

Every other magic (``%matplotlib inline``, ``%load_ext``, ``%%html``) stays a call on the
stand-in, which ignores it. Cells without IPython syntax come back exactly as
``TransformerManager`` leaves them; rewritten ones are regenerated with ``ast.unparse``.
"""
from __future__ import annotations

import ast
import re
import shlex
import textwrap

# cell magics that run another program on the body (IPython's script magics)
PROGRAM_CELL_MAGICS = {"bash", "sh", "script", "system", "!", "sx", "perl", "ruby", "python", "python2",
                       "python3", "pypy", "js", "javascript_node", "node"}
SHELL_LINE_MAGICS = {"sx", "system", "sc"}
SHELL_MESSAGE = ("shell command refused: {what} was not run. A graded notebook runs Python only (the allowed "
                 "packages are installed already): remove the command.")
THE_REST_RAN = " The rest of the cell ran."

_TIMEIT_OPTION = re.compile(r"-(?:[nrp]\s*\S+|[tcqo]+)(?:\s+|$)")


# What IPython's TransformerManager acts on beyond its clean-up (leading blank lines, common
# indentation): a line starting with an escape (%magic, !shell, ,;/ autocall, %%cell magic),
# "x = %magic" and "x = !shell" assignments, help ("x?", never valid Python: the compile below
# sends it to IPython), and prompts pasted from a console (">>>" on any line: doctest mode;
# "...", "In [1]:" on the first two lines, both valid Python). A cell with none of these is left
# alone by its token transforms and prompt strippers; "a != b" and "a % b" are plain Python.
# Lines are Python's (str.splitlines), as IPython's are; a cell with line breaks the compiler does
# not count as such (form feed, \u2028, a lone \r, ...) goes to IPython.
_MAYBE_IPYTHON = re.compile(r">>>|=[\s\\]*[%!]|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]|\r(?!\n)")
_ESCAPE_START = re.compile(r"\s*[,;/%!?]")
_PROMPT_START = re.compile(r"\s*(\.\.\.|In \[|\[nav\]|\[ins\])")


_PLAIN: dict = {}  # cell source -> plain_python's answer: every notebook of a batch shares most cells
_PLAIN_KEPT, _PLAIN_LONGEST = 512, 50_000


def plain_python(source: str) -> str | None:
    """``_plain_python``, remembered for the cells notebooks share (the set-up cell, Otter's)."""
    known = _PLAIN.get(source, _PLAIN)
    if known is not _PLAIN:
        return known
    code = _plain_python(source)
    if len(source) <= _PLAIN_LONGEST and len(_PLAIN) < _PLAIN_KEPT:
        _PLAIN[source] = code
    return code


def _plain_python(source: str) -> str | None:
    """What ``TransformerManager().transform_cell(source)`` returns, for a cell with no IPython
    syntax (its clean-up only: a final newline, leading blank lines dropped, common indentation
    removed); None when the cell may hold IPython syntax or is not valid Python (then IPython
    decides). Compiling is much cheaper than IPython's tokenizing, and a notebook of plain Python
    does not import IPython at all."""
    if _MAYBE_IPYTHON.search(source):
        return None
    cell = source if source.endswith("\n") else source + "\n"
    lines = cell.splitlines(keepends=True)
    if any(_ESCAPE_START.match(line) for line in lines):
        return None
    for i, line in enumerate(lines):
        if line and not line.isspace():
            lines = lines[i:]
            break
    lines = textwrap.dedent("".join(lines)).splitlines(keepends=True)
    if any(_PROMPT_START.match(line) for line in lines[:2]):
        return None
    code = "".join(lines)
    try:  # IPython tokenizes the cell and gives up on some invalid ones (then the cell runs as written)
        compile(code, "<cell>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    return code


def to_python(source: str, transformer=None) -> str:
    """``source`` (a cell, IPython syntax allowed) as Python for the submission's process."""
    code = plain_python(source)
    if code is None:
        if transformer is None:
            from IPython.core.inputtransformer2 import TransformerManager
            transformer = TransformerManager()
        try:
            code = transformer.transform_cell(source)
        except Exception:
            return source  # left as is: the cell's SyntaxError is recorded when it runs
    if "get_ipython()" not in code:
        return code
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code
    if transformer is None:  # a plain cell that calls get_ipython() itself
        from IPython.core.inputtransformer2 import TransformerManager
        transformer = TransformerManager()
    rewriter = _Rewriter(transformer, {id(stmt) for stmt in tree.body})
    try:
        tree = rewriter.visit(tree)
        if not rewriter.changed:
            return code
        if rewriter.refused:
            what = ", ".join(repr(cmd) for cmd in rewriter.refused[:3])
            tree.body.append(_raise(SHELL_MESSAGE.format(what=what) + THE_REST_RAN))
        return ast.unparse(ast.fix_missing_locations(tree))
    except RecursionError:
        return code


def _ipython_call(node):
    """(method, [str arguments]) when ``node`` is ``get_ipython().method('...', ...)``, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    target = node.func.value
    if not (isinstance(target, ast.Call) and isinstance(target.func, ast.Name)
            and target.func.id == "get_ipython" and not target.args):
        return None
    args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if len(args) != len(node.args) or not args:
        return None
    return node.func.attr, args


def _raise(message: str) -> ast.stmt:
    return ast.parse(f"raise RuntimeError({message!r})").body[0]


def _raising_expression(message: str) -> ast.expr:
    return ast.parse(f"(_ for _ in ()).throw(RuntimeError({message!r}))", mode="eval").body


def _compile_error(source: str) -> list[ast.stmt]:
    """Statements that raise, in the submission's process, the SyntaxError ``source`` has."""
    return ast.parse(f"exec(compile({source!r}, '<cell>', 'exec'))").body


def _timeit_statement(line: str) -> str:
    line = line.strip()
    while line.startswith("-"):
        match = _TIMEIT_OPTION.match(line)
        if not match:
            break
        line = line[match.end():]
    return line


class _Rewriter(ast.NodeTransformer):
    def __init__(self, transformer, top_level: set[int]):
        self.transformer = transformer
        self.top_level = top_level  # statements run in the cell's own flow (refusals wait for its end)
        self.changed = False
        self.refused: list[str] = []

    # ---------------------------------------------------------------- statements
    def visit_Expr(self, node):
        call = _ipython_call(node.value)
        if call is None:
            return self.generic_visit(node)
        method, args = call
        top = id(node) in self.top_level
        if method == "run_cell_magic" and len(args) >= 3:
            return self._cell_magic(args[0], args[1], args[2], node, top)
        if method == "run_line_magic" and len(args) >= 2:
            return self._line_magic(args[0], args[1], node, top)
        if method in ("system", "getoutput"):
            return self._refuse("!" + args[0], top)
        return node

    def _refuse(self, command: str, top: bool):
        self.changed = True
        if top:
            self.refused.append(command[:200])
            return ast.Pass()
        return _raise(SHELL_MESSAGE.format(what=repr(command[:200])))

    def _statements(self, code: str, top: bool) -> list[ast.stmt]:
        """``code`` (IPython syntax allowed) as statements, rewritten like the cell around it."""
        try:
            code = self.transformer.transform_cell(code)
            body = ast.parse(code).body
        except Exception:  # a SyntaxError (or worse) in the body: raised when the cell runs
            return _compile_error(code)
        if top:
            self.top_level.update(id(stmt) for stmt in body)
        out = []
        for stmt in body:
            new = self.visit(stmt)
            out.extend(new if isinstance(new, list) else [new] if new is not None else [])
        return out or [ast.Pass()]

    def _once_in_a_function(self, setup: str, statement: str) -> list[ast.stmt]:
        body = []
        if setup.strip():
            body += self._statements(setup, top=False)
        body += self._statements(statement, top=False)
        tree = ast.parse("def _timeit_once():\n    pass\n_timeit_once()\ndel _timeit_once")
        tree.body[0].body = body
        return tree.body

    def _line_magic(self, name: str, line: str, node, top: bool):
        if name == "time":
            self.changed = True
            return self._statements(line.replace("--no-raise-error", "", 1), top)
        if name == "timeit":
            self.changed = True
            return self._once_in_a_function("", _timeit_statement(line))
        if name in SHELL_LINE_MAGICS:
            return self._refuse(f"%{name} {line}", top)
        return node

    def _cell_magic(self, name: str, line: str, body: str, node, top: bool):
        if name == "time":
            self.changed = True
            return self._statements(body, top)
        if name == "timeit":
            self.changed = True
            return self._once_in_a_function(_timeit_statement(line), body)
        if name == "capture":
            self.changed = True
            return self._capture(line, body, top)
        if name == "writefile":
            self.changed = True
            return self._writefile(line, body)
        if name in PROGRAM_CELL_MAGICS:
            return self._refuse(f"%%{name} {line}".strip(), top)
        return node

    def _capture(self, line: str, body: str, top: bool) -> list[ast.stmt]:
        words = line.split()
        stdout, stderr = "--no-stdout" not in words, "--no-stderr" not in words
        names = [w for w in words if not w.startswith("-") and w.isidentifier()]
        streams = []
        if stdout:
            streams.append("__import__('contextlib').redirect_stdout(__import__('io').StringIO()) as _captured_out")
        if stderr:
            streams.append("__import__('contextlib').redirect_stderr(__import__('io').StringIO()) as _captured_err")
        if streams:
            tree = ast.parse(f"with {', '.join(streams)}:\n    pass")
            tree.body[0].body = self._statements(body, top)
            out = tree.body
        else:
            out = self._statements(body, top)
        if names:
            out_text = "_captured_out.getvalue()" if stdout else "''"
            err_text = "_captured_err.getvalue()" if stderr else "''"
            out += ast.parse(
                f"{names[0]} = __import__('types').SimpleNamespace(stdout={out_text}, stderr={err_text}, outputs=[])\n"
                f"{names[0]}.show = (lambda c=({names[0]}): (print(c.stdout, end=''), "
                f"print(c.stderr, end='', file=__import__('sys').stderr)) and None)").body
        return out

    def _writefile(self, line: str, body: str) -> list[ast.stmt]:
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        append = any(w in ("-a", "--append") for w in words)
        files = [w for w in words if not w.startswith("-")]
        if not files:
            return [_raise("%%writefile needs a file name")]
        return ast.parse(f"with open({files[0]!r}, {'a' if append else 'w'!r}, encoding='utf-8') as _written:\n"
                         f"    _written.write({body!r})").body

    # ---------------------------------------------------------------- expressions
    def visit_Call(self, node):
        node = self.generic_visit(node)
        call = _ipython_call(node)
        if call is None:
            return node
        method, args = call
        if method in ("getoutput", "system") or method == "run_line_magic" and args[0] in SHELL_LINE_MAGICS:
            self.changed = True
            command = "!" + args[0] if method in ("getoutput", "system") else f"%{args[0]} {args[1:] and args[1]}"
            return _raising_expression(SHELL_MESSAGE.format(what=repr(command[:200])))
        if method == "run_line_magic" and len(args) >= 2 and args[0] in ("time", "timeit"):
            statement = args[1].replace("--no-raise-error", "", 1) if args[0] == "time" else _timeit_statement(args[1])
            try:
                value = ast.parse(statement.strip(), mode="eval").body
            except SyntaxError:
                return node
            self.changed = True
            if args[0] == "timeit":  # IPython's -o would give timings; the statement runs once, the value is None
                return ast.Subscript(value=ast.Tuple(elts=[value, ast.Constant(None)], ctx=ast.Load()),
                                     slice=ast.Constant(1), ctx=ast.Load())
            return value
        return node
