"""The submission's process: a disposable, jailed child forked from a pre-warmed zygote.

Process tree (one line per process)::

    grader (threads, runs the tests)            owns: channel, output pipe, status, kill pipe, cgroup
      zygote (numpy imported, never sees tests)  forks once per submission run
        C: setsid, joins the cgroup, unshares namespaces, forks G, exits
          G: "init" of the new PID namespace     builds the new root, forks S, waits, then kills all
            S: the student's notebook            limits, own user namespace, no privileges, `jail.serve`

The code that builds the jail is here; the code that runs inside it, as the student, is
`autograder.grade.jail`. Each run reports what was in force in `Child.isolation` (the
result's "isolation"): "mode", "filesystem", "network", "user_namespaces", "limits", ...

Always, whatever the privileges (grading by value):
  - The tests, the reference solutions and the comparisons run only in the grader; the
    zygote and the child never load them. The child only ever sends JSON frames of plain
    data (numeric/bool numpy arrays, numbers, strings, None, lists/tuples/str-keyed dicts),
    which `protocol` checks before parsing (at most `Limits.return_mb` bytes and
    `protocol.MAX_FRAME_VALUES` values per frame, so parsing one frame costs the grader a
    few tens of MB at most) and `protocol.decode` rebuilds as fresh objects: no pickle, no
    code, no ndarray subclasses. Patching numpy, Otter or our encoder inside the notebook
    changes nothing in the grader; scores come from Otter's TestCaseResults computed here,
    and only the grader writes files.
  - Wall-clock limits per cell, per call and per submission (the grader kills the child and,
    where it can, restarts it without the offending cell); rlimits on S: RLIMIT_AS (memory
    per process), RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE=256, RLIMIT_CORE=0; stdout and
    stderr go through one pipe the grader drains, keeping the tail and closing it after
    `Limits.output_bytes` (further writes fail in the child); stdin is /dev/null.
  - Where cgroup v2 is mounted and writable (root, or a delegated subtree), every run gets
    its own cgroup, `<the grader's cgroup>/backprop-<grader pid>/s<n>`, joined by C before
    anything else, so it holds all of the submission's processes: memory.max (memory_mb,
    all processes and their tmpfs files together; swap 0), pids.max (max_processes),
    cpu.max (`cpus` CPUs), for whichever of these controllers the machine lets us enable;
    at the end the grader writes cgroup.kill and removes the group. Where a controller is
    missing, the rlimits above are the fallback (memory and processes per process or per
    uid, no CPU cap beyond the wall clock); "limits" in the report says which applied.

As root (mode "root"; what CI, Gradescope and a grading VM do):
  - A new root, assembled by G from an allow-list in a fresh tmpfs and entered with
    pivot_root (the host's tree is then detached): the standard library, read-only; the
    site-packages folders the interpreter uses, each holding only the top-level entries of
    `STUDENT_PACKAGES` and the distributions they require, read-only (a site-packages folder
    inside the standard library is covered by an empty read-only tmpfs first); the system
    library folders the interpreter's shared libraries come from (e.g.
    /usr/lib/x86_64-linux-gnu), read-only; /dev/null, /dev/zero, /dev/random and
    /dev/urandom; a fresh /proc of the new PID namespace, read-only once S is set up (no
    sysctl, /proc/sysrq-trigger or /proc/self/* write); and a private /tmp (tmpfs,
    `tmp_mb` MB and `tmp_files` inodes) holding the working directory /tmp/submission.
    `jail_root` computes the list from the interpreter (sys.path, importlib.metadata, the
    shared libraries mapped in this process); nothing else of the host exists in there,
    whatever the install mode (editable, wheel in a virtualenv, system site-packages) and
    wherever other copies of the course lie: reference solutions, tests, bundles, other
    submissions, homes, the host's /tmp, /var/tmp, /dev/shm, /run/lock and any Unix socket
    path can be neither listed, read, written nor imported. The zygote's sys.path is the
    new root's Python folders, so the child imports exactly what the grader would.
  - S runs as an unprivileged uid/gid, one per concurrent submission (61000 + slot), no
    supplementary groups, in a user namespace of its own that maps only that uid and gid
    and whose user.max_user_namespaces is 0: S cannot create nested user namespaces (nor,
    without capabilities, any other namespace). All capabilities and the bounding set are
    dropped; no_new_privs.
  - New network namespace with no interface up, not even loopback: no connection to any
    host, nor to a listener on the grader's 127.0.0.1, nor to an abstract Unix socket of
    the host (those belong to the network namespace).
  - New PID and IPC namespaces: S sees only its own processes. When the run ends, G (init
    of the namespace) kills every process in it and reaps them all before it reports, and
    the grader then kills the cgroup: nothing (background forks, setsid daemons) outlives
    the run.

As root where namespaces are refused (mode "root-uid"; only when asked for, through
`FORCED_MODE`: the Gradescope entry point picks it when "root" cannot start, e.g. in a container
whose seccomp profile blocks unshare or mount): S still runs as the unprivileged slot uid,
without capabilities and with no_new_privs, in a private temporary working directory; at the
end every process of that uid is killed (so no other grader may use it at the same time: the
Gradescope entry point sets `UID_BASE` to a block no process uses). There is no new root: what
keeps the tests and the reference away is file permissions (the caller makes them readable by
root only, e.g. chmod go= on Gradescope's /autograder/source). S can use the network and see
other processes in /proc (not their memory or environment).

Not root, with unprivileged user namespaces (mode "userns"): C creates a user namespace that
maps only the grader's own uid, then the same mount (same new root), network, PID and IPC
namespaces; S sets that namespace's user.max_user_namespaces to 0, then drops all
capabilities and sets no_new_privs. Differences: S runs under the grader's uid (inside the new root that
reaches nothing of the host but its /tmp), and RLIMIT_NPROC counts that uid's processes, so
it is set to (their current number + max_processes). The cgroup is used if the grader's
cgroup is delegated to its user. Verified here by forcing this mode as root
(tests/test_grade_isolation.py); not as a real unprivileged user (the interpreter lives in
/root on this machine).

Not root, no user namespaces (mode "plain"): only the guarantees listed under "Always", a
private temporary working directory and a process-group kill at the end. Scores still
cannot be forged, but S CAN read anything the grader's user can read (hidden tests,
solutions/), CAN use the network, and a process that calls setsid() can outlive the run
unless the cgroup is available. Use root or user namespaces for real grading.

Not covered in any mode: CPU time beyond the wall-clock limits where the cpu controller is
missing (a child may use every core until it is killed); memory over all of a submission's
processes where the memory controller is missing (each process has RLIMIT_AS, /tmp is a
64 MB tmpfs); and two grader processes running at once share the slot uids, so RLIMIT_NPROC
counts both (pids.max does not).
"""
import atexit
import ctypes
import functools
import json
import os
import platform
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from autograder.grade import protocol  # not jail (numpy): the zygote imports it, before it forks

