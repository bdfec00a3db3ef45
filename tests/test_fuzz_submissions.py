"""Fuzz the batch grader: over 1,000 malformed and hostile submissions in one batch.

Made from the real example notebooks (``examples/``) by a seeded generator (the same files on
every run): byte-level mutations, mutations that keep the JSON valid (a letter changed, a lone
surrogate or a terminal escape inserted in a string), notebooks with huge or hostile metadata,
too many cells, broken cell structures, hostile code cells (exceptions whose text is a lone
surrogate, a formula or a megabyte, escape floods, junk on the protocol, SIGKILL, an endless
loop, shell escapes, cell magics), export zips (nested, truncated, mutated, encrypted, two
notebooks, a zip bomb, thousands of members), odd, long and non-UTF-8 file names, names that
collide once made safe, symbolic links (to a classmate, to the master notebook, to a device,
dangling, in a loop), a FIFO, empty files and folders named like notebooks.

``python -m autograder grade`` grades them all in one run (only relu_softmax is built: the
notebooks of the other exercises are ``wrong-assignment`` rows, which cost nothing), and:
exactly one row per file, ``grades.csv`` parses with the csv module and has that many rows,
no cell starts a formula, ``results.json`` is strict JSON in valid UTF-8, feedback names are
unique, no row is a grader ``error``, and the grader exits 0.
"""
import csv
import io
import json
import os
import random
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from autograder.grade import gradebook

SEED = 9_2026
EXERCISE = "relu_softmax"  # the only one built here; the quickest to grade
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LETTER = re.compile(rb"[a-z]")
KNOWN_STATUSES = {"graded", "timeout", "crashed", "invalid", "wrong-assignment"}

ODD_NAMES = ["with space", "ñandú", "😀emoji", "=cmd|' /C calc'!A0", "+plus", "-minus", "@at", "\ttab",
             "new\nline", "esc\x1b[31mred", "bell\x07", "back\\slash", "quote'\"", "<img src=x onerror=alert(1)>",
             "rtl\u202egnp", "dots..", "%s%n", "$(whoami)", "`id`", "\u200bzero-width", "CON", "nul"]
BAD_BYTES = [b"\xff\xfe", b"caf\xe9", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"ok\xf0\x9f"]
INSERTS = [b"\x00", b"\xff", b"\x1b[2J", b"\"", b"{", b"}", b"[", b"]", b",", b"\\", b"\\u", b"\\udcff",
           b"\n", b"\xed\xb3\xbf", b"null", b"1e999999", b"-", b"="]

