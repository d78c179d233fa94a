"""Reading and writing batches: Parquet and CSV, local or any fsspec filesystem.

A *batch* is a file (``.parquet``, ``.pq``, ``.csv``, ``.csv.gz``) or a directory
written by Spark/Hadoop (part files, with ``_SUCCESS`` when complete). URIs may be
plain paths, ``file://``, or any fsspec protocol (``hdfs://``, ``webhdfs://``,
``s3://``, ``memory://``). Every failure is an :class:`InputError` naming the URI
and the problem, never a bare pyarrow traceback.

Parquet written by pandas (``DataFrame.to_parquet`` with its default ``index=True``)
carries the DataFrame's index as columns (``__index_level_0__``, or the index's own
name), listed in the pandas metadata of the file's schema. The index is not data: every
read path drops those columns (:func:`index_columns`), unless config names them.

``hdfs://`` is served by :mod:`arlequin_core.hdfs` (the native client ``hdfs-native``,
no JVM or libhdfs; registered with fsspec when this module is imported), ``webhdfs://``
by fsspec's WebHDFS over HTTP.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from arlequin_core.errors import InputError

if TYPE_CHECKING:
    import fsspec

_hdfs_registered = False


def load_fsspec() -> Any:
    """The ``fsspec`` module, with ``hdfs://`` registered (hdfs-native: fails fast with Python exceptions).

    Imported on first use, not with this module: a plain local file is read without it
    (:func:`read_table`), and its import is ~0.05 s of a one-off ``detect``. Every caller of
    fsspec in arlequin goes through here (or :func:`filesystem`), so ``hdfs://`` always means hdfs-native.
    """
    global _hdfs_registered
    import fsspec

    if not _hdfs_registered:
        try:  # a dependency; guarded for slim installs
            from arlequin_core import hdfs as _hdfs

            _hdfs.register()
        except ImportError:  # pragma: no cover - hdfs-native is a dependency
            pass
        _hdfs_registered = True
    return fsspec


Format = Literal["auto", "parquet", "csv"]
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")


def is_hidden(name: str) -> bool:
    """True for names Hadoop and Spark treat as not-data: ``_SUCCESS``, ``.crc``, temp files."""
    base = posixpath.basename(name.rstrip("/"))
    return base.startswith(("_", ".")) or base.endswith(("._COPYING_", ".tmp", ".crc", ".inprogress"))


def guess_format(uri: str, fmt: Format = "auto") -> Literal["parquet", "csv"]:
    """The format of ``uri``: ``fmt`` when given, else by extension (Parquet by default)."""
    if fmt != "auto":
        return fmt
    lower = uri.lower().rstrip("/")
    if lower.endswith(CSV_SUFFIXES):
        return "csv"
    return "parquet"


def filesystem(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem for ``uri`` and the path within it."""
    fs, path = load_fsspec().core.url_to_fs(uri)
    return fs, path


class _LocalFile:
    """What :func:`read_table` asks of the filesystem of a plain local file (its size), without fsspec."""

    @staticmethod
    def size(path: str) -> int:
        return os.stat(path).st_size


_LOCAL_FILE = _LocalFile()


def _plain_local_file(uri: str) -> bool:
    """True for a path without a scheme naming an existing file: read natively, without importing fsspec.
    Anything else (a directory, a URI, a missing path) goes through fsspec and its errors."""
    return ":" not in uri and os.path.isfile(uri)


def describe_os_error(exc: OSError) -> str:
    """``exc`` in one line for a user: what was refused and why (no errno prefix, no stack)."""
    if isinstance(exc, PermissionError):
        text = str(exc.strerror or exc)
        return text if text.lower().startswith("permission denied") else f"permission denied: {text}"
    return str(exc)


def data_files(fs: fsspec.AbstractFileSystem, path: str, uri: str) -> list[str]:
    """The data files of the batch at ``path`` on ``fs``, in name order: the file itself, or a
    directory's non-hidden files (Spark/Hadoop part files; markers such as ``_SUCCESS`` left out).

    :param uri: names the batch in errors.
    :raises InputError: no such path, a listing that fails, a directory without data files.
    """
    try:
        if not fs.exists(path):
            raise InputError(uri, "no such file or directory")
        if not fs.isdir(path):
            return [path]
        found = fs.find(path, detail=True, on_error="raise")
    except OSError as exc:
        raise InputError(uri, f"cannot list: {describe_os_error(exc)}") from None
    files = sorted(
        p for p, info in found.items() if not is_hidden(posixpath.relpath(p, path)) and info.get("type") != "directory"
    )
    if not files:
        raise InputError(uri, "directory holds no data files (only hidden or marker files)")
    return files


_data_files = data_files  # the name other modules imported first


#: Schema metadata key under which :func:`read_table` records the pandas index columns it dropped.
DROPPED_INDEX_KEY = b"arlequin.dropped_index"
#: Schema metadata key under which :func:`read_table` records the text columns it read as dictionaries.
DICTIONARY_KEY = b"arlequin.read_as_dictionary"
#: A Parquet text column whose data pages hold at most this many bytes per value (uncompressed)
#: holds dictionary indices only; one that fell back to plain pages (an id) holds its values,
#: at least 4 bytes each (the length prefix).
DICTIONARY_BYTES_PER_VALUE = 3.0


def index_columns(schema: pa.Schema, keep: Collection[str] = ()) -> list[str]:
    """The columns pandas wrote for a DataFrame's index, in schema order (none without pandas metadata).

    ``DataFrame.to_parquet`` (``index=True``, its default) stores a non-range index as
    columns named ``__index_level_N__``, or by the index's name, and lists them under
    ``index_columns`` in the schema's pandas metadata (a ``RangeIndex`` is metadata only).

    :param keep: names not to count as index columns (those config names: label,
        timestamp, forced kinds), so ``df.set_index("date")`` keeps a configured timestamp.
    """
    try:
        meta = schema.pandas_metadata
    except (ValueError, TypeError):  # unparseable pandas metadata: treat as none
        return []
    listed = meta.get("index_columns", []) if isinstance(meta, dict) else []
    names = {c for c in listed if isinstance(c, str)} - set(keep)
    return [name for name in schema.names if name in names]


def dropped_index(table: pa.Table) -> list[str]:
    """The pandas index columns :func:`read_table` dropped from ``table`` (empty when none)."""
    raw = (table.schema.metadata or {}).get(DROPPED_INDEX_KEY)
    return [c for c in raw.decode("utf-8").split("\x1f") if c] if raw else []


def index_note(columns: Collection[str]) -> str:
    """The report note saying which pandas index columns were not read."""
    shown = ", ".join(map(repr, columns))
    return (
        f"column{'s' if len(columns) > 1 else ''} {shown}: the pandas index (written by DataFrame.to_parquet "
        "with index=True), not data: not read; reset_index() before writing to keep it as a column"
    )


def batch_index_columns(uri: str | os.PathLike[str], fmt: Format = "auto", keep: Collection[str] = ()) -> list[str]:
    """The pandas index columns of the batch at ``uri`` (its first file's Parquet footer); [] for CSV or unreadable."""
    uri = os.fspath(uri)
    if guess_format(uri, fmt) != "parquet":
        return []
    try:
        fs: Any = _LOCAL_FILE
        files = [uri]
        if not _plain_local_file(uri):
            fs, path = filesystem(uri)
            files = data_files(fs, path, uri)
        with _open_input(fs, files[0]) as f:
            return index_columns(pq.read_schema(f), keep)
    except (InputError, OSError, ValueError, ImportError, pa.ArrowException):
        return []  # the engine reading the batch says what is wrong with it