GRADE_DIR = Path(__file__).resolve().parent
REPO_ROOT = GRADE_DIR.parent.parent
UID_BASE = 61000
WORKDIR = "/tmp/submission"

# What a notebook may import beyond the standard library: these distributions and the ones
# they require are all of site-packages the child sees. `grade_notebook(packages=...)` can
# narrow it per assignment (e.g. ("numpy",)); nothing can widen it but this line.
STUDENT_PACKAGES = ("numpy", "scipy", "matplotlib")
DEVICES = ("null", "zero", "random", "urandom")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission (seconds, megabytes, counts)."""
    submission_timeout: float = 60.0   # wall clock for the whole submission, restarts included
    cell_timeout: float = 20.0         # wall clock per notebook cell
    call_timeout: float = 10.0         # wall clock per call of a student function
    memory_mb: int = 2048              # RLIMIT_AS per process; cgroup memory.max over all of them
    max_processes: int = 32            # RLIMIT_NPROC (per uid); cgroup pids.max
    cpus: float = 1.0                  # cgroup cpu.max (CPUs' worth of time for all processes)
    file_mb: int = 16                  # RLIMIT_FSIZE: largest file the notebook may write
    tmp_mb: int = 64                   # size of the private /tmp (working directory included)
    tmp_files: int = 4096              # inodes of the private /tmp
    output_bytes: int = 2_000_000      # stdout+stderr read before the pipe is closed
    tail_chars: int = 4000             # stdout tail kept in the result
    return_mb: int = 4                 # largest frame / array accepted from the child
    max_restarts: int = 3              # fresh children after a crash or timeout


class SandboxError(Exception):
    """The sandbox could not be set up (an infrastructure problem, not the student's)."""


ROOT_MODES = ("root", "root-uid")  # S runs as an unprivileged slot uid
MODES = (*ROOT_MODES, "userns", "plain")
# None: "root" as root, else "userns". A caller may force one of MODES (see the docstring).
FORCED_MODE = None
EXIT_REPORT_WAIT = 2.0  # seconds the grader waits for how a child that closed its channel ended


def preferred_mode():
    """"root" when we may set up everything; otherwise try an unprivileged user namespace
    (the child falls back to "plain" where that is refused). ``FORCED_MODE`` wins; never "plain"
    (nor "userns"'s fallback to it) as root, where the notebook would keep root."""
    as_root = os.geteuid() == 0
    mode = FORCED_MODE or ("root" if as_root else "userns")
    if mode not in MODES or ((mode in ROOT_MODES) != as_root and mode != "userns"):
        raise SandboxError(f"sandbox mode {mode!r} is not available {'as' if as_root else 'without'} root")
    return mode


# ====================================================================== the new root (grader side)

def _under(path, folder):
    """Whether `path` is `folder` or lies inside it (both absolute, normalised)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _outermost(paths):
    unique = sorted(set(paths))
    return [p for p in unique if not any(q != p and _under(p, q) for q in unique)]


def _stdlib_dirs():
    """The standard library's folders (pure modules, and lib-dynload's extension modules)."""
    import importlib.util
    found = {os.path.dirname(os.__file__)}
    # extension modules: math is built in on some builds (Debian's), so look at several; and
    # lib-dynload wherever sys.path has it
    for name in ("math", "_ctypes", "_json", "_struct"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and os.path.isabs(spec.origin):
            found.add(os.path.dirname(spec.origin))
    found.update(p for p in sys.path if p and os.path.basename(p) == "lib-dynload" and os.path.isdir(p))
    return sorted(os.path.abspath(p) for p in found)


def _package_dirs(stdlib):
    """Every other folder Python imports from or installs to: sys.path's other entries, the
    virtualenv's, the base interpreter's and the user's site-packages. None is shown whole."""
    import site
    import sysconfig
    found = [p or os.getcwd() for p in sys.path]
    found += site.getsitepackages()
    found += [site.getusersitepackages()]
    for base in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        paths = sysconfig.get_paths(vars={"base": base, "platbase": base})
        found += [paths["purelib"], paths["platlib"]]
    dirs = []
    for p in found:
        p = os.path.abspath(p)
        if p not in stdlib and p not in dirs and os.path.isdir(p):
            dirs.append(p)
    return dirs


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _allowed_entries(packages, package_dirs):
    """[(site folder, top-level entry)] of the distributions `packages` and those they
    require (extras left out), as installed where the grader itself imports them from."""
    from importlib import metadata
    wanted, seen, entries, names = [_canonical(p) for p in packages], set(), [], []
    while wanted:
        name = wanted.pop(0)
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        base = os.path.abspath(str(dist.locate_file("")))
        if base not in package_dirs:
            continue  # found through the working directory or similar: not the child's to import
        headers = (dist.read_text("METADATA") or dist.read_text("PKG-INFO") or "").split("\n\n", 1)[0]
        fields = [line.partition(": ") for line in headers.splitlines()]  # not dist.metadata: slow parser
        names.append(next((value for key, _, value in fields if key == "Name"), name))
        for requirement in (value for key, _, value in fields if key == "Requires-Dist"):
            requirement, _, marker = requirement.partition(";")
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
            if match and "extra" not in marker:
                wanted.append(_canonical(match.group(1)))
        record = dist.read_text("RECORD") or ""  # faster than dist.files for scipy's thousands of lines
        tops = {line.split(",", 1)[0].lstrip('"').split("/", 1)[0] for line in record.splitlines() if line}
        if not tops:  # no RECORD (some system packages): the import names it declares
            for top in (dist.read_text("top_level.txt") or "").split():
                tops.update(n for n in os.listdir(base) if n == top or n.startswith(top + "."))
        for top in sorted(tops):
            if top in ("..", "__pycache__") or top.endswith(".pth"):
                continue
            if os.path.lexists(os.path.join(base, top)) and (base, top) not in entries:
                entries.append((base, top))
    return entries, names


