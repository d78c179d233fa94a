"""The symbolic-link policy shared by the sources that see a local disk (``local``, ``poll`` on ``file://``).

A batch is read only when its real path (every link resolved) lies inside the watched
tree, unless the source sets ``follow_symlinks = true``. A link that leaves the tree
(``ln -s /etc/passwd incoming/x.parquet``) is neither opened nor checked: it is
recorded as a rejected batch whose reason names the link, its target and the option.
The rule is the same for a link found by a scan and for one created or moved in
while the source runs. Directories that are links are never entered (no loops, no
trees grafted from elsewhere); a link to a directory is not a batch.
"""

from __future__ import annotations

import os


def is_within(path: str, root: str) -> bool:
    """True when the absolute, resolved ``path`` is ``root`` or below it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def link_refusal(path: str, root: str, allowed: bool, key: str) -> str | None:
    """Why the batch at local ``path`` must not be read under the policy, or None to read it.

    :param path: the batch's path as the source found it (absolute, below ``root``).
    :param root: the watched directory, itself resolved (``Path.resolve()``).
    :param allowed: the source's ``follow_symlinks``: links leaving the tree are read.
    :param key: the config key of the option, for the message (``sources.landing.follow_symlinks``).
    """
    if allowed:
        return None
    real = os.path.realpath(path)
    if real == path or is_within(real, root):
        return None
    return (
        f"{path} is a symbolic link to {real}, outside the watched directory {root}: not read; "
        f"move the data into {root}, or set {key} = true to read links that leave it"
    )


def link_signature(path: str) -> tuple[int, float] | None:
    """(size, mtime) of the link itself (``lstat``): identifies a refused link without touching its target."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime
