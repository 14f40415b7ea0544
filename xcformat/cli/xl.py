"""Running Xen's ``xl`` for ``xcformat save``, ``restore`` and ``dump``.

The image moves through a pipe that xl is given as ``/dev/fd/N``.  xl opens that path with a
plain open(2) (tools/xl/xl_saverestore.c for a save, tools/xl/xl_vmcontrol.c for a restore,
tools/libs/guest/xg_core.c for a dump) and then reads or writes it strictly in order; the only
calls that need a file, a dump's lseek, fsync and posix_fadvise (discard_file_cache in
tools/libs/ctrl/xc_linux.c), have their failures ignored.  So a pipe serves all three.

xl runs with SIGPIPE ignored, so that a reader that goes away is a write error it handles
(resuming the guest) rather than a signal that kills it mid-save, and in a session of its own,
so that a Ctrl-C stops xcformat, whose closing pipe then stops xl cleanly.  Its standard output
and standard error go to a temporary file, quoted when it fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import EnvironmentProblem, XcFormatError
from ..io import pipes

#: Stands for the pipe in the arguments given to :meth:`Xl.piped`.
PIPE = object()
#: Seconds given to xl to end by itself when xcformat's side failed (it does at once when its
#: own failure is what xcformat saw).
GRACE = 1.0
#: How many of xl's last lines a failure quotes.
QUOTED_LINES = 8
#: Where a Xen dom0's kernel shows the hypervisor's version, files ``major`` and ``minor``
#: (drivers/xen/sys-hypervisor.c in Linux).
HYPERVISOR_VERSION = "/sys/hypervisor/version"


class XlFailed(XcFormatError):
    """xl exited with a failure: the save, restore or dump did not happen."""


@dataclass(frozen=True)
class Xl:
    """The ``xl`` program to run."""

    path: str

    def run(self, *args: str) -> str:
        """Run ``xl ARGS`` to its end; its standard output, or :class:`XlFailed`."""
        done = subprocess.run([self.path, *args], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace")
        if done.returncode != 0:
            raise XlFailed(_failure(f"xl {' '.join(args)}", done.returncode,
                                    done.stderr + done.stdout))
        return done.stdout

    @contextlib.contextmanager
    def piped(self, *args: object, xl_writes: bool, expendable: bool = False
              ) -> Iterator[Running]:
        """Start ``xl ARGS`` with :data:`PIPE` replaced by ``/dev/fd/N``, one end of a pipe;
        the :class:`Running` holds the other end (to read when ``xl_writes``).  Leaving the
        block closes our end and waits for xl.

        An ``expendable`` xl changes nothing in the guest (a dump): it is stopped when
        xcformat fails or dies.  It must be, since a closed pipe need not stop it: xl dump-core
        opens its file read-write (tools/libs/guest/xg_core.c), which on a pipe hands it a
        reading end too, so it waits for ever for a reader that is gone."""
        read_end, write_end = os.pipe()
        pipes.widen(read_end)
        theirs, ours = (write_end, read_end) if xl_writes else (read_end, write_end)
        shown = [str(a) if a is not PIPE else "<pipe>" for a in args]
        command = [self.path, *(f"/dev/fd/{theirs}" if a is PIPE else str(a) for a in args)]
        log = tempfile.TemporaryFile()
        try:
            try:
                process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    pass_fds=(theirs,), restore_signals=False, start_new_session=True,
                    preexec_fn=_dies_with_us if expendable else None)
            except OSError as exc:
                os.close(ours)
                raise EnvironmentProblem(f"cannot run {self.path}: {exc.strerror}") from None
            finally:
                os.close(theirs)
            running = Running(f"xl {' '.join(shown)}", process, ours, log, expendable)
            try:
                yield running
            finally:
                running.finish()
        finally:
            log.close()

    def host_release(self, sysfs: str = HYPERVISOR_VERSION) -> str:
        """This host's Xen release, ``xen-MAJOR.MINOR``: from the kernel's ``sysfs``
        directory, which costs no process, else from ``xl info``."""
        try:
            major, minor = (int(_read_text(os.path.join(sysfs, part)))
                            for part in ("major", "minor"))
            return f"xen-{major}.{minor}"
        except (OSError, ValueError):
            pass                  # not a dom0 kernel with sysfs: xl knows, or says why not
        try:
            text = self.run("info")
        except XlFailed as exc:
            raise EnvironmentProblem(f"cannot tell this host's Xen release ({exc}); is this a "
                                     "Xen dom0?  --for names the release (e.g. --for "
                                     "xen-4.17)") from None
        found = dict(re.findall(r"^(xen_major|xen_minor)\s*:\s*(\d+)\s*$", text, re.MULTILINE))
        if len(found) != 2:
            raise EnvironmentProblem("cannot tell this host's Xen release: 'xl info' shows no "
                                     "xen_major and xen_minor; name it with --for (e.g. "
                                     "--for xen-4.17)")
        return f"xen-{found['xen_major']}.{found['xen_minor']}"

    def state(self, domain: str) -> str:
        """What ``xl list`` says of ``domain``, in words (``gone`` when it is not listed)."""
        try:
            lines = self.run("list", domain).splitlines()
        except XlFailed:
            return "gone"
        columns = lines[-1].split() if len(lines) >= 2 else []
        # The State column: six places, r b p s c d, each a letter or a dash (tools/xl/xl_list.c).
        flags = dict(zip("rbpscd", columns[-2])) if len(columns) >= 6 else {}
        for letter, word in (("c", "crashed"), ("d", "dying"), ("s", "shut down"),
                             ("p", "paused")):
            if flags.get(letter) == letter:
                return word
        return "running" if flags else "in an unknown state"


class Running:
    """An xl started by :meth:`Xl.piped`: ``fd`` is our end of its pipe."""

    def __init__(self, command: str, process: subprocess.Popen, fd: int, log,
                 expendable: bool):
        self.command = command
        self.process = process
        self.fd: int | None = fd
        self._log = log
        self.expendable = expendable
        self.returncode: int | None = None
        self._failure: XlFailed | None = None

    def close_pipe(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def finish(self) -> int:
        """Close our end and wait for xl to exit; its exit status."""
        self.close_pipe()
        if self.returncode is None:
            self.returncode = self.process.wait()
        return self.returncode

    def ended_by_itself(self, grace: float = GRACE) -> bool:
        """Whether xl exits within ``grace`` seconds while our end is still open."""
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return False
        return True

    def blame(self, exc: BaseException, say) -> BaseException:
        """The error to show when xcformat's side stopped with ``exc``, xl waited for.

        An xl that ended by itself first and failed is the cause (an empty or cut stream, a
        closed pipe are what xcformat then sees: said as a note).  Otherwise xcformat's error
        is, and xl's failure, which followed from the closed pipe, is the note; an expendable
        xl is stopped instead, as a closed pipe may not stop it."""
        if isinstance(exc, XlFailed):
            return exc
        by_itself = not isinstance(exc, KeyboardInterrupt) and self.ended_by_itself()
        if not by_itself and self.expendable and self.process.poll() is None:
            self.process.terminate()
            self.finish()
            return exc
        failure = self.failure()
        if failure is None:
            return exc
        if by_itself:
            say(str(exc))
            return failure
        say(str(failure))
        return exc

    def output(self) -> str:
        """What xl printed so far."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def failure(self) -> XlFailed | None:
        """Wait for xl: None if it exited 0, else its failure (the same one each time),
        quoting what it printed."""
        code = self.finish()
        if code != 0 and self._failure is None:
            self._failure = XlFailed(_failure(self.command, code, self.output()))
        return self._failure

    def succeeded(self) -> None:
        """Wait for xl; raise its failure unless it exited 0."""
        failure = self.failure()
        if failure is not None:
            raise failure


