"""The ``local`` source: a directory tree watched with inotify (through watchdog).

A file is reported when it is *closed after writing* (``IN_CLOSE_WRITE``) or *moved
into place* (``IN_MOVED_TO``: the temp-name-then-rename pattern), never on create or
modify, so a file still being written under its final name is not read. Before
reporting a file the source also asks the kernel whether anybody still has it open
for writing (a read lease, ``F_SETLEASE``, is refused while a writer holds it), which
covers a writer that renames before closing and files found by a scan.

At start-up (and every ``rescan`` seconds, a safety net for lost inotify events) the
tree is scanned: complete batches already there are reported (the backlog), a file
some process is writing is left to its close event. When the lease cannot tell
(another user's file, NFS), a scanned file counts as complete once its size and mtime
have not changed for ``settle`` seconds. A Spark/Hadoop output directory is reported
when its ``_SUCCESS`` marker is closed or moved in.

Symbolic links (see :mod:`arlequin_core.sources.links`): a file whose real path leaves
the watched tree is not read unless ``follow_symlinks = true``; it becomes a rejected
batch naming the link and its target. The same rule applies to a scan and to a link
created (``ln -s``, which sends no close event: the create is the landing) or moved in
while the source runs. Directories that are links are never entered.

Linux only for close-write semantics; elsewhere watchdog's native observer is used and
every created or modified file goes through the ``settle`` rule.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

from pydantic import Field
from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from arlequin_core.config import Section, validate_section
from arlequin_core.errors import ConfigError
from arlequin_core.io import is_hidden
from arlequin_core.logs import get_logger
from arlequin_core.sources import links, rules
from arlequin_core.sources.base import Emit, Landed, Source

log = get_logger(__name__)


#: How many reported file versions the source remembers to skip repeats (bounded memory).
_REPORTED_MAX = 10_000


class _StopRaceFilter(logging.Filter):
    """Drop watchdog's ERROR about reading events while its thread stops: our own stop causes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("InotifyEmitter.queue_events() called when the thread is inactive")


logging.getLogger("watchdog.observers.inotify").addFilter(_StopRaceFilter())
# Watchdog warns when `mkdir -p` makes it add a watch twice; it keeps one, nothing is lost.
warnings.filterwarnings("ignore", message="Callback with id .* already exists", category=RuntimeWarning)


class LocalSourceConfig(Section):
    """``[sources.<instance>]`` with ``type = "local"``."""

    #: The directory to watch (relative to the CWD); it must exist.
    path: Path
    #: Seconds a scanned file's size and mtime must stay unchanged when the kernel
    #: cannot say whether it is open for writing.
    settle: float = Field(default=2.0, gt=0.0)
    #: Seconds between safety rescans of the tree (0: only at start-up).
    rescan: float = Field(default=300.0, ge=0.0)
    #: Read symbolic links whose target lies outside the watched tree (default: refuse them).
    follow_symlinks: bool = False