SYSTEM_LIBRARY_ROOTS = ("/lib", "/lib32", "/lib64", "/usr/lib", "/usr/lib32", "/usr/lib64")


def _library_dirs(python_dirs):
    """System folders of the shared libraries this process maps (libc, libm, libstdc++, ...)
    plus the multiarch ones: where extension modules find their libraries later. Shown whole
    only if they hold nothing Python (no python*/ or *-packages/ inside), else not at all."""
    import sysconfig
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].startswith("/") and ".so" in os.path.basename(fields[5]):
                path = fields[5].rstrip("\n")
                if os.path.exists(path):
                    found.add(os.path.dirname(os.path.realpath(path)))
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if multiarch:
        found.update(os.path.realpath(f"{root}/{multiarch}") for root in ("/lib", "/usr/lib")
                     if os.path.isdir(f"{root}/{multiarch}"))
    safe = []
    for folder in found:
        if not any(_under(folder, root) for root in SYSTEM_LIBRARY_ROOTS):
            continue
        if any(_under(folder, p) or _under(p, folder) for p in python_dirs):
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        if not any(n.startswith("python") or n.endswith("-packages") for n in names):
            safe.append(folder)
    return _outermost(safe)


@functools.lru_cache(maxsize=8)
def jail_root(packages=STUDENT_PACKAGES):
    """What the child's new root holds, as JSON for the spawn config:

    {"binds": [[host path, path inside], ...]   read-only bind mounts
     "covers": [path inside, ...]              empty read-only tmpfs (site-packages inside a bind)
     "links": [[path inside, target], ...]     the host's /lib* symlinks (merged /usr)
     "python_path": [...]                      the child's sys.path, in the grader's order
     "packages": [...]}                        the distributions shown
    """
    stdlib = _stdlib_dirs()
    package_dirs = _package_dirs(stdlib)
    entries, names = _allowed_entries(packages, package_dirs)
    bound_stdlib = _outermost(stdlib)
    binds = [[p, p] for p in bound_stdlib]
    binds += [[os.path.realpath(os.path.join(base, top)), os.path.join(base, top)] for base, top in entries]
    prefixes = {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    libraries = _library_dirs(stdlib + package_dirs + sorted(prefixes))
    binds += [[p, p] for p in libraries]
    covers = [p for p in package_dirs if any(_under(p, s) for s in bound_stdlib)]
    links = [["/" + n, os.readlink("/" + n)] for n in sorted(os.listdir("/"))
             if n.startswith("lib") and os.path.islink("/" + n)]
    links = [link for link in links if not any(_under(inside, link[0]) for _, inside in binds)]
    for source, _ in binds:  # never the course: a sanity check, the list above is what keeps it out
        if _under(str(REPO_ROOT), source) or source == "/":
            raise SandboxError(f"the child's root would show {source}, which holds {REPO_ROOT}")
    used = {base for base, _ in entries}
    python_path = []
    for p in [os.path.abspath(p or os.getcwd()) for p in sys.path]:
        if (p in stdlib or p in used) and p not in python_path:
            python_path.append(p)
    return {"binds": binds, "covers": covers, "links": links, "python_path": python_path,
            "packages": names}


# ====================================================================== cgroups (grader side)

class _Cgroups:
    """One cgroup v2 group per submission run, under `<our cgroup>/backprop-<pid>` (made on
    first use, removed at exit). `create` returns None where cgroup v2 is not mounted or not
    writable; `in_force` says which limits hold over all of a submission's processes."""

    WANTED = ("memory", "pids", "cpu")

    def __init__(self):
        self._lock = threading.Lock()
        self._parent = None
        self._problem = None
        self._count = 0
        self._leftover = []
        self.controllers = ()

    def _setup(self):
        mount = None
        with open("/proc/self/mountinfo") as info:
            for line in info:
                left, _, right = line.partition(" - ")
                if right.split(" ", 1)[0] == "cgroup2":
                    mount = left.split()[4]
                    break
        if mount is None:
            return "cgroup v2 is not mounted"
        own = next((line[3:].strip() for line in Path("/proc/self/cgroup").read_text().splitlines()
                    if line.startswith("0::")), None)
        if own is None:
            return "this process is in no cgroup v2 group"
        here = Path(mount + own.rstrip("/"))
        parent = here / f"backprop-{os.getpid()}"
        try:
            parent.mkdir(exist_ok=True)
        except OSError as exc:
            return f"cannot create {parent}: {exc.strerror}"
        available = _read(here / "cgroup.controllers").split()
        for name in self.WANTED:
            if name in available:
                _try_write(here / "cgroup.subtree_control", f"+{name}")
        for name in _read(parent / "cgroup.controllers").split():
            if name in self.WANTED:
                _try_write(parent / "cgroup.subtree_control", f"+{name}")
        self.controllers = tuple(n for n in _read(parent / "cgroup.subtree_control").split() if n in self.WANTED)
        self._parent = parent
        atexit.register(self.close)
        return None

    def create(self, limits):
        """A fresh group with `limits` written in, or None (then `problem` says why)."""
        with self._lock:
            if self._parent is None and self._problem is None:
                self._problem = self._setup()
            if self._parent is None:
                return None
            self._leftover = [path for path in self._leftover if not self._remove(path)]
            self._count += 1
            path = self._parent / f"s{self._count}"
        try:
            path.mkdir()
        except OSError:
            return None
        settings = {"memory.max": str(limits.memory_mb * 1024 * 1024), "memory.swap.max": "0",
                    "pids.max": str(limits.max_processes),
                    "cpu.max": f"{max(1000, int(limits.cpus * 100_000))} 100000"}
        for name, value in settings.items():
            if (path / name).exists():
                _try_write(path / name, value)
        return str(path)

    def in_force(self, path, limits):
        """What bounds the submission's processes together, for the isolation report."""
        group = Path(path) if path else None

        def has(name):
            return group is not None and (group / name).exists()
        return {
            "cgroup": str(path) if path else f"none ({self._problem or 'unavailable'})",
            "memory": (f"{limits.memory_mb} MB for all processes (cgroup)" if has("memory.max")
                       else f"{limits.memory_mb} MB address space per process (RLIMIT_AS)"),
            "processes": (f"{limits.max_processes} (cgroup pids.max)" if has("pids.max")
                          else f"{limits.max_processes} per uid (RLIMIT_NPROC)"),
            "cpu": (f"{limits.cpus:g} CPU (cgroup cpu.max)" if has("cpu.max")
                    else "no cap beyond the wall-clock limits"),
            "kill": "cgroup.kill" if has("cgroup.kill") else "PID namespace / process group",
        }

    def remove(self, path):
        """Kill every process left in the group, then remove it (later, if it will not go)."""
        if path and not self._remove(path):
            with self._lock:
                self._leftover.append(path)

    def _remove(self, path):
        """Kill and remove one group; False if it is still busy after two seconds."""
        group = Path(path)
        if not group.exists():
            return True
        if not _try_write(group / "cgroup.kill", "1"):
            for pid in _read(group / "cgroup.procs").split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        deadline = time.monotonic() + 2
        while True:
            try:
                group.rmdir()
                return True
            except FileNotFoundError:
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.001)

    def close(self):
        with self._lock:
            parent, self._parent = self._parent, None
        if parent is None:
            return
        for group in parent.glob("s*"):
            self._remove(str(group))
        try:
            parent.rmdir()
        except OSError:
            pass


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _try_write(path, text):
    try:
        Path(path).write_text(text)
        return True
    except OSError:
        return False