def _dies_with_us() -> None:
    from ..io import native

    native.die_with_parent(signal.SIGTERM)


def _read_text(path: str) -> str:
    with open(path) as file:
        return file.read()


def _failure(command: str, code: int, output: str) -> str:
    how = f"was killed by signal {-code}" if code < 0 else f"exited {code}"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    said = "; ".join(lines[-QUOTED_LINES:]) or "it printed nothing"
    return f"{command} failed ({how}): {said}"


def find(path: str) -> Xl:
    """The ``xl`` named by ``--xl`` (a path, or a name looked up on PATH)."""
    found = shutil.which(path)
    if found is None:
        where = "on PATH" if os.sep not in path else "there"
        raise EnvironmentProblem(f"{path}: xl not found {where} (save, restore and dump run "
                                 f"Xen's xl in dom0; --xl PATH names it)")
    return Xl(found)


def add_domain_argument(parser, output: str, help: str) -> None:
    """The guest xl is to act on, then the file written from it (``output``, its metavar)."""
    parser.add_argument("domain", metavar="DOMAIN", help="the guest: its name or domain id")
    parser.add_argument(output.lower(), metavar=output, help=help)


def add_xl_option(parser) -> None:
    parser.add_argument("--xl", metavar="PATH", default="xl",
                        help="the xl program to run (default: xl, found on PATH)")


def real_path(path: str, what: str) -> str:
    """``path`` for an argument xl opens itself: ``-`` cannot stand for a stream there."""
    if path == "-":
        raise EnvironmentProblem(f"{what}: xl opens it itself, so it must name a file, not -")
    return path