def dictionary_columns(metadata: pq.FileMetaData, schema: pa.Schema) -> list[str]:
    """The text columns of a Parquet file that are dictionary-encoded in every row group, data
    pages holding indices only (see :data:`DICTIONARY_BYTES_PER_VALUE`): categories, which read
    as Arrow dictionaries cost their distinct values once and an index per row."""
    text = {
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_binary(f.type)
        or pa.types.is_large_binary(f.type)
    }
    chunks: dict[str, list[Any]] = {name: [] for name in text}
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            if chunk.path_in_schema in chunks:
                chunks[chunk.path_in_schema].append(chunk)
    out = []
    for name in schema.names:
        found = chunks.get(name)
        if found and all(_indices_only(chunk) for chunk in found):
            out.append(name)
    return out


def _indices_only(chunk: Any) -> bool:
    if not chunk.has_dictionary_page or chunk.dictionary_page_offset is None:
        return False
    values = chunk.num_values
    if chunk.is_stats_set and chunk.statistics.null_count is not None:
        values -= chunk.statistics.null_count
    data = chunk.total_uncompressed_size - (chunk.data_page_offset - chunk.dictionary_page_offset)
    return values <= 0 or data <= DICTIONARY_BYTES_PER_VALUE * values


def read_as_dictionary(table: pa.Table) -> list[str]:
    """The text columns :func:`read_table` read as dictionaries (``dictionary=True``); their type in the file
    is their dictionary's value type."""
    raw = (table.schema.metadata or {}).get(DICTIONARY_KEY)
    return [c for c in raw.decode("utf-8").split("\x1f") if c] if raw else []


def as_stored(table: pa.Table) -> pa.Table:
    """``table`` with the columns :func:`read_table` read as dictionaries decoded again (rows for
    models and samples: the types the file holds)."""
    encoded = [c for c in read_as_dictionary(table) if c in table.column_names]
    if not encoded:
        return table
    for name in encoded:
        index = table.column_names.index(name)
        column = table.column(index)
        if pa.types.is_dictionary(column.type):
            table = table.set_column(
                index, table.field(index).with_type(column.type.value_type), _decode_dictionary(column)
            )
    metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != DICTIONARY_KEY}
    return table.replace_schema_metadata(metadata or None)