cgroups = _Cgroups()


# ====================================================================== zygote (grader side)

_BOOT = """
import json, sys, types
sys.path[:] = json.loads(sys.argv[2])  # the new root's Python folders, nothing else
sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "__module__", "").startswith("_frozen_importlib")]
sys.path_importer_cache.clear()
for name, path in (("autograder", {a!r}), ("autograder.grade", {g!r})):
    m = types.ModuleType(name); m.__path__ = [path]; sys.modules[name] = m
from autograder.grade import sandbox
sandbox.zygote_main(int(sys.argv[1]))
"""


class Zygote:
    """A pre-warmed process (numpy imported) that forks one child per request. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._proc = None
        self._ctl = None

    def _start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
        boot = _BOOT.format(a=str(GRADE_DIR.parent), g=str(GRADE_DIR))
        python_path = json.dumps(jail_root(STUDENT_PACKAGES)["python_path"])
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-c", boot, str(theirs.fileno()), python_path],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env, cwd="/")
        theirs.close()
        self._ctl = ours

    def spawn(self, config, fds):
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            socket.send_fds(self._ctl, [json.dumps(config).encode()], fds)

    def start(self):
        """Start the process now if it is not running (it imports numpy meanwhile)."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()

    def close(self):
        with self._lock:
            if self._ctl is not None:
                self._ctl.close()
            if self._proc is not None:
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
            self._proc = self._ctl = None


