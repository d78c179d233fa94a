"""The ``poll`` source: any fsspec filesystem, listed every ``interval`` seconds.

For filesystems that send no events (HDFS through ``hdfs://`` or ``webhdfs://``,
object stores, ``memory://``, or a local disk through ``file://``). Each poll walks
the tree (hidden directories such as ``_temporary`` are not entered) and tracks every
candidate's path, size and modification time:

* a **file** is complete when its size and mtime are the same in two consecutive
  polls (a writer that appends between polls changes one of them); a file that
  changes after being reported is a new version and is reported again once stable;
* a **directory** written by Spark/Hadoop is complete as soon as a poll sees its
  ``_SUCCESS`` marker (the committer writes it last).

On a local disk (``file://``) the symbolic-link policy of the ``local`` source holds
(:mod:`arlequin_core.sources.links`): a batch whose real path leaves the tree is
rejected unless ``follow_symlinks = true``, and directories that are links are never
entered. Other filesystems (HDFS disables symlinks by default, object stores have
none) are listed as they are.

The first poll runs at start-up, so the backlog is reported after the second one
(one ``interval`` later). A listing that fails (the namenode is down) is logged and
retried at the next poll; the source never stops on it.

On HDFS a file still open for writing is never reported (its listing entry says so,
see :func:`arlequin_core.hdfs.looks_open_for_write`), however long it stays unchanged.
A directory below the root that the daemon's user may not list is reported once as a
directory batch, so that reading it fails with a ``batch-rejected`` naming the
permission problem instead of the batch being skipped in silence; once its permissions
change it is a new version and is reported again.

Options for the filesystem (the HDFS user, Kerberos, an S3 endpoint) come from
fsspec's own configuration (``~/.config/fsspec/*.json`` or ``FSSPEC_<PROTOCOL>_<KEY>``
environment variables), so that consumers re-opening the batch's URI use the same.
"""

from __future__ import annotations

import os
import posixpath
import threading
from collections import deque
from datetime import datetime
from typing import Any

from pydantic import Field

from arlequin_core.config import Section, validate_section
from arlequin_core.errors import ConfigError
from arlequin_core.io import filesystem, is_hidden
from arlequin_core.logs import get_logger
from arlequin_core.secrets import redact
from arlequin_core.sources import links, rules
from arlequin_core.sources.base import Emit, Landed, Source

log = get_logger(__name__)

# Keys fsspec implementations use for the modification time, in order of preference.
_MTIME_KEYS = (
    "mtime",
    "modification_time",
    "modified",
    "last_modified",
    "LastModified",
    "modificationTime",
    "updated",
    "created",
)


class PollSourceConfig(Section):
    """``[sources.<instance>]`` with ``type = "poll"``."""

    #: The directory to watch: ``hdfs://namenode:8020/landing``, ``webhdfs://...``,
    #: ``memory://landing``, ``file:///data/landing``, ...
    uri: str
    #: Seconds between polls.
    interval: float = Field(default=10.0, gt=0.0)
    #: On a local disk: read symbolic links whose target lies outside the tree (default: refuse them).
    follow_symlinks: bool = False


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = getattr(fs, "protocol", ())
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def info_mtime(info: dict[str, Any]) -> float | None:
    """The modification time in an fsspec ``info`` dict, as seconds since the epoch.

    Implementations disagree: floats in seconds (local), datetimes (memory, S3),
    milliseconds (WebHDFS ``modificationTime``, hdfs-native ``modification_time``), ISO
    strings. None when there is none.
    """
    for key in _MTIME_KEYS:
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
        if isinstance(value, (int, float)):
            number = float(value)
            return number / 1000.0 if number > 1e11 else number  # milliseconds since the epoch
    return None


def _base_uri(uri: str) -> str:
    base = uri
    while base.endswith("/") and not base.endswith("://"):
        base = base[:-1]
    return base


