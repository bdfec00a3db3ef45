"""The submission's process: a disposable, isolated child forked from a pre-warmed zygote.

Process tree (one line per process)::

    grader (threads, runs the tests)            owns: channel, output pipe, status, kill pipe
      zygote (numpy imported, never sees tests)  forks once per submission run
        C: setsid, unshare namespaces, fork G, exit
          G: "init" of the new PID namespace     mounts masks, forks S, waits, then kills all
            S: the student's notebook            limits, unprivileged uid, runs cells and calls

Isolation (each run reports what was in force in `Child.isolation` / result["isolation"]):

Always, whatever the privileges (grading by value):
  - The tests, the reference solutions and the comparisons run only in the grader; the
    zygote and the child never load them. The child only ever sends JSON frames of plain
    data (numeric/bool numpy arrays, numbers, strings, None, lists/tuples/str-keyed dicts),
    which `protocol.decode` checks (sizes, dtypes, shapes, depth) and rebuilds as fresh
    objects: no pickle, no code, no ndarray subclasses. Patching numpy, Otter or our
    encoder inside the notebook changes nothing in the grader; scores come from Otter's
    TestCaseResults computed here, and only the grader writes files.
  - Wall-clock limits per cell, per call and per submission (the grader kills the child and,
    where it can, restarts it without the offending cell); rlimits on the child: RLIMIT_AS
    (memory), RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE=256, RLIMIT_CORE=0; stdout and stderr
    go through one pipe the grader drains, keeping the tail and closing it after
    `Limits.output_bytes` (further writes fail in the child); stdin is /dev/null.

As root (mode "root"; this is what CI and Gradescope do; all verified on this machine by
tests/test_grade_isolation.py):
  - The student's process S runs as an unprivileged uid/gid, one per concurrent submission
    (61000 + slot, so RLIMIT_NPROC is per submission), no supplementary groups, no
    capabilities, no_new_privs.
  - New network namespace with no interface up, not even loopback: no connection to any
    host, nor to a listener on the grader's 127.0.0.1.
  - New mount namespace: the repository (solutions/, tests, assignments, dist/, ...), the
    folders of the test files being run, anything passed as `hide`, /root, /home, /var/tmp,
    and any non-world-traversable folder above the interpreter are covered by empty tmpfs
    (mode 000; the interpreter's own folders are bind-mounted back, read-only by
    permission); /tmp and /dev/shm are fresh; the working directory /tmp/submission is a
    private size-capped tmpfs holding only the support files. So hidden tests and reference
    solutions can be neither read, listed nor imported, and the grader's files (test files,
    results, anything under `hide`) can be neither read nor rewritten. Folders outside these
    stay visible read-only by permission (S is not root); world-writable system folders
    such as /run/lock remain writable but nothing the grader reads lives there.
  - New PID and IPC namespaces with their own /proc: S sees only its own processes. When
    the run ends, G (root, init of the namespace) kills every process in it and reaps them
    all before it reports, so nothing (background forks, setsid daemons) outlives the run.

As root where namespaces are refused (mode "root-uid"; only when asked for, through
`FORCED_MODE`: the Gradescope entry point picks it when "root" cannot start, e.g. in a container
whose seccomp profile blocks unshare or mount): S still runs as the unprivileged slot uid,
without capabilities and with no_new_privs, in a private temporary working directory; at the
end every process of that uid is killed (so no other grader may use it at the same time: the
Gradescope entry point sets `UID_BASE` to a block no process uses). There is no masking: what keeps the tests and the
reference away is file permissions (the caller makes them readable by root only, e.g. chmod
go= on Gradescope's /autograder/source). S can use the network and see other processes in
/proc (not their memory or environment).

Not root, with unprivileged user namespaces (mode "userns"): the same network, mount, PID
and IPC namespaces inside a user namespace that maps only the grader's own uid; S drops all
capabilities and sets no_new_privs. Differences: S runs under the grader's uid (in the
masked view it still cannot see the repository, homes or temp folders, but it can write
whatever that uid may write elsewhere), and RLIMIT_NPROC counts all of that user's
processes, so it is set to (their current number + max_processes). Verified here only by
forcing this mode as root (unshare(CLONE_NEWUSER) as an unprivileged uid also succeeds on
this kernel); a full run as non-root was not possible because the interpreter lives in /root.

Not root, no user namespaces (mode "plain"): only the guarantees listed under "Always", a
private temporary working directory and a process-group kill at the end. Scores still
cannot be forged, but S CAN read anything the grader's user can read (hidden tests,
solutions/), CAN use the network, and a process that calls setsid() can outlive the run.
Use root or user namespaces for real grading.

Not covered in any mode: CPU time beyond the wall-clock limits (a child may use every core
until it is killed), disk space outside tmpfs (nothing outside is writable as root), and
two separate grader processes running at once share the slot uids (RLIMIT_NPROC then
counts both).
"""
import ctypes
import json
import os
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
from pathlib import Path