_zygote = Zygote()


def shutdown():
    """Stop the zygote (it is restarted on demand)."""
    _zygote.close()


def start_zygote():
    """Start the zygote ahead of need: a grading run calls this first thing, so that the zygote's
    interpreter and numpy load on another core while the grader reads its command line, its
    modules and the assignments. Nothing of the student's runs until a ``Child`` is asked for."""
    _zygote.start()


class _UidSlots:
    """One unprivileged uid per concurrent submission, so RLIMIT_NPROC is per submission."""

    def __init__(self):
        self._cond = threading.Condition()
        self._busy = set()

    def acquire(self):
        with self._cond:
            slot = 0
            while slot in self._busy:
                slot += 1
            self._busy.add(slot)
            return slot

    def release(self, slot):
        with self._cond:
            self._busy.discard(slot)


uid_slots = _UidSlots()


# ====================================================================== one child (grader side)

class ChildGone(Exception):
    """The submission's process ended (crash, exit, kill). `reason` says how."""


class Child:
    """Handle on one running submission process. Not shared between threads."""

    def __init__(self, limits, slot, packages=STUDENT_PACKAGES, support_files=None):
        self.limits = limits
        self.max_frame = limits.return_mb * 1024 * 1024
        chan, chan_child = socket.socketpair()
        status, status_child = socket.socketpair()
        out_r, out_w = os.pipe()
        kill_r, kill_w = os.pipe()
        self.chan, self.status, self._kill_w = chan, status, kill_w
        self.exit_info = None
        self._closed = False
        self._cgroup = cgroups.create(limits)
        config = {"mode": preferred_mode(), "uid": UID_BASE + slot, "limits": asdict(limits),
                  "root": jail_root(tuple(packages)), "cgroup": self._cgroup,
                  "host_uid": os.getuid(), "host_gid": os.getgid(),
                  "host_userns": os.stat("/proc/self/ns/user").st_ino}
        try:
            _zygote.spawn(config, [chan_child.fileno(), out_w, status_child.fileno(), kill_r])
        except BaseException:
            cgroups.remove(self._cgroup)
            raise
        finally:
            chan_child.close()
            status_child.close()
            os.close(out_w)
            os.close(kill_r)
        self._tail = deque()
        self._tail_len = 0
        self.output_total = 0
        self._reader = threading.Thread(target=self._drain, args=(out_r,), daemon=True)
        self._reader.start()
        try:
            started = protocol.recv_frame(status, 1 << 20, time.monotonic() + 15)
        except (EOFError, OSError, protocol.ProtocolError) as exc:
            self.kill()
            raise SandboxError(f"the sandbox did not start: {exc}") from None
        if started.get("event") != "started":
            self.kill()
            raise SandboxError(f"the sandbox did not start: {started.get('reason', started)}")
        self.isolation = started.get("isolation", {})
        self.isolation["limits"] = {**cgroups.in_force(self._cgroup, limits),
                                    **self.isolation.get("limits", {})}
        files = {name: data.decode("latin-1") for name, data in (support_files or {}).items()}
        try:
            self.request({"op": "files", "files": files}, timeout=15)
        except (ChildGone, TimeoutError) as exc:
            self.kill()
            raise SandboxError(f"the sandbox did not start ({exc}): {self.output_tail()[-1500:]}") from None

    # -------------------------------------------------------------- output
    def _drain(self, fd):
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self.output_total += len(chunk)
                self._tail.append(chunk)
                self._tail_len += len(chunk)
                while self._tail_len - len(self._tail[0]) > 4 * self.limits.tail_chars:
                    self._tail_len -= len(self._tail.popleft())
                if self.output_total >= self.limits.output_bytes:
                    break  # closing the read end makes further writes fail in the child
        except OSError:
            pass
        finally:
            os.close(fd)

    def output_tail(self):
        text = b"".join(self._tail).decode("utf-8", "replace")[-self.limits.tail_chars:]
        if self.output_total >= self.limits.output_bytes:
            text += f"\n[output cut after {self.limits.output_bytes:,} bytes]"
        return text

    # -------------------------------------------------------------- requests
    def send(self, message):
        try:
            protocol.send_frame(self.chan, message, protocol.GRADER_FRAME_BYTES)
        except OSError:
            raise ChildGone(self.how_it_ended()) from None

    def receive(self, deadline):
        """Next frame from the child; TimeoutError when late, ChildGone when it died."""
        try:
            return protocol.recv_frame(self.chan, self.max_frame, deadline)
        except (TimeoutError, socket.timeout):
            raise TimeoutError from None
        except (EOFError, OSError, protocol.ProtocolError) as exc:
            detail = f" (it sent junk: {exc})" if isinstance(exc, protocol.ProtocolError) else ""
            if isinstance(exc, EOFError):
                self._await_exit(EXIT_REPORT_WAIT)  # it ended by itself: let G say how (a signal, a code)
            self.kill()
            raise ChildGone(self.how_it_ended() + detail) from None

    def _await_exit(self, seconds):
        """G's report of how S ended, if it comes within ``seconds`` without being asked. S's
        channel closes a moment before S can be reaped, so closing the kill pipe at once would make a
        process that ended by itself (a SIGKILL from the OOM killer, os._exit) look stopped by us."""
        if self.exit_info is None:
            try:
                self.exit_info = protocol.recv_frame(self.status, 1 << 20, time.monotonic() + seconds)
            except Exception:
                pass

    def request(self, message, timeout):
        self.send(message)
        return self.receive(time.monotonic() + timeout)

    # -------------------------------------------------------------- ending
    def kill(self):
        """End the child and everything it started; idempotent. Returns exit info."""
        if self._kill_w is not None:
            os.close(self._kill_w)  # G sees EOF, kills the whole namespace, reports
            self._kill_w = None
        if self.exit_info is None:
            try:
                self.exit_info = protocol.recv_frame(self.status, 1 << 20, time.monotonic() + 10)
            except Exception as exc:  # G itself gone: nothing left to report
                self.exit_info = {"event": "exit", "lost": str(exc)}
        if not self._closed:
            self._closed = True
            self.status.close()
            self.chan.close()
            cgroups.remove(self._cgroup)  # cgroup.kill: whatever G did not reach
            self._reader.join(timeout=5)
        return self.exit_info

    def how_it_ended(self):
        info = self.kill()
        if info.get("event") == "failed":
            return f"the sandbox failed: {info.get('reason')}"
        if info.get("signal"):
            try:
                name = signal.Signals(info["signal"]).name
            except ValueError:
                name = f"signal {info['signal']}"
            return f"the process was killed by {name}"
        if info.get("code") is not None:
            return f"the process exited with code {info['code']}"
        if info.get("killed"):
            return "the process was stopped by the grader"
        return "the process ended"


