"""Make a built notebook work alone: its support files travel inside it, its first cell writes them.

A notebook needs ``backprop_checks.py``, ``backprop_diagnosis.py`` and its exercise's data (e.g.
``parameters.npz``) next to it, and otter-grader installed. Uploaded alone (Colab, a JupyterHub)
it has neither, so the build

- stores each support file in the notebook's metadata, ``metadata["backprop_lab"]["files"][name]``:
  the file's exact bytes, zlib-compressed (level 9) and base64-encoded;
- inserts, just before Otter's init cell, a locked set-up cell: ``setup_cell.py`` with its
  constants filled in (the notebook's file name, the otter-grader pin, each file's sha256).

The cell installs otter-grader (the version that built the notebook, which pyproject pins) when
``import otter`` fails, and writes each file that is missing or whose sha256 differs, after
checking the decoded bytes against that sha256. Policy: **the notebook's copy wins**; a local file
that differs (an older hand-out, an edit) is replaced, and the cell says so ("wrote <name>"). Files
that already match are left untouched, and then the cell does not even read the notebook, so it
does nothing where the files are already in place: the student folder, the batch grader's child
(it gets the student folder's files; ``import otter`` finds the grader's stand-in), ``otter run``.
Where the notebook file cannot be found (renamed, or graded under another name) local files that
differ are kept, with a note; missing ones are an error that says why.

Deterministic: the same files give the same bytes, so building twice gives identical notebooks.
"""
import ast
import base64
import hashlib
import json
import zlib
from pathlib import Path

import nbformat

TEMPLATE = Path(__file__).with_name("setup_cell.py")
METADATA_KEY = "backprop_lab"
CELL_TAG = "backprop-lab-setup"


def otter_requirement() -> str:
    import otter
    return f"otter-grader=={otter.__version__}"


def encode(data: bytes) -> str:
    """A file's bytes as the notebook carries them (the set-up cell undoes this)."""
    return base64.b64encode(zlib.compress(data, 9)).decode("ascii")


def decode(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


def setup_cell_source(notebook_name: str, files: dict[str, bytes], otter_grader: str) -> str:
    """``setup_cell.py`` without its docstring, its three constants set for this notebook."""
    template = TEMPLATE.read_text(encoding="utf-8")
    tree = ast.parse(template)
    lines = template.splitlines()
    digests = "".join(f"    {json.dumps(name)}: {json.dumps(hashlib.sha256(data).hexdigest())},\n"
                      for name, data in files.items())
    values = {"NOTEBOOK": json.dumps(notebook_name),
              "OTTER_GRADER": json.dumps(otter_grader),
              "COURSE_FILES": "{\n" + digests + "}"}
    for node in reversed(tree.body):  # from the bottom, so earlier line numbers stay right
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in values:
            name = node.targets[0].id
            lines[node.lineno - 1: node.end_lineno] = f"{name} = {values.pop(name)}".splitlines()
    if values:
        raise ValueError(f"{TEMPLATE.name} has no assignment to {', '.join(values)}")
    docstring = tree.body[0]
    return "\n".join(lines[docstring.end_lineno:]).strip()


def make_standalone(nb: nbformat.NotebookNode, notebook_name: str, files: dict[str, bytes]) -> None:
    """Embed ``files`` (name -> bytes, flat names) in ``nb`` and put the set-up cell before Otter's
    init cell (replacing an earlier set-up cell)."""
    bad = [name for name in files if Path(name).name != name or name.endswith(".ipynb")]
    if bad:
        raise ValueError(f"only flat, non-notebook files can travel in a notebook: {bad}")
    files = dict(sorted(files.items()))
    nb.metadata[METADATA_KEY] = {"files": {name: encode(data) for name, data in files.items()}}
    cell = nbformat.v4.new_code_cell(setup_cell_source(notebook_name, files, otter_requirement()))
    cell.metadata.update({"deletable": False, "editable": False, "tags": [CELL_TAG]})
    nb.cells = [c for c in nb.cells if CELL_TAG not in c.get("metadata", {}).get("tags", [])]
    init = next((i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and "otter.Notebook(" in c.source), 0)
    nb.cells.insert(init, cell)


def embed_support_files(notebook_path: Path, support_dir: Path) -> None:
    """Rewrite the notebook at ``notebook_path`` with every file of ``support_dir`` inside it."""
    support = sorted(p for p in Path(support_dir).iterdir()
                     if not p.name.startswith(".") and p.suffix != ".ipynb")  # not .OTTER_LOG
    folders = [p.name for p in support if not p.is_file()]
    if folders:
        raise ValueError(f"{support_dir}: folders cannot travel in a notebook: {folders}")
    nb = nbformat.read(notebook_path, as_version=4)
    make_standalone(nb, Path(notebook_path).name, {p.name: p.read_bytes() for p in support})
    nbformat.write(nb, notebook_path)