import numpy as np

from autograder.grade import protocol

GRADE_DIR = Path(__file__).resolve().parent
ROOT_MODES = ("root", "root-uid")  # S runs as an unprivileged slot uid
MODES = (*ROOT_MODES, "userns", "plain")
# None: "root" as root, else "userns". A caller may force one of MODES (see the docstring).
FORCED_MODE = None
EXIT_REPORT_WAIT = 2.0  # seconds the grader waits for how a child that closed its channel ended
REPO_ROOT = GRADE_DIR.parent.parent  # the repository, or site-packages when installed from a wheel
BUNDLED_COURSE = GRADE_DIR.parent / "course"  # a wheel's copy of assignments/ (autograder.BUNDLED_COURSE)
UID_BASE = 61000
WORKDIR = "/tmp/submission"


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission (seconds, megabytes, counts)."""
    submission_timeout: float = 60.0   # wall clock for the whole submission, restarts included
    cell_timeout: float = 20.0         # wall clock per notebook cell
    call_timeout: float = 10.0         # wall clock per call of a student function
    memory_mb: int = 2048              # RLIMIT_AS of the submission's process
    max_processes: int = 32            # RLIMIT_NPROC (per uid)
    file_mb: int = 16                  # RLIMIT_FSIZE, and size of the private tmpfs workdir
    output_bytes: int = 2_000_000      # stdout+stderr read before the pipe is closed
    tail_chars: int = 4000             # stdout tail kept in the result
    return_mb: int = 64                # largest frame / array accepted from the child
    max_restarts: int = 3              # fresh children after a crash or timeout


class SandboxError(Exception):
    """The sandbox could not be set up (an infrastructure problem, not the student's)."""


# ====================================================================== zygote (grader side)

_BOOT = """
import sys, types
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
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV")}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
        boot = _BOOT.format(a=str(GRADE_DIR.parent), g=str(GRADE_DIR))
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-c", boot, str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env, cwd="/")
        theirs.close()
        self._ctl = ours

    def spawn(self, config, fds):
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            socket.send_fds(self._ctl, [json.dumps(config).encode()], fds)

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


def python_paths():
    """Folders the child must still read: the interpreter, its stdlib and site-packages."""
    import site
    import sysconfig
    found = {sys.prefix, sys.base_prefix, *site.getsitepackages(),
             *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))}
    found = sorted({str(Path(p).resolve()) for p in found if Path(p).exists()})
    return [p for p in found if not any(Path(q) in Path(p).parents for q in found)]


def _closed_ancestors(paths):
    """Topmost folders above `paths` that other users cannot traverse (e.g. /root with pyenv):
    they get masked too, which re-exposes the interpreter inside them."""
    closed = set()
    for path in paths:
        for folder in reversed(Path(path).parents):
            try:
                if not folder.stat().st_mode & 0o001:
                    closed.add(str(folder))
                    break
            except OSError:
                break
    return closed


def default_masked_paths(extra=()):
    """Folders and files hidden from the child: the repository (solutions/, tests, dist/),
    homes, temp folders, an installed copy of `solutions`, the course installed with a wheel
    (master notebooks: solutions and hidden tests), and `extra`. Installed from a wheel,
    REPO_ROOT is site-packages, which the child needs: then only those two are masked."""
    paths = [*([] if _is_site_packages(REPO_ROOT) else [REPO_ROOT]), BUNDLED_COURSE, "/root", "/home",
             "/var/tmp", *extra]
    try:  # an installed (non-editable) copy of the reference solutions, found on sys.path: while
        # grading, `solutions` imports from the bundle in memory, whose spec has no folder
        import importlib.machinery
        spec = importlib.machinery.PathFinder.find_spec("solutions")
        if spec is not None and spec.submodule_search_locations:
            paths.extend(spec.submodule_search_locations)
    except (ImportError, ValueError):
        pass
    return _nest_free((str(Path(p).resolve()) for p in paths if Path(p).exists()), python_paths())


def _is_site_packages(folder):
    import site
    import sysconfig
    found = {*site.getsitepackages(), site.getusersitepackages(),
             *(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))}
    return Path(folder).resolve() in {Path(p).resolve() for p in found}


def _nest_free(paths, keeps=()):
    """`paths` less those inside another one (covered with it), unless a folder in `keeps` between
    the two is bound back (the interpreter's), which would show them again."""
    unique = sorted(set(paths))

    def covered(p, q):
        return Path(q) in Path(p).parents and not any(
            Path(q) in Path(k).parents and (Path(k) == Path(p) or Path(k) in Path(p).parents) for k in keeps)
    return [p for p in unique if not any(covered(p, q) for q in unique)]


# ====================================================================== one child (grader side)

class ChildGone(Exception):
    """The submission's process ended (crash, exit, kill). `reason` says how."""


class Child:
    """Handle on one running submission process. Not shared between threads."""

    def __init__(self, limits, slot, masked_paths, support_files):
        self.limits = limits
        self.max_frame = limits.return_mb * 1024 * 1024
        chan, chan_child = socket.socketpair()
        status, status_child = socket.socketpair()
        out_r, out_w = os.pipe()
        kill_r, kill_w = os.pipe()
        self.chan, self.status, self._kill_w = chan, status, kill_w
        mode = FORCED_MODE or ("root" if os.geteuid() == 0 else "userns")
        as_root = os.geteuid() == 0
        if mode not in MODES or ((mode in ROOT_MODES) != as_root and mode != "userns"):  # never plain as root
            raise SandboxError(f"sandbox mode {mode!r} is not available {'as' if as_root else 'without'} root")
        keep = python_paths()
        config = {"mode": mode, "uid": UID_BASE + slot, "limits": asdict(limits),
                  "mask": _nest_free(set(masked_paths) | _closed_ancestors(keep), keep), "keep": keep, "host_uid": os.getuid(), "host_gid": os.getgid()}
        try:
            _zygote.spawn(config, [chan_child.fileno(), out_w, status_child.fileno(), kill_r])
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
        self.exit_info = None
        self._closed = False
        try:
            started = protocol.recv_frame(status, 1 << 20, time.monotonic() + 15)
        except (EOFError, OSError, protocol.ProtocolError) as exc:
            self.kill()
            raise SandboxError(f"the sandbox did not start: {exc}") from None
        if started.get("event") != "started":
            self.kill()
            raise SandboxError(f"the sandbox did not start: {started.get('reason', started)}")
        self.isolation = started.get("isolation", {})
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
            protocol.send_frame(self.chan, message, self.max_frame)
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
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER, PR_CAPBSET_DROP = 38, 36, 24


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
    """Process C: new session and namespaces, then fork G (the namespace's init)."""
    os.setsid()
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
    """Process G: mask folders, private workdir and /proc, run S, then kill everything."""
    mode, limits = config["mode"], Limits(**config["limits"])
    status = socket.socket(fileno=status_fd)
    isolation = {"mode": mode, "masked": [], "network": "shared", "uid": os.getuid()}
    if mode in ("root", "userns"):
        isolation["masked"] = config["mask"] + ["/tmp", "/dev/shm"]
    if mode in ("root", "userns"):
        _mask_filesystem(config["mask"], config["keep"], limits)
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
            isolation["proc"] = "private"
        except OSError:
            isolation["proc"] = "host"
        workdir = WORKDIR
        os.mkdir(workdir, 0o700)
        isolation["network"] = "none"
        isolation["pid_namespace"] = True
    else:
        import tempfile
        workdir = tempfile.mkdtemp(prefix="backprop-submission-")
        isolation["pid_namespace"] = False
    uid = config["uid"] if mode in ROOT_MODES else os.getuid()
    gid = config["uid"] if mode in ROOT_MODES else os.getgid()
    os.chown(workdir, uid, gid)
    isolation.update(uid=uid, workdir=workdir)

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            status.close()
            os.close(kill_fd)
            _become_student(mode, limits, uid, gid, workdir, chan_fd, out_fd)
            code = 0
        except BaseException as exc:
            os.write(2, f"the sandbox could not start: {exc!r}\n".encode())
        finally:
            os._exit(code)
    os.close(chan_fd)
    os.close(out_fd)
    protocol.send_frame(status, {"event": "started", "isolation": isolation}, 1 << 20)

    pidfd = os.pidfd_open(pid)
    result, killed = None, False
    while result is None and not killed:
        ready, _, _ = select.select([pidfd, kill_fd], [], [], 1.0)
        killed = kill_fd in ready
        result = _reap(pid)
    ended_alone = result
    # Nothing outlives the submission: kill all of its processes, reap them, then report.
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


def _mask_filesystem(masks, keeps, limits):
    """Cover `masks` with empty tmpfs (files with /dev/null), fresh /tmp and /dev/shm,
    then bind the interpreter folders in `keeps` back where they were."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    hidden = [p for p in masks + ["/tmp"]]
    staged = []
    for index, keep in enumerate(keeps):
        if any(keep == m or Path(m) in Path(keep).parents for m in hidden):
            stage = f"/dev/shm/python{index}"
            os.mkdir(stage, 0o755)
            _mount(keep, stage, None, MS_BIND | MS_REC, None)
            staged.append((stage, keep))
    # a mask inside a re-bound interpreter folder (the installed `solutions`, a wheel's course)
    # goes on after the re-binding, which would otherwise cover it
    inside = [m for m in masks if any(Path(keep) in Path(m).parents for _, keep in staged)]
    for path in [m for m in masks if m not in inside]:
        _cover(path, opened=any(Path(path) in Path(keep).parents for _, keep in staged))
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={limits.file_mb * 4}m,mode=1777")
    for stage, keep in staged:
        os.makedirs(keep, 0o755, exist_ok=True)
        _mount(stage, keep, None, MS_BIND | MS_REC, None)
    for path in inside:
        _cover(path, opened=False)


def _cover(path, opened):
    """Cover one folder with an empty tmpfs (mode 755 if `opened`: a kept folder lies below it,
    else 000), or one file with /dev/null."""
    if not os.path.lexists(path):
        return  # under a folder masked already (or gone): not reachable anyway
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size=64k,mode={'755' if opened else '000'}")
    else:
        _mount("/dev/null", path, None, MS_BIND, None)


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


def _become_student(mode, limits, uid, gid, workdir, chan_fd, out_fd):
    """Process S: limits, drop privileges, plumbing, then serve the grader's requests."""
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
        os.setgid(gid)
        os.setuid(uid)  # as root -> unprivileged: all capabilities are gone
        if os.getuid() != uid or os.geteuid() != uid:
            raise SandboxError("could not drop privileges")
    elif mode == "userns":
        for cap in range(64):
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)
        data = (ctypes.c_uint32 * 6)()
        _check(libc.capset(header, data), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
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
    _serve(socket.socket(fileno=chan), limits)


# ====================================================================== S: the student's side

class _FakeNotebook:
    """Stands in for otter.Notebook: grader.check(...) / export(...) do nothing here."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class _FakeIPython:
    def __getattr__(self, name):  # run_line_magic, run_cell_magic, system, ...
        return lambda *args, **kwargs: None


def _fake_otter():
    import types
    otter = types.ModuleType("otter")
    otter.Notebook = _FakeNotebook
    otter.__path__ = []
    return otter


_MISSING = object()


def _same(a, b):
    """Exact equality of plain data (arrays with nan == nan, dicts, lists, tuples, numbers)."""
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        return x.shape == y.shape and x.dtype == y.dtype and bool(
            np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))
    return a is b or bool(a == b)


def _serve(chan, limits):
    import builtins
    import copy
    import traceback
    max_frame = limits.return_mb * 1024 * 1024
    sys.modules["otter"] = _fake_otter()
    ipython = _FakeIPython()
    namespace = {"__name__": "__main__", "__builtins__": builtins,
                 "get_ipython": lambda: ipython,
                 "display": lambda *objs, **kwargs: print(*objs)}

    owner = os.getpid()

    def reply(message):
        if os.getpid() != owner:
            os._exit(0)  # a process the notebook forked came back here: it must not answer
        protocol.send_frame(chan, message, max_frame)

    def flush():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # output cap reached (broken pipe) or stream replaced by the student
                pass

    def describe_error(exc):
        return f"{type(exc).__name__}: {exc}"[:2000]

    def supplied(dep, own):
        """Stand-in for the student's ``dep`` during one call: the grader answers the calls a right
        answer makes (it decides, from values, in its own process); any other call runs ``own``."""
        def stand_in(*args, **kwargs):
            try:
                ask = {"event": "dep", "name": dep, "args": protocol.encode(list(args), max_frame),
                       "kwargs": protocol.encode(dict(kwargs), max_frame)}
            except Exception:  # not plain data: the grader cannot know this call
                ask = None
            if ask is not None:
                reply(ask)
                got = protocol.recv_frame(chan, max_frame)
                if got.get("kind") == "value":
                    return protocol.decode(got.get("value"), max_frame)
            if own is _MISSING:
                raise NameError(f"name {dep!r} is not defined")
            return own(*args, **kwargs)
        stand_in.__name__ = stand_in.__qualname__ = dep
        return stand_in

    def changed(before, after):
        """Positions of the arguments the call changed in place (reported, the grader decides)."""
        if before is None:
            return []
        try:
            return [i for i, (a, b) in enumerate(zip(after, before)) if not _same(a, b)]
        except Exception:
            return []

    def answer(value):
        try:
            return {"kind": "value", "value": protocol.encode(value, max_frame)}
        except protocol.NotPlainData as exc:
            return {"kind": "unsupported", "what": str(exc)[:500], "type": protocol.describe(value)}
        except RecursionError:
            return {"kind": "unsupported", "what": "a structure nested too deeply",
                    "type": protocol.describe(value)}

    while True:
        try:
            request = protocol.recv_frame(chan, max_frame)
        except EOFError:
            return
        op = request.get("op")
        if op == "files":
            for name, text in request["files"].items():
                with open(os.path.basename(name), "wb") as f:
                    f.write(text.encode("latin-1"))
            reply({"ok": True})
        elif op == "run":
            for index, source in request["cells"]:
                reply({"event": "cell", "cell": index})
                error = None
                try:
                    exec(compile(source, f"<cell {index + 1}>", "exec"), namespace)
                except BaseException as exc:  # like Jupyter: record it and go on
                    error = describe_error(exc)
                flush()
                reply({"event": "cell_done", "cell": index, "error": error})
            reply({"event": "ready"})
        elif op == "lookup":
            name = request["name"]
            if name not in namespace:
                reply({"kind": "missing"})
            elif callable(namespace[name]):
                reply({"kind": "callable"})
            else:
                reply(answer(namespace[name]))
        elif op == "names":
            reply({"names": [k for k in namespace if isinstance(k, str) and not k.startswith("_")]})
        elif op == "call":
            supply = request.get("supply")
            supply = [n for n in supply if type(n) is str] if isinstance(supply, list) else []
            saved = {}
            try:
                args = protocol.decode(request["args"], max_frame, resolve_ref=namespace.get)
                kwargs = protocol.decode(request["kwargs"], max_frame, resolve_ref=namespace.get)
                function = namespace[request["name"]]
                try:
                    before = copy.deepcopy(args)
                except Exception:
                    before = None
                for dep in supply:
                    saved[dep] = namespace.get(dep, _MISSING)
                    namespace[dep] = supplied(dep, saved[dep])
                try:
                    result = function(*args, **kwargs)
                finally:
                    for dep, own in saved.items():
                        if own is _MISSING:
                            namespace.pop(dep, None)
                        else:
                            namespace[dep] = own
            except BaseException as exc:
                tb = traceback.format_exception(exc)
                reply({"kind": "raised", "type": type(exc).__name__, "message": str(exc)[:2000],
                       "traceback": "".join(tb[-6:])[-3000:]})
            else:
                message = answer(result)
                message["changed"] = changed(before, args)
                reply(message)
            flush()
        else:
            reply({"error": f"unknown op {op!r}"})