# ====================================================================== zygote process

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
CLONE_NEWNET, CLONE_NEWIPC = 0x40000000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER, PR_CAPBSET_DROP = 38, 36, 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
# Where G assembles the new root: the host's /proc is never a source of it, and the new PID
# namespace gets a /proc of its own inside the new root.
STAGE = "/proc"


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data):
    _check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                      ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def zygote_main(ctl_fd):
    """Loop of the pre-warmed process: one fork per request on the control socket."""
    import numpy  # noqa: F401  (the point of the zygote: imported once, shared by fork)
    import numpy.linalg, numpy.random, numpy.fft  # noqa: F401,E401
    from autograder.grade import jail  # noqa: F401  (S runs it; its root has no autograder/)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    ctl = socket.socket(fileno=ctl_fd)
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(ctl, 1 << 20, 8)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)  # the grader is gone
        if os.fork() == 0:
            code = 1
            try:
                ctl.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _start_child(json.loads(message), *fds)
                code = 0
            except BaseException as exc:  # report to the grader, never return into the loop
                _report_failure(fds[2], exc)
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)


def _report_failure(status_fd, exc):
    try:
        status = socket.socket(fileno=os.dup(status_fd))
        protocol.send_frame(status, {"event": "failed", "reason": repr(exc)}, 1 << 20)
    except Exception:
        pass