def open_for_writing(path: str) -> bool | None:
    """Whether any process has ``path`` open for writing (Linux read-lease probe).

    :returns: True or False; None when the kernel cannot tell (not Linux, a file of
        another user without ``CAP_LEASE``, a filesystem without leases such as NFS).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        take_read_lease(fd)
    except OSError as exc:
        return True if exc.errno == errno.EAGAIN else None
    else:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


def take_read_lease(fd: int) -> None:
    """Take a read lease on ``fd`` (opened read-only); raises ``OSError`` (EAGAIN: a writer has it).

    A writer opening the file while we hold the lease makes the kernel signal the lease
    holder, with SIGIO unless told otherwise, and SIGIO's default action terminates the
    process. SIGURG is ignored by default and used by nothing in Python: signal that.
    """
    fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)


class _Handler(FileSystemEventHandler):
    def __init__(self, source: LocalSource) -> None:
        self.source = source

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self.source._on_event(event)
        except Exception as exc:  # a watcher thread that dies would silently stop all reporting
            log.exception("local_source_event_failed", path=str(event.src_path), error=str(exc))


class LocalSource(Source):
    """Watch a local directory tree; see the module docstring for the rules."""

    name = "local"

    @classmethod
    def table_for_target(cls, target: str, *, interval: float | None = None) -> dict[str, Any] | None:
        """A plain path (no ``scheme://``) is watched with inotify; ``interval`` does not apply."""
        return None if "://" in target else {"path": target}

    def __init__(self, config: Any = None, app: Any = None, instance: str | None = None) -> None:
        super().__init__(config, app, instance)
        if isinstance(config, LocalSourceConfig):
            self.settings = config
        else:
            where = str(getattr(getattr(app, "config", None), "source_path", None) or "config")
            self.settings = validate_section(LocalSourceConfig, dict(config or {}), where, f"sources.{self.instance}")
        self.root = str(self.settings.path.expanduser().resolve())
        self._emit: Emit | None = None
        #: The last reported (path, size, mtime) keys, oldest first, to skip repeats.
        self._reported: OrderedDict[tuple[str, int, float | None], None] = OrderedDict()
        self._reported_lock = threading.Lock()
        self._observer: Any = None
        self._inotify = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._deferred: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"local ({self.instance}): {self.root}"

    # ---------------------------------------------------------------- lifecycle
    def check(self) -> None:
        """The watched path must be a directory now (inotify cannot watch what does not exist)."""
        if not os.path.isdir(self.root):
            what = "does not exist" if not os.path.exists(self.root) else "is not a directory"
            raise ConfigError(f"sources.{self.instance}.path: {self.root} {what}; create it (mkdir -p) or fix the path")

    def start(self, emit: Emit) -> None:
        """Watch, then scan (in that order, so nothing lands unseen in between)."""
        self.check()
        self._emit = emit
        self._stop.clear()
        self._observer = self._make_observer()
        self._observer.schedule(_Handler(self), self.root, recursive=True)
        self._observer.start()
        self._thread = threading.Thread(target=self._run, name=f"arlequin-local-{self.instance}", daemon=True)
        self._thread.start()
        self.scan()
        log.info("source_started", source=self.instance, type=self.name, path=self.root, inotify=self._inotify)

    def _make_observer(self) -> Any:
        if sys.platform.startswith("linux"):
            from watchdog.observers.inotify import InotifyObserver

            self._inotify = True
            # Full events: a file moved in from outside the tree is a move, not a create.
            return InotifyObserver(generate_full_events=True)
        from watchdog.observers import Observer

        return Observer()

    def stop(self) -> None:
        """Stop the observer and the settle thread; no ``emit`` after this returns."""
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
            self._observer = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._emit = None

    # ---------------------------------------------------------------- scanning
    def scan(self, top: str | None = None) -> None:
        """Report every complete batch below ``top`` (default: the root)."""
        top = top or self.root
        try:
            base = rules.split_relative(self.root, top)
        except ValueError:
            return
        if rules.is_ignored(base):
            return
        for found in rules.find_batches(self._walk(top, base)):
            path = rules.join(self.root, found.parts)
            if self._refuse_link(path):
                continue
            if found.kind == "directory":
                self._report(Landed(path, found.size, found.mtime, "directory", self.instance))
            else:
                self._check_file(path, found.size, found.mtime or 0.0)

    def _refuse_link(self, path: str) -> bool:
        """Report ``path`` as refused when it resolves outside the tree (the link policy); True if so."""
        reason = links.link_refusal(
            path, self.root, self.settings.follow_symlinks, f"sources.{self.instance}.follow_symlinks"
        )
        if reason is None:
            return False
        signature = links.link_signature(path)
        if signature is not None:
            self._report(Landed(path, signature[0], signature[1], "file", self.instance, refused=reason))
        return True

    def _walk(self, top: str, base: rules.Parts) -> Any:
        for dirpath, dirnames, filenames in os.walk(top):
            parts = base + rules.split_relative(top, dirpath)
            files: dict[str, tuple[int, float | None]] = {}
            for name in filenames:
                if is_hidden(name) and name != rules.SUCCESS_MARKER:
                    continue
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue  # gone since the listing
                files[name] = (st.st_size, st.st_mtime)
            subdirs = list(dirnames)
            yield parts, subdirs, files
            dirnames[:] = subdirs

    def _check_file(self, path: str, size: int, mtime: float) -> None:
        """Report a scanned file if nobody writes it; else leave it to its close event or the settle rule."""
        busy = open_for_writing(path)
        if busy is False:
            self._report(Landed(path, size, mtime, "file", self.instance))
        elif busy is None:
            with self._lock:
                self._deferred[path] = (size, mtime)

    def _run(self) -> None:
        period = min(self.settings.settle / 2, 0.5)
        last_scan = time.monotonic()
        while not self._stop.wait(period):
            self._settle()
            if self.settings.rescan and time.monotonic() - last_scan >= self.settings.rescan:
                last_scan = time.monotonic()
                try:
                    self.scan()
                except Exception as exc:
                    log.exception("local_rescan_failed", source=self.instance, error=str(exc))

    def _settle(self) -> None:
        with self._lock:
            deferred = list(self._deferred.items())
        now = time.time()
        for path, (size, mtime) in deferred:
            try:
                st = os.stat(path)
            except OSError:
                with self._lock:
                    self._deferred.pop(path, None)
                continue
            busy = open_for_writing(path)
            if busy:
                continue
            stable = (st.st_size, st.st_mtime) == (size, mtime) and now - st.st_mtime >= self.settings.settle
            if busy is False or stable:
                with self._lock:
                    self._deferred.pop(path, None)
                self._report(Landed(path, st.st_size, st.st_mtime, "file", self.instance))
            else:
                with self._lock:
                    self._deferred[path] = (st.st_size, st.st_mtime)

    # ---------------------------------------------------------------- events
    def _on_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, FileClosedEvent):
            self._landed_path(os.fsdecode(event.src_path))
        elif isinstance(event, FileMovedEvent):
            if event.dest_path:
                self._landed_path(os.fsdecode(event.dest_path))
        elif isinstance(event, DirMovedEvent):
            if event.dest_path:
                self.scan(os.fsdecode(event.dest_path))
        elif isinstance(event, DirCreatedEvent):
            # Files written into a new directory before its watch existed send no close event.
            self.scan(os.fsdecode(event.src_path))
        elif isinstance(event, FileCreatedEvent) and os.path.islink(os.fsdecode(event.src_path)):
            # `ln -s` in place: a link is complete when created, and sends no close event.
            self._landed_path(os.fsdecode(event.src_path))
        elif not self._inotify and isinstance(event, (FileCreatedEvent, FileModifiedEvent)):
            self._defer(os.fsdecode(event.src_path))

    def _defer(self, path: str) -> None:
        try:
            parts = rules.split_relative(self.root, path)
            st = os.stat(path)
        except (ValueError, OSError):
            return
        if rules.is_success_marker(parts) or (rules.is_file_candidate(parts) and not self._in_output_dir(parts)):
            if self._refuse_link(path):
                return
            with self._lock:
                self._deferred[path] = (st.st_size, st.st_mtime)

    def _landed_path(self, path: str) -> None:
        try:
            parts = rules.split_relative(self.root, path)
        except ValueError:
            return
        if rules.is_success_marker(parts):
            directory = rules.join(self.root, parts[:-1])
            if not self._refuse_link(directory):
                self._landed_directory(directory, path)
            return
        if not rules.is_file_candidate(parts) or self._in_output_dir(parts):
            return
        if self._refuse_link(path):
            return
        try:
            st = os.stat(path)
        except OSError:
            return  # moved on already (or a link to nothing)
        if not os.path.isfile(path):
            return  # a link to a directory is not a batch
        if open_for_writing(path):
            return  # another writer still has it open: its close event reports it
        self._report(Landed(path, st.st_size, st.st_mtime, "file", self.instance))

    def _landed_directory(self, directory: str, marker: str) -> None:
        try:
            mtime = os.stat(marker).st_mtime
        except OSError:
            return
        size = 0
        for dirpath, dirnames, filenames in os.walk(directory):
            dirnames[:] = [d for d in dirnames if not is_hidden(d)]
            for name in filenames:
                if not is_hidden(name):
                    try:
                        size += os.stat(os.path.join(dirpath, name)).st_size
                    except OSError:
                        pass
        self._report(Landed(directory, size, mtime, "directory", self.instance))

    def _in_output_dir(self, parts: rules.Parts) -> bool:
        return rules.in_output_dir(parts, lambda d, name: os.path.exists(rules.join(self.root, (*d, name))))

    def _report(self, landed: Landed) -> None:
        # A file moved into a new directory can be seen twice: by the scan of that
        # directory and by its own event. Report each version of a path once.
        key = (landed.uri, landed.size, landed.mtime)
        with self._reported_lock:
            if key in self._reported:
                return
            self._reported[key] = None
            if len(self._reported) > _REPORTED_MAX:
                self._reported.popitem(last=False)
        emit = self._emit
        if emit is not None and not self._stop.is_set():
            emit(landed)