HOSTILE_CELLS = [
    "raise ValueError('\\udcff\\ud800 =1+1 \\x1b[2J' * 1000)",
    "print('\\x1b[31m' * 10000 + '=cmd')",
    "print('x' * 3_000_000)",
    "import os, struct\nos.write(3, struct.pack('>I', 2) + b'[]')",
    "import os, struct\nos.write(3, struct.pack('>I', 4) + b'{{{{')",
    "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
    "import sys\nsys.exit(3)",
    "%%time\nz = 1",
    "%%capture out\nprint('hidden')",
    "!rm -rf /tmp/x",
    "files = !ls",
    "class E(Exception):\n    def __str__(self):\n        return '\\udcff' * 10\nraise E()",
    "def softmax(z):\n    return {'k' * 1_000_000: 1}",
    "def relu(z):\n    raise RuntimeError('\\x1b[31m=HYPERLINK(\"http://x\")\\udcff')",
    "def relu_derivative(z):\n    return 'x' * 3_000_000",
    "while True:\n    pass",
    "import sys\nsys.stdout.write('\\x1b]0;title\\x07' * 1000)",
    "get_ipython().system('id')",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from autograder.builder import build
    out = tmp_path_factory.mktemp("fuzz-dist")
    build([EXERCISE], out, progress=False)
    return out


def _write(path: bytes, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


class Generator:
    """Writes the submissions under ``root`` (bytes paths) and remembers each one that must get
    a row (``expected``), with a few reasons that must appear (``reasons``)."""

    def __init__(self, work: Path, dist: Path, seed: int = SEED):
        self.rng = random.Random(seed)
        self.work = os.fsencode(work)
        self.root = b"subs"
        self.dist = dist
        self.expected: list[bytes] = []
        self.reasons: dict[bytes, str] = {}
        self.count = 0
        self.sources = {p.relative_to(EXAMPLES).as_posix(): p.read_bytes()
                        for p in sorted(EXAMPLES.rglob("*")) if p.suffix in (".ipynb", ".zip")}
        self.notebooks = {k: v for k, v in self.sources.items() if k.endswith(".ipynb")}
        self.ours = json.loads(self.sources[f"{EXERCISE}/correct.ipynb"])

    # ---------------------------------------------------------------- names and files
    def folder(self) -> bytes:
        return self.root + b"/g%d" % self.rng.randrange(8)

    def name(self, suffix: bytes = b".ipynb") -> bytes:
        self.count += 1
        base = b"%04d-" % self.count
        r = self.rng.random()
        if r < 0.5:
            extra = b"sub"
        elif r < 0.8:
            extra = self.rng.choice(ODD_NAMES).encode()
        elif r < 0.9:
            extra = self.rng.choice(BAD_BYTES)
        else:
            extra = b"L" * self.rng.randint(150, 240)
        if suffix == b".ipynb" and self.rng.random() < 0.05:
            suffix = b".IPYNB"
        return base + extra + suffix

    def add(self, data: bytes, suffix: bytes = b".ipynb", folder: bytes | None = None, reason: str = "") -> bytes:
        rel = (folder or self.folder()) + b"/" + self.name(suffix)
        os.makedirs(os.path.join(self.work, os.path.dirname(rel)), exist_ok=True)
        _write(os.path.join(self.work, rel), data)
        self.expected.append(rel)
        if reason:
            self.reasons[rel] = reason
        return rel

    def notebook(self, nb) -> bytes:
        return json.dumps(nb).encode()  # ensure_ascii: lone surrogates become "\udcff" escapes

    # ---------------------------------------------------------------- kinds of submission
    def byte_mutation(self, data: bytes) -> bytes:
        data = bytearray(data)
        for _ in range(self.rng.randint(1, 4)):
            op = self.rng.randrange(6)
            at = self.rng.randrange(len(data) + 1)
            if op == 0 and data:  # flip bytes
                for _ in range(self.rng.randint(1, 20)):
                    data[self.rng.randrange(len(data))] = self.rng.randrange(256)
            elif op == 1:
                data[at:at] = self.rng.choice(INSERTS) * self.rng.randint(1, 3)
            elif op == 2:
                del data[at:at + self.rng.randint(1, 2000)]
            elif op == 3:
                del data[at:]
            elif op == 4:
                data[at:at] = data[self.rng.randrange(len(data) + 1):][:self.rng.randint(1, 5000)]
            else:
                other = self.rng.choice(list(self.notebooks.values()))
                data = data[:at] + other[self.rng.randrange(len(other) + 1):]
        return bytes(data)

    def soft_mutation(self, data: bytes) -> bytes:
        """A change inside a JSON string: the file usually stays a valid notebook."""
        data = bytearray(data)
        for _ in range(self.rng.randint(1, 3)):
            letter = LETTER.search(data, self.rng.randrange(len(data) + 1))
            at = letter.start() if letter else len(data)
            op = self.rng.randrange(3)
            if op == 0:
                data[at:at + 1] = bytes([self.rng.randrange(97, 123)])
            elif op == 1:
                data[at:at] = self.rng.choice([b"\\udcff", b"\\ud800", b"\\u001b[31m", b"\\u202e", b"\\u0000"])
            else:
                data[at:at] = b"=cmd"
        return bytes(data)

    def structural(self, i: int) -> tuple[bytes, str]:
        nb = json.loads(json.dumps(self.ours))
        kind = i % 16
        if kind == 0:
            nb["metadata"]["huge"] = "m" * self.rng.randint(1, 3) * 1_000_000
        elif kind == 1:
            nb["metadata"]["otter"]["assignment_name"] = self.rng.choice(
                ["=1+1", "x" * 10_000, "\udcff", "relu_softmax\x1b[2J", 5, None, ["relu_softmax"]])
        elif kind == 2:
            nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "\udcff\x1b[31m" * 1000}]
        elif kind == 3:
            nb["cells"] = [nb["cells"][1]] * 6000
            return self.notebook(nb), "6,000 cells"
        elif kind == 4:
            nb["cells"] = []
        elif kind == 5:
            nb["cells"][self.rng.randrange(len(nb["cells"]))]["cell_type"] = self.rng.choice([5, None, "code\x00"])
        elif kind == 6:
            nb["cells"][self.rng.randrange(len(nb["cells"]))]["source"] = self.rng.choice([7, {"a": 1}, ["x", 3]])
        elif kind == 7:
            nb["nbformat"] = self.rng.choice([3, "4", None, 99])
        elif kind == 8:  # metadata nested 3,000 deep: deeper than the JSON parser recurses
            return self._deep(nb), ""
        elif kind == 9:
            self.rng.shuffle(nb["cells"])
        else:  # a hostile code cell, before or after the answers
            cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                    "source": HOSTILE_CELLS[(i // 16 * 6 + kind - 10) % len(HOSTILE_CELLS)]}
            nb["cells"].insert(self.rng.choice([1, len(nb["cells"])]), cell)
        return self.notebook(nb), ""

    def _deep(self, nb) -> bytes:
        text = self.notebook({k: v for k, v in nb.items() if k != "metadata"})
        return text[:-1] + b', "metadata": ' + b'{"n": ' * 3000 + b"{}" + b"}" * 3000 + b"}"

    def export_zip(self, members: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        return buf.getvalue()

    # ---------------------------------------------------------------- everything
    def generate(self) -> None:
        names = sorted(self.notebooks)
        for i in range(760):
            self.add(self.byte_mutation(self.notebooks[names[i % len(names)]]))
        ours = [n for n in names if n.startswith(EXERCISE + "/")]
        for i in range(150):  # a fifth of them of the built exercise: most run
            pool = ours if i % 5 == 0 else names
            self.add(self.soft_mutation(self.notebooks[pool[i % len(pool)]]))
        for i in range(64):
            data, reason = self.structural(i)
            self.add(data, reason=reason)
        self.zips()
        self.special()

    def zips(self) -> None:
        good = self.sources[f"{EXERCISE}/correct.ipynb"]
        plain = self.export_zip({"relu_softmax.ipynb": good, "__zip_filename__": "x.zip"})
        self.add(plain, b".zip")
        for _ in range(40):
            self.add(self.byte_mutation(plain), b".zip")
        self.add(self.export_zip({"inner.zip": plain}), b".zip", reason="no notebook")
        self.add(self.export_zip({"a.ipynb": good, "b.ipynb": good}), b".zip", reason="more than one notebook")
        self.add(self.export_zip({"sub/dir/n.ipynb": good}), b".zip")
        self.add(self.export_zip({"../../escape.ipynb": good}), b".zip")
        self.add(plain[: len(plain) // 2], b".zip", reason="zip")
        self.add(self.export_zip({"bomb.ipynb": b"\x00" * (30 << 20)}), b".zip", reason="too large")
        self.add(self.export_zip({f"m{i}.txt": b"" for i in range(1500)}, zipfile.ZIP_STORED), b".zip",
                 reason="1,500 files")
        encrypted = bytearray(plain)
        for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # set the "encrypted" flag in both headers
            at = encrypted.find(sig)
            flag_at = at + (6 if sig == b"PK\x03\x04" else 8)
            encrypted[flag_at] |= 1
        self.add(bytes(encrypted), b".zip")
        self.add(good, b".zip")  # a notebook named .zip
        self.add(plain, b".ipynb")  # a zip named .ipynb

    def special(self) -> None:
        work = self.work
        # empty and near-empty files
        for data in (b"", b"   \n", b"\x00" * 100, b"{}", b"[]", b"null", b'{"cells": {}}'):
            self.add(data)
        # names that collide once made safe, or differ only in case
        folder = self.root + b"/collide"
        os.makedirs(os.path.join(work, folder))
        good = self.sources[f"{EXERCISE}/correct.ipynb"]
        for name in (b"a.ipynb", b"a-2.ipynb", b"A.ipynb", b"a_.ipynb", b"a?.ipynb", b"a\xff.ipynb"):
            _write(os.path.join(work, folder, name), good)
            self.expected.append(folder + b"/" + name)
        _write(os.path.join(work, folder, b"a.zip"), self.export_zip({"n.ipynb": good}))
        self.expected.append(folder + b"/a.zip")
        # a deep path (over 400 bytes) and the longest file name ext4 allows
        deep = self.root + b"/" + b"d" * 200 + b"/" + b"e" * 200
        os.makedirs(os.path.join(work, deep))
        _write(os.path.join(work, deep, b"n" * 249 + b".ipynb"), good)
        self.expected.append(deep + b"/" + b"n" * 249 + b".ipynb")
        # symbolic links: refused, never followed, never hiding their target
        links = self.root + b"/links"
        os.makedirs(os.path.join(work, links))
        master = os.fsencode(self.dist / EXERCISE / "student" / f"{EXERCISE}.ipynb")
        classmate = os.path.join(work, self.expected[0])
        for name, target in ((b"classmate.ipynb", classmate), (b"relative.ipynb", b"../collide/a.ipynb"),
                             (b"master.ipynb", master), (b"zero.ipynb", b"/dev/zero"),
                             (b"passwd.ipynb", b"/etc/passwd"), (b"dangling.ipynb", b"/nonexistent"),
                             (b"loop1.ipynb", b"loop2.ipynb"), (b"loop2.ipynb", b"loop1.ipynb"),
                             (b"dir.ipynb", os.fsencode(self.dist)), (b"export.zip", classmate)):
            os.symlink(target, os.path.join(work, links, name))
            self.expected.append(links + b"/" + name)
            self.reasons[links + b"/" + name] = "symbolic link"
        os.symlink(os.fsencode(self.dist), os.path.join(work, links, b"folder"))  # skipped, counted
        # a FIFO, folders named like notebooks, hidden files, other suffixes
        os.mkfifo(os.path.join(work, links, b"pipe.ipynb"))
        self.expected.append(links + b"/pipe.ipynb")
        self.reasons[links + b"/pipe.ipynb"] = "FIFO"
        os.makedirs(os.path.join(work, self.root, b"empty_dir.ipynb"))
        os.makedirs(os.path.join(work, self.root, b"full_dir.ipynb"))
        self.add(good, folder=self.root + b"/full_dir.ipynb")
        os.makedirs(os.path.join(work, self.root, b".ipynb_checkpoints"))
        _write(os.path.join(work, self.root, b".ipynb_checkpoints", b"x-checkpoint.ipynb"), good)
        _write(os.path.join(work, self.root, b".hidden.ipynb"), good)
        for name in (b"notes.txt", b"x.ipynb.bak", b"README", b"x.py"):
            _write(os.path.join(work, self.root, name), good)


def _strict_json(data: bytes):
    def no_constants(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(data.decode("utf-8"), parse_constant=no_constants)


def test_fuzzed_submissions_each_get_one_safe_row(built, tmp_path, terminal_summary):
    gen = Generator(tmp_path, built)
    started = time.perf_counter()
    gen.generate()
    generated = time.perf_counter() - started
    assert len(gen.expected) >= 1000 and len(set(gen.expected)) == len(gen.expected)

    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "subs", "--dist", str(built),
                          "--out", "grades", "--timeout", "5", "--workers", "2"],
                         cwd=tmp_path, capture_output=True, timeout=600)
    graded = time.perf_counter() - started
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")[-3000:]

    out = tmp_path / "grades"
    results = _strict_json((out / "results.json").read_bytes())
    rows = results["submissions"]
    assert results["complete"] and len(rows) == len(gen.expected)
    expected_files = {gradebook.safe_text(os.fsdecode(rel), 400, name=True) for rel in gen.expected}
    assert len(expected_files) == len(gen.expected)  # safe names stay distinct
    assert {r["file"] for r in rows} == expected_files  # exactly one row per file
    errors = [(r["file"], r["reason"]) for r in rows if r["status"] == "error"]
    assert not errors, errors[:5]
    assert {r["status"] for r in rows} <= KNOWN_STATUSES
    by_file = {r["file"]: r for r in rows}
    for rel, words in gen.reasons.items():
        row = by_file[gradebook.safe_text(os.fsdecode(rel), 400, name=True)]
        assert row["status"] == "invalid" and words in row["reason"], (rel, row["reason"])
    assert results["skipped"] == {"hidden files and folders": 2, "files with other suffixes": 4,
                                  "symbolic links (not followed)": 1}

    table = list(csv.reader(io.StringIO((out / "grades.csv").read_bytes().decode("utf-8"))))
    assert len(table) == len(rows) + 1
    for line in table:
        assert len(line) == len(table[0])
        for cell in line:
            assert not cell.lstrip(" ").startswith(gradebook.FORMULA_START), cell[:80]
            assert cell.isprintable(), cell[:80]

    feedback = [r["feedback"] for r in rows]
    assert len({f.lower() for f in feedback}) == len(feedback)
    assert sorted(p.name for p in (out / "feedback").iterdir()) == sorted(Path(f).name for f in feedback)
    assert all(len(Path(f).name.encode()) <= 100 for f in feedback)
    text = (out / "results.json").read_text(encoding="utf-8")
    assert "\x1b" not in text and max(len(json.dumps(r)) for r in rows) < 200_000

    statuses = Counter(r["status"] for r in rows)
    ran = sum(1 for r in rows if r.get("isolation"))
    terminal_summary("fuzzed submissions (tests/test_fuzz_submissions.py)", [
        f"{len(rows)} files (seed {SEED}), generated in {generated:.1f} s, graded in one batch in {graded:.1f} s",
        "statuses: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
        f"{ran} ran in the sandbox; results.json {(out / 'results.json').stat().st_size / 1e6:.1f} MB",
    ])