def _decode_dictionary(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A dictionary column of strings as plain strings (``column.cast(value_type)``), in numpy where it can.

    ``cast`` imports pyarrow.compute, whose import alone is ~0.05-0.1 s of a one-off
    ``arlequin detect`` from a profile (issue 18). Chunks without nulls whose dictionary is
    ``string`` or ``large_string`` without nulls are gathered from the dictionary's buffers
    in numpy; anything else goes to ``cast``.
    """
    if isinstance(column, pa.ChunkedArray):
        value_type = column.type.value_type
        return pa.chunked_array([_decode_dictionary(chunk) for chunk in column.chunks], type=value_type)
    value_type = column.type.value_type
    words = column.dictionary
    wide = pa.types.is_large_string(value_type)
    if not (wide or pa.types.is_string(value_type)) or column.null_count or words.null_count:
        return column.cast(value_type)
    offsets_type = np.dtype(np.int64 if wide else np.int32)
    _, offsets_buffer, data_buffer = words.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=offsets_type, count=len(words) + 1, offset=words.offset * offsets_type.itemsize
    )
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    indices = column.indices
    index_type = _INDEX_TYPES.get(indices.type)
    if index_type is None:
        return column.cast(value_type)
    codes = np.frombuffer(
        indices.buffers()[1], dtype=index_type, count=len(indices), offset=indices.offset * index_type.itemsize
    )
    codes = codes.astype(np.int64)
    starts = offsets[codes].astype(np.int64)
    lengths = offsets[codes + 1].astype(np.int64) - starts
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.size else 0
    if not wide and total > np.iinfo(np.int32).max:
        return column.cast(value_type)
    new_offsets = np.concatenate([np.zeros(1, np.int64), ends]).astype(offsets_type)
    gather = np.repeat(starts - new_offsets[:-1].astype(np.int64), lengths) + np.arange(total, dtype=np.int64)
    values = data[gather]
    return pa.Array.from_buffers(value_type, len(column), [None, pa.py_buffer(new_offsets), pa.py_buffer(values)])


_INDEX_TYPES = {
    getattr(pa, t)(): np.dtype(t) for t in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
}


def _drop_index(table: pa.Table, keep: Collection[str], columns: list[str] | None) -> pa.Table:
    index = [c for c in index_columns(table.schema, keep) if columns is None or c not in columns]
    if not index:
        return table
    table = table.drop_columns(index)
    metadata = dict(table.schema.metadata or {})
    metadata[DROPPED_INDEX_KEY] = "\x1f".join(index).encode("utf-8")
    return table.replace_schema_metadata(metadata)


def read_table(
    uri: str | os.PathLike[str],
    fmt: Format = "auto",
    columns: list[str] | None = None,
    keep_index: Collection[str] = (),
    *,
    dictionary: bool = False,
) -> pa.Table:
    """Read one batch into an Arrow table.

    pandas index columns are dropped (:func:`index_columns`; the names are kept in the
    schema metadata, :func:`dropped_index`).

    :param uri: a file or a Spark/Hadoop output directory (its part files are concatenated).
    :param fmt: ``parquet``, ``csv`` or ``auto`` (by extension).
    :param columns: read only these columns (a missing one is an error naming it).
    :param keep_index: index columns to keep as data (e.g. :meth:`DataSection.roles
        <arlequin_core.config.DataSection.roles>`).
    :param dictionary: read Parquet text columns holding categories (:func:`dictionary_columns`
        of the first file, for every part) as Arrow dictionaries, listed in the schema metadata
        (:func:`read_as_dictionary`): several times faster to read and to count than strings.
        Drift checks take either; CSV is read as it is.
    :raises InputError: missing, unreadable, truncated or malformed input.
    """
    uri = os.fspath(uri)
    fs: Any
    if _plain_local_file(uri):
        fs, path, files = _LOCAL_FILE, uri, [uri]
    else:
        try:
            fs, path = filesystem(uri)
        except (ValueError, ImportError) as exc:
            raise InputError(uri, f"cannot open this location: {exc}") from None
        files = data_files(fs, path, uri)
    kind = guess_format(uri, fmt)
    tables = []
    encoded: list[str] | None = None if dictionary and kind == "parquet" else []
    for file in files:
        shown = uri if file == path else f"{uri} (part {posixpath.basename(file)})"
        table, encoded = _read_one(fs, file, shown, kind, columns, encoded)
        tables.append(_drop_index(table, keep_index, columns))
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # e.g. a column string in one part, double in another
        raise InputError(uri, f"part files have incompatible schemas: {exc}") from None


CSV_READ_BLOCK_BYTES = 1 << 20  # pyarrow's default block size for read_csv


def csv_problem(exc: BaseException, block_bytes: int) -> str:
    """What is wrong with a CSV pyarrow could not parse, and what to do when that is known.

    pyarrow splits a CSV into blocks of ``block_bytes``; a field (a row) longer than a
    block fails with "straddling object straddles two block boundaries", which says
    nothing of the cause or the remedy.
    """
    message = " ".join(str(exc).split()).rstrip(".")
    if "straddl" in message or "block size" in message:
        return (
            f"a field or row is larger than the CSV reader's block size ({block_bytes >> 20} MiB), "
            "so it cannot be parsed; convert the file to Parquet (e.g. pyarrow or pandas "
            "to_parquet), or split the huge field, and resubmit"
        )
    return f"cannot parse as csv: {message}"


def open_input(fs: fsspec.AbstractFileSystem, file: str) -> Any:
    """A readable file for pyarrow: a native Arrow file for a local path, else fsspec's.

    Arrow reads a Python file object from its own C++ I/O threads, which call back into
    Python; one still finishing when the process exits is killed by the interpreter's
    shutdown mid C++ frame, and the process aborts (exit 134, ``terminate called without
    an active exception``): seen on ``arlequin detect``'s quick error exits. A native file
    keeps Python out of Arrow's threads, so every exit is orderly.
    """
    if isinstance(fs, _LocalFile):
        return pa.OSFile(file, "rb")
    from fsspec.implementations.local import LocalFileSystem

    if isinstance(fs, LocalFileSystem):
        return pa.OSFile(file, "rb")
    return fs.open(file, "rb")


_open_input = open_input


def _read_one(
    fs: fsspec.AbstractFileSystem,
    file: str,
    shown: str,
    kind: str,
    columns: list[str] | None,
    encoded: list[str] | None,
) -> tuple[pa.Table, list[str]]:
    """One data file as a table, and the columns read as dictionaries (``encoded``; None: choose them from this file).

    Parquet is read by ``ParquetFile.read``: one chunk per row group, and neither the
    dataset layer nor pandas imported (``pq.read_table`` costs a one-off ``detect`` half a second more).
    """
    try:
        size = fs.size(file)
    except OSError as exc:
        raise InputError(shown, f"cannot stat file: {describe_os_error(exc)}") from None
    if not size:
        raise InputError(shown, "file is empty (0 bytes)")
    try:
        with _open_input(fs, file) as f:
            if kind == "parquet":
                parquet = pq.ParquetFile(f)
                names = parquet.schema_arrow.names
                absent = [c for c in columns or () if c not in names]
                if absent:
                    raise KeyError(", ".join(map(repr, absent)))
                if encoded is None:
                    encoded = dictionary_columns(parquet.metadata, parquet.schema_arrow)
                wanted = [c for c in encoded if columns is None or c in columns]
                if wanted:  # the footer already read is handed over, not parsed again
                    parquet = pq.ParquetFile(f, read_dictionary=wanted, metadata=parquet.metadata)
                table = parquet.read(columns=columns)
                if wanted:
                    metadata = {**(table.schema.metadata or {}), DICTIONARY_KEY: "\x1f".join(wanted).encode("utf-8")}
                    table = table.replace_schema_metadata(metadata)
            else:
                compression = "gzip" if file.endswith(".gz") else None
                stream: Any = pa.CompressedInputStream(f, compression) if compression else f
                # Unquoted empty fields are missing values; quoted "" stays an empty string.
                convert = pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False)
                read = pacsv.ReadOptions(block_size=CSV_READ_BLOCK_BYTES)
                table = pacsv.read_csv(stream, read_options=read, convert_options=convert)
                if columns is not None:
                    table = table.select(columns)
    except (pa.ArrowInvalid, pa.ArrowKeyError, KeyError) as exc:
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        if kind == "parquet" and ("magic bytes" in message or "footer" in message.lower()):
            problem = "not a complete Parquet file (truncated, still being written, or not Parquet)"
        elif "No match for FieldRef" in message or isinstance(exc, KeyError):
            problem = f"missing column: {message}"
        elif kind == "csv":
            problem = csv_problem(exc, CSV_READ_BLOCK_BYTES)
        else:
            problem = f"cannot parse as {kind}: {message}"
        raise InputError(shown, problem) from None
    except OSError as exc:
        raise InputError(shown, f"cannot read: {describe_os_error(exc)}") from None
    return table, encoded or []


def read_frame(uri: str | os.PathLike[str], fmt: Format = "auto", columns: list[str] | None = None) -> Any:
    """Read one batch into a pandas DataFrame (see :func:`read_table`)."""
    return read_table(uri, fmt, columns).to_pandas()


def write_table_atomic(table: pa.Table, uri: str, fmt: Format = "auto") -> None:
    """Write ``table`` to ``uri`` under a temporary hidden name, then rename it.

    A watcher never sees a partial file: the temporary name starts with ``.`` and
    ends with ``.tmp`` (both ignored), and the rename is atomic on local disks and
    HDFS.
    """
    fs, path = filesystem(uri)
    parent = posixpath.dirname(path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    tmp = posixpath.join(parent, f".{posixpath.basename(path)}.tmp")
    kind = guess_format(uri, fmt)
    with fs.open(tmp, "wb") as f:
        if kind == "parquet":
            pq.write_table(table, f)
        else:
            pacsv.write_csv(table, f)
    fs.mv(tmp, path)