def _start_child(config, chan_fd, out_fd, status_fd, kill_fd):
    """Process C: new session, the submission's cgroup, new namespaces, then fork G."""
    os.setsid()
    if config["cgroup"]:  # first: every process of the submission is forked from here on
        try:
            Path(config["cgroup"], "cgroup.procs").write_text(str(os.getpid()))
        except OSError as exc:
            config["limits_problem"] = f"could not join {config['cgroup']}: {exc.strerror}"
    mode = config["mode"]
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC
    if mode == "userns":
        if libc.unshare(flags | CLONE_NEWUSER) == 0:
            uid, gid = config["host_uid"], config["host_gid"]
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
            Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        else:
            mode = "plain"
    elif mode == "root":
        _check(libc.unshare(flags), "unshare")
    # "root-uid": no namespaces (refused where it is used); the uid and the final kill isolate
    config["mode"] = mode
    if os.fork() == 0:
        code = 1
        try:
            _init(config, chan_fd, out_fd, status_fd, kill_fd)
            code = 0
        except BaseException as exc:
            _report_failure(status_fd, exc)
        finally:
            os._exit(code)


def _init(config, chan_fd, out_fd, status_fd, kill_fd):
    """Process G: build the new root, run S, then kill everything."""
    mode, limits = config["mode"], Limits(**config["limits"])
    status = socket.socket(fileno=status_fd)
    uid = config["uid"] if mode in ROOT_MODES else os.getuid()
    gid = config["uid"] if mode in ROOT_MODES else os.getgid()
    isolation = {"mode": mode, "uid": uid, "filesystem": "host", "network": "shared",
                 "pid_namespace": False}
    if config.get("limits_problem"):
        isolation["limits"] = {"cgroup": config["limits_problem"]}
    os.umask(0o022)
    if mode in ("root", "userns"):
        _build_root(config["root"], limits, uid, gid)
        workdir = WORKDIR
        isolation.update(filesystem="allow-list root", packages=config["root"]["packages"],
                         network="none", pid_namespace=True)
    else:
        import tempfile
        workdir = tempfile.mkdtemp(prefix="backprop-submission-")
        os.chown(workdir, uid, gid)
    isolation["workdir"] = workdir

    setup_r, setup_w = os.pipe()  # S -> G: "u" (map my user namespace), then "0"/"!" (set up)
    mapped_r, mapped_w = os.pipe()  # G -> S: "m" (mapped)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            status.close()
            for fd in (kill_fd, setup_r, mapped_w):
                os.close(fd)
            _become_student(config, limits, uid, gid, workdir, chan_fd, out_fd, setup_w, mapped_r)
            code = 0
        except BaseException as exc:
            os.write(2, f"the sandbox could not start: {exc!r}\n".encode())
        finally:
            os._exit(code)
    for fd in (chan_fd, out_fd, setup_w, mapped_r):
        os.close(fd)
    isolation["user_namespaces"] = _follow_setup(pid, uid, gid, setup_r, mapped_w)
    if isolation["pid_namespace"]:  # S's set-up wrote there; the notebook (runs after "started") cannot
        _mount(None, "/proc", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
        isolation["proc"] = "read-only"
    protocol.send_frame(status, {"event": "started", "isolation": isolation}, 1 << 20)

    pidfd = os.pidfd_open(pid)
    result, killed = None, False
    while result is None and not killed:
        ready, _, _ = select.select([pidfd, kill_fd], [], [], 1.0)
        killed = kill_fd in ready
        result = _reap(pid)
    ended_alone = result
    # Nothing outlives the submission: kill all of its processes, reap them, then report
    # (the grader then kills the cgroup too, G included).
    try:
        if isolation["pid_namespace"]:
            os.kill(-1, signal.SIGKILL)  # as init of the namespace: every other process in it
        else:
            os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if mode == "root-uid":
        _kill_every_process_of(uid)
    while True:
        try:
            done, status_code = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if done == pid and result is None:
            result = status_code
    if not isolation["pid_namespace"]:
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)
    report = {"event": "exit", "killed": ended_alone is None}
    if ended_alone is not None:  # S ended by itself (possibly just as the grader gave up on it)
        if os.WIFSIGNALED(ended_alone):
            report["signal"] = os.WTERMSIG(ended_alone)
        elif os.WIFEXITED(ended_alone):
            report["code"] = os.WEXITSTATUS(ended_alone)
    protocol.send_frame(status, report, 1 << 20)


def _follow_setup(pid, uid, gid, setup_r, mapped_w):
    """G's side of S's set-up: map S's own user namespace (root mode: only S's uid and gid,
    written from here, the parent namespace); return how nested user namespaces stand."""
    def next_word():
        ready, _, _ = select.select([setup_r], [], [], 10)
        return os.read(setup_r, 1) if ready else b""
    try:
        word = next_word()
        if word == b"u":
            Path(f"/proc/{pid}/uid_map").write_text(f"{uid} {uid} 1\n")
            Path(f"/proc/{pid}/gid_map").write_text(f"{gid} {gid} 1\n")
            os.write(mapped_w, b"m")
            word = next_word()
    finally:
        os.close(setup_r)
        os.close(mapped_w)
    return {b"0": "refused (user.max_user_namespaces is 0 in the child's user namespace)",
            b"!": "allowed (no user namespace of our own to limit)"}.get(word, "unknown (set-up did not finish)")