class PollSource(Source):
    """Poll an fsspec URI; see the module docstring for the completion rules."""

    name = "poll"

    @classmethod
    def table_for_target(cls, target: str, *, interval: float | None = None) -> dict[str, Any] | None:
        """A URI with a scheme (``hdfs://``, ``memory://``, ``file://``, ...) is polled every ``interval``."""
        if "://" not in target:
            return None
        return {"uri": target} if interval is None else {"uri": target, "interval": interval}

    def __init__(self, config: Any = None, app: Any = None, instance: str | None = None) -> None:
        super().__init__(config, app, instance)
        if isinstance(config, PollSourceConfig):
            self.settings = config
        else:
            where = str(getattr(getattr(app, "config", None), "source_path", None) or "config")
            self.settings = validate_section(PollSourceConfig, dict(config or {}), where, f"sources.{self.instance}")
        self.uri = _base_uri(self.settings.uri)
        try:
            self.fs, self.root = filesystem(self.uri)
        except (ValueError, ImportError) as exc:
            raise ConfigError(f"sources.{self.instance}.uri: cannot open {redact(self.uri)}: {exc}") from None
        self.root = self.root.rstrip("/") or "/"
        #: Whether the filesystem is the local disk, where the symbolic-link policy applies.
        self._local = "file" in _protocols(self.fs)
        if self._local:
            self._real_root = os.path.realpath(self.root)
        self._emit: Emit | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: candidate path -> (size, mtime) at the last poll
        self._last: dict[rules.Parts, tuple[int, float | None]] = {}
        #: candidate path -> (size, mtime) last reported
        self._reported: dict[rules.Parts, tuple[int, float | None]] = {}
        #: committed output directory -> (its mtime, its subtree's walk steps), replayed by _walk
        self._outputs: dict[rules.Parts, tuple[float, list[rules.WalkStep]]] = {}
        #: top-level committed output -> its batch, computed once from its replayed steps
        self._output_batches: dict[rules.Parts, rules.Found] = {}
        #: the batches of this walk's unchanged top-level outputs, found without find_batches
        self._unchanged: list[rules.Found] = []
        self.polls = 0

    def describe(self) -> str:
        return f"poll ({self.instance}): {redact(self.uri)} every {self.settings.interval:g} s"

    def start(self, emit: Emit) -> None:
        """Poll once now (the first look at the backlog), then every ``interval`` in a thread."""
        self._emit = emit
        self._stop.clear()
        self.poll()
        self._thread = threading.Thread(target=self._run, name=f"arlequin-poll-{self.instance}", daemon=True)
        self._thread.start()
        log.info("source_started", source=self.instance, type=self.name, uri=redact(self.uri))

    def stop(self) -> None:
        """Stop polling; no ``emit`` after this returns."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._emit = None

    def _run(self) -> None:
        while not self._stop.wait(self.settings.interval):
            self.poll()

    def poll(self) -> None:
        """List the tree once and report what became complete; never raises."""
        try:
            found = self._list()
        except Exception as exc:
            log.warning("poll_listing_failed", source=self.instance, uri=redact(self.uri), error=str(exc))
            return
        self.polls += 1
        current: dict[rules.Parts, tuple[int, float | None]] = {}
        for item in found:
            signature = (item.size, item.mtime)
            current[item.parts] = signature
            if self._reported.get(item.parts) == signature:
                continue
            stable = item.kind == "directory" or self._last.get(item.parts) == signature
            if stable:
                self._reported[item.parts] = signature
                uri = rules.join(self.uri, item.parts)
                refused = self._link_refusal(item.parts)
                self._report(Landed(uri, item.size, item.mtime, item.kind, self.instance, refused))  # type: ignore[arg-type]
        # Forget what disappeared, so memory follows the tree, not its history.
        self._last = current
        self._reported = {k: v for k, v in self._reported.items() if k in current}

    def _list(self) -> list[rules.Found]:
        self.fs.invalidate_cache(self.root)  # listings are cached by HDFS/S3 implementations
        # info, not isdir: isdir answers False for any error, and "NameNode unreachable" must say so.
        try:
            is_dir = self.fs.info(self.root).get("type") == "directory"
        except FileNotFoundError:
            is_dir = False
        if not is_dir:
            raise FileNotFoundError(f"{redact(self.uri)} is not a directory")
        self._unchanged = []
        found = rules.find_batches(self._walk())  # runs the walk, which fills _unchanged
        if not self._unchanged:
            return found
        return sorted([*found, *self._unchanged], key=lambda f: f.parts)

    def _walk(self) -> Any:
        """Top-down, one ``ls`` per directory; yields what :func:`rules.find_batches` takes.

        A committed output directory (one holding ``_SUCCESS``, nothing open for writing
        below it) is not listed again while its own modification time stays the same:
        its subtree's listing from an earlier poll is replayed. A job writing into it
        again rewrites ``_SUCCESS``, which changes the directory's mtime, so it is then
        listed afresh. This is what keeps a poll of a landing directory with thousands of
        finished batches at a few NameNode RPCs (benchmarks/bench_hdfs.py).

        An unchanged output right below the root (the usual landing layout) is not even
        replayed: its batch, computed by :func:`rules.find_batches` from its steps the
        first time, goes to ``_unchanged`` (nothing above it can own it or hide it: the
        root is never a batch, and hidden names are pruned before they are walked). So a
        warm poll costs the root's listing plus a dictionary look-up per batch.
        """
        # (parts, parent path, mtime): the path is joined only for a directory that is listed.
        pending: deque[tuple[rules.Parts, str, float | None]] = deque([((), "", None)])
        cache: dict[rules.Parts, tuple[float, list[rules.WalkStep]]] = {}
        batches: dict[rules.Parts, rules.Found] = {}
        recording: dict[rules.Parts, tuple[float, list[rules.WalkStep], list[bool]]] = {}
        while pending:
            parts, parent, dir_mtime = pending.popleft()
            cached = self._outputs.get(parts)
            if cached is not None and dir_mtime is not None and cached[0] == dir_mtime:
                cache[parts] = cached
                if len(parts) == 1:
                    batch = self._output_batches.get(parts) or self._batch_of(parts, cached[1])
                    if batch is not None:
                        batches[parts] = batch
                        self._unchanged.append(batch)
                        continue
                for step_parts, names, entries in cached[1]:
                    yield step_parts, list(names), dict(entries)
                continue
            path = posixpath.join(parent, parts[-1]) if parts else self.root
            try:
                listing = self.fs.ls(path, detail=True)
            except PermissionError as exc:
                if not parts:
                    raise
                # Reported as a complete directory batch: its read is rejected naming the permission problem.
                log.warning("poll_directory_unreadable", source=self.instance, path=path, error=str(exc))
                for depth in range(1, len(parts)):
                    if parts[:depth] in recording:  # an output with an unreadable part: list it again next time
                        recording[parts[:depth]][2][0] = True
                yield parts, [], {rules.SUCCESS_MARKER: (0, dir_mtime)}
                continue
            subdirs: dict[str, float | None] = {}
            entries: dict[str, tuple[int, float | None]] = {}
            open_files = False
            for info in listing:
                name = posixpath.basename(str(info.get("name", "")).rstrip("/"))
                if not name:
                    continue
                if info.get("type") == "directory":
                    # Directories that are links are never entered (as os.walk does for the local source).
                    if not info.get("islink"):
                        subdirs[name] = info_mtime(info)
                elif name == rules.SUCCESS_MARKER or (not is_hidden(name) and not info.get("open_for_write")):
                    # (an empty _SUCCESS created and closed in the same millisecond looks open: it is a marker)
                    entries[name] = (int(info.get("size") or 0), info_mtime(info))
                else:
                    open_files = open_files or bool(info.get("open_for_write"))
            names = list(subdirs)
            step = (parts, names, entries)
            if parts and dir_mtime is not None and rules.SUCCESS_MARKER in entries:
                recording[parts] = (dir_mtime, [], [False])
            for depth in range(1, len(parts) + 1):
                owner = recording.get(parts[:depth])
                if owner is not None:
                    owner[1].append(step)
                    owner[2][0] = owner[2][0] or open_files
            yield step  # find_batches prunes ``names`` in place
            pending += [((*parts, name), path, subdirs[name]) for name in names]
        # The walk finished: keep what a next poll may replay (committed, nothing open below).
        cache.update({p: (mtime, steps) for p, (mtime, steps, has_open) in recording.items() if not has_open[0]})
        self._outputs = cache
        self._output_batches = batches

    @staticmethod
    def _batch_of(parts: rules.Parts, steps: list[rules.WalkStep]) -> rules.Found | None:
        """The one batch a committed output's recorded steps make (None: not exactly one)."""
        found = rules.find_batches((p, list(names), dict(entries)) for p, names, entries in steps)
        return found[0] if len(found) == 1 and found[0].parts == parts else None

    def _link_refusal(self, parts: rules.Parts) -> str | None:
        if not self._local:
            return None
        path = os.path.join(self._real_root, *parts)
        return links.link_refusal(
            path, self._real_root, self.settings.follow_symlinks, f"sources.{self.instance}.follow_symlinks"
        )

    def _report(self, landed: Landed) -> None:
        emit = self._emit
        if emit is not None and not self._stop.is_set():
            emit(landed)
