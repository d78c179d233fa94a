"""Completion rules shared by every source: what is a batch, and when is it complete.

Paths are handled as tuples of components relative to the watched root, so the
rules are the same for a local directory and for any fsspec filesystem.

* Anything with a hidden component (see :func:`arlequin_core.io.is_hidden`: names
  starting with ``_`` or ``.``, ``*._COPYING_``, ``*.tmp``, ``*.crc``,
  ``*.inprogress``) is ignored, so Hadoop's ``_temporary/`` working directories,
  ``hdfs dfs -put``'s ``x._COPYING_`` and our own ``.x.tmp`` temporary names are
  never read.
* A **file batch** is a data file (``.parquet``, ``.pq``, ``.parq``, ``.csv``,
  ``.csv.gz``, ``.tsv``, any case) that is not part of an output directory. Other
  files (``manifest.json``, ``README``) are not batches.
* A **directory batch** is a directory written by Spark/Hadoop: it is complete when
  its ``_SUCCESS`` marker appears (the committer writes it last). Its files are not
  batches of their own: a file is part of an output directory when its name starts
  with ``part-`` (what Spark, Hadoop MapReduce and pyarrow's dataset writer name
  them) or when a directory between it and the root holds ``_SUCCESS`` or
  ``_temporary``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from arlequin_core.io import CSV_SUFFIXES, PARQUET_SUFFIXES, is_hidden

SUCCESS_MARKER = "_SUCCESS"
#: Hadoop's FileOutputCommitter works in here until the job commits.
TEMPORARY_DIR = "_temporary"
DATA_SUFFIXES = PARQUET_SUFFIXES + CSV_SUFFIXES
PART_PREFIX = "part-"

Parts = tuple[str, ...]


def split_relative(root: str, path: str) -> Parts:
    """``path`` relative to ``root`` as components; ``()`` for the root itself.

    Both are ``/``-separated (local paths on POSIX, fsspec paths everywhere).

    :raises ValueError: ``path`` is not below ``root``.
    """
    root = root.rstrip("/") or "/"
    path = path.rstrip("/") or "/"
    if path == root:
        return ()
    prefix = root if root.endswith("/") else root + "/"
    if not path.startswith(prefix):
        raise ValueError(f"{path!r} is not below {root!r}")
    return tuple(p for p in path[len(prefix) :].split("/") if p)


def is_ignored(parts: Sequence[str]) -> bool:
    """True when any component is hidden (temporary, marker, checksum, staging)."""
    return any(is_hidden(part) for part in parts)


def is_data_name(name: str) -> bool:
    """True for names with a data file suffix (Parquet or CSV), any case."""
    return name.lower().endswith(DATA_SUFFIXES)


def is_success_marker(parts: Sequence[str]) -> bool:
    """True for a ``_SUCCESS`` marker in a visible directory below the root."""
    return len(parts) >= 2 and parts[-1] == SUCCESS_MARKER and not is_ignored(parts[:-1])


def is_file_candidate(parts: Sequence[str]) -> bool:
    """True for a visible data file that is not named like a part of an output directory.

    The caller must still check :func:`in_output_dir` (it needs the filesystem).
    """
    return bool(parts) and not is_ignored(parts) and is_data_name(parts[-1]) and not parts[-1].startswith(PART_PREFIX)


def in_output_dir(parts: Sequence[str], has_child: Callable[[Parts, str], bool]) -> bool:
    """True when a directory between the file and the root holds ``_SUCCESS`` or ``_temporary``.

    :param parts: the file's components relative to the root.
    :param has_child: ``has_child(dir_parts, name)`` tells whether the directory
        ``dir_parts`` (relative to the root) has an entry ``name``.
    """
    for depth in range(1, len(parts)):
        directory = tuple(parts[:depth])
        if has_child(directory, SUCCESS_MARKER) or has_child(directory, TEMPORARY_DIR):
            return True
    return False


def join(root: str, parts: Sequence[str]) -> str:
    """``root`` joined with relative ``parts`` (``/``-separated; keeps a URI's scheme and host)."""
    return posixpath.join(root.rstrip("/") or "/", *parts) if parts else root


@dataclass(frozen=True)
class Found:
    """A complete batch found by :func:`find_batches`.

    :param parts: its path relative to the root, as components.
    :param kind: ``file`` or ``directory``.
    :param size: bytes (a directory: the sum of its visible files, all levels).
    :param mtime: seconds since the epoch (a directory: its ``_SUCCESS`` marker's).
    """

    parts: Parts
    kind: str
    size: int
    mtime: float | None


#: What a walk yields per directory: its components relative to the root, the names
#: of its subdirectories (a list the walker prunes in place, like ``os.walk``), and its
#: files as ``name -> (size, mtime)``.
WalkStep = tuple[Parts, list[str], dict[str, tuple[int, float | None]]]


def find_batches(walk: Iterable[WalkStep]) -> list[Found]:
    """The complete batches in a top-down walk of a tree, sorted by path.

    Hidden directories are pruned (so ``_temporary`` is never entered); a directory
    holding ``_SUCCESS`` is one batch with its whole subtree (partitioned output
    included); a directory holding ``_temporary`` is an output still being written,
    nothing below it is a batch yet. Markers in the root itself mean nothing (the
    root is never a batch).
    """
    outputs: dict[Parts, list[Any]] = {}
    unfinished: set[Parts] = set()
    found: list[Found] = []
    for dir_parts, subdirs, files in walk:
        owner = next((dir_parts[:i] for i in range(len(dir_parts) + 1) if dir_parts[:i] in outputs), None)
        if owner is None and any(dir_parts[:i] in unfinished for i in range(len(dir_parts) + 1)):
            subdirs[:] = []
            continue
        if owner is None and dir_parts and SUCCESS_MARKER in files:
            owner = dir_parts
            outputs[owner] = [0, files[SUCCESS_MARKER][1]]
        elif owner is None and dir_parts and TEMPORARY_DIR in subdirs:
            unfinished.add(dir_parts)
            subdirs[:] = []
            continue
        subdirs[:] = sorted(d for d in subdirs if not is_hidden(d))
        for name, (size, mtime) in files.items():
            if is_hidden(name):
                continue
            if owner is not None:
                outputs[owner][0] += size
            elif is_file_candidate((*dir_parts, name)):
                found.append(Found((*dir_parts, name), "file", size, mtime))
    found += [Found(parts, "directory", size, mtime) for parts, (size, mtime) in outputs.items()]
    return sorted(found, key=lambda f: f.parts)