def _build_root(plan, limits, uid, gid):
    """Assemble the new root from `plan` (see `jail_root`) in a tmpfs, then pivot_root into it
    and detach the host's tree. Every bind is made read-only as soon as it is made."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    _mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=755")

    def inside(path):
        return STAGE + path

    for path, target in plan["links"]:
        os.symlink(target, inside(path))
    # /tmp first: an interpreter or virtualenv that lives under the host's /tmp (a CI clone) is
    # bound inside it, on folders root owns in the sticky tmpfs
    os.mkdir(inside("/tmp"), 0o755)
    _mount("tmpfs", inside("/tmp"), "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={limits.tmp_mb}m,nr_inodes={limits.tmp_files},mode=1777")
    steps = [(inside_path, source) for source, inside_path in plan["binds"]]
    steps += [(inside_path, None) for inside_path in plan["covers"]]
    for inside_path, source in sorted(steps, key=lambda step: PurePosixPath(step[0]).parts):
        if source is None:  # an empty folder over a site-packages inside a bound folder
            _mount("tmpfs", inside(inside_path), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,nr_inodes=1024,mode=755")
        elif os.path.exists(source):
            _bind_read_only(source, inside(inside_path))
    for name in DEVICES:
        _bind_read_only(f"/dev/{name}", inside(f"/dev/{name}"), device=True)
    os.mkdir(inside("/proc"), 0o555)
    _mount("proc", inside("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    os.mkdir(inside(WORKDIR), 0o700)
    os.chown(inside(WORKDIR), uid, gid)
    for inside_path in plan["covers"]:
        _mount(None, inside(inside_path), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    _mount(None, STAGE, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    os.chdir(STAGE)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise SandboxError(f"pivot_root: unknown system call number on {platform.machine()}")
    _check(libc.syscall(number, b".", b"."), "pivot_root")
    _check(libc.umount2(b".", MNT_DETACH), "detach the host's root")
    os.chdir("/")


def _bind_read_only(source, target, device=False):
    """Bind `source` at `target` (a mount point made for it), then make that mount read-only,
    keeping the flags the source's mount has locked (in a user namespace they must stay)."""
    if os.path.isdir(source):
        os.makedirs(target, 0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    _mount(source, target, None, MS_BIND, None)
    locked = os.statvfs(source).f_flag & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | locked | (0 if device else MS_NODEV)
    _mount(None, target, None, flags, None)


def _reap(pid):
    """Reap finished processes (orphans land on G); return S's wait status once it ended."""
    found = None
    while True:
        try:
            done, status_code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        if done == 0:
            return found
        if done == pid:
            found = status_code


def _count_processes(uid):
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _refuse_nested_user_namespaces(host_userns):
    """user.max_user_namespaces = 0 in our own user namespace (never in the grader's)."""
    if os.stat("/proc/self/ns/user").st_ino == host_userns:
        return False
    try:
        Path("/proc/sys/user/max_user_namespaces").write_text("0")
        return Path("/proc/sys/user/max_user_namespaces").read_text().strip() == "0"
    except OSError:
        return False


def _kill_every_process_of(uid):
    """Without a PID namespace: kill every process of the slot uid (daemons the notebook left).
    A helper does it as that uid, where kill(-1) reaches exactly that uid's processes."""
    helper = os.fork()
    if helper == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)  # on Linux, never the caller itself
        finally:
            os._exit(0)
    os.waitpid(helper, 0)


def _drop_capabilities():
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails past the last capability: fine
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(libc.capset(header, data), "capset")


def _become_student(config, limits, uid, gid, workdir, chan_fd, out_fd, setup_fd, mapped_fd):
    """Process S: limits, its own user namespace (root mode), no privileges, then serve."""
    mode = config["mode"]
    mb = 1024 * 1024
    nproc = limits.max_processes if mode in ROOT_MODES else _count_processes(uid) + limits.max_processes
    for which, value in ((resource.RLIMIT_AS, limits.memory_mb * mb),
                         (resource.RLIMIT_NPROC, nproc),
                         (resource.RLIMIT_FSIZE, limits.file_mb * mb),
                         (resource.RLIMIT_NOFILE, 256),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))
    os.chdir(workdir)
    if mode in ROOT_MODES:
        os.setgroups([])
        if libc.unshare(CLONE_NEWUSER) == 0:  # G maps our uid and gid from outside
            os.write(setup_fd, b"u")
            if os.read(mapped_fd, 1) != b"m":
                raise SandboxError("the user namespace was not mapped")
    refused = mode != "plain" and _refuse_nested_user_namespaces(config["host_userns"])
    if mode in ROOT_MODES:
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
            raise SandboxError("could not drop privileges")
    if mode in (*ROOT_MODES, "userns"):
        _drop_capabilities()
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    os.write(setup_fd, b"0" if refused else b"!")
    os.close(setup_fd)
    os.close(mapped_fd)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    chan = os.dup2(chan_fd, 3)
    os.closerange(4, 1 << 16)
    os.environ.clear()
    os.environ.update(PATH="/usr/bin:/bin", HOME=workdir, LANG="C.UTF-8", MPLBACKEND="Agg",
                      OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", TMPDIR=workdir)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    from autograder.grade import jail  # imported by the zygote before it forked
    jail.serve(socket.socket(fileno=chan), limits)
