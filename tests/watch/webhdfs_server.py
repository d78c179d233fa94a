"""A WebHDFS endpoint for tests: a local directory served as the REST API documents it.

No Hadoop can run here, so the ``poll`` source's HDFS path is tested against this
server, which answers the operations a read-only client uses the way the WebHDFS REST
API (hadoop-hdfs ``WebHDFS.md``) specifies:

* ``GET /webhdfs/v1/<path>?op=GETFILESTATUS`` -> ``{"FileStatus": {...}}``
* ``GET /webhdfs/v1/<path>?op=LISTSTATUS`` -> ``{"FileStatuses": {"FileStatus": [...]}}``
  (a file lists itself, with an empty ``pathSuffix``)
* ``GET /webhdfs/v1/<path>?op=OPEN[&offset=N][&length=N]`` -> the name node answers
  ``307 Temporary Redirect`` with a ``Location`` on a data node, which streams the bytes
  as ``application/octet-stream``; this server plays both roles.
* errors: ``404`` with ``{"RemoteException": {"exception": "FileNotFoundException",
  "javaClassName": "java.io.FileNotFoundException", "message": ...}}``, ``400`` with
  ``IllegalArgumentException`` for an unsupported operation.

``modificationTime`` and ``accessTime`` are milliseconds since the epoch, ``type`` is
``FILE`` or ``DIRECTORY``, as in HDFS.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

PREFIX = "/webhdfs/v1"


def _status(path: Path, suffix: str) -> dict[str, Any]:
    st = path.stat()
    is_dir = path.is_dir()
    return {
        "accessTime": 0 if is_dir else int(st.st_atime * 1000),
        "blockSize": 0 if is_dir else 134217728,
        "childrenNum": len(list(path.iterdir())) if is_dir else 0,
        "fileId": st.st_ino,
        "group": "supergroup",
        "length": 0 if is_dir else st.st_size,
        "modificationTime": int(st.st_mtime * 1000),
        "owner": "hdfs",
        "pathSuffix": suffix,
        "permission": "755" if is_dir else "644",
        "replication": 0 if is_dir else 3,
        "storagePolicy": 0,
        "type": "DIRECTORY" if is_dir else "FILE",
    }


class WebHDFSServer:
    """Serve ``root`` over WebHDFS on 127.0.0.1 (a free port) from a background thread.

    :ivar requests: ``(op, hdfs path, role)`` of every request, role ``namenode`` or ``datanode``.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def uri(self) -> str:
        """The ``webhdfs://`` URI of the served root."""
        return f"webhdfs://127.0.0.1:{self.port}"

    def __enter__(self) -> WebHDFSServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Shut the server down (a name node going away)."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def _send_json(self, handler: BaseHTTPRequestHandler, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, handler: BaseHTTPRequestHandler, code: int, exception: str, message: str) -> None:
        java = {"FileNotFoundException": "java.io.", "IllegalArgumentException": "java.lang."}[exception]
        body = {"RemoteException": {"exception": exception, "javaClassName": java + exception, "message": message}}
        self._send_json(handler, code, body)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        op = params.get("op", "").upper()
        hdfs_path = unquote(url.path[len(PREFIX) :]) or "/"
        role = "datanode" if "namenoderpcaddress" in params else "namenode"
        self.requests.append((op, hdfs_path, role))
        if not url.path.startswith(PREFIX):
            self._error(handler, 404, "FileNotFoundException", f"no such endpoint {url.path}")
            return
        local = self.root / hdfs_path.lstrip("/")
        if not local.exists():
            self._error(handler, 404, "FileNotFoundException", f"File does not exist: {hdfs_path}")
            return
        if op == "GETFILESTATUS":
            self._send_json(handler, 200, {"FileStatus": _status(local, "")})
        elif op == "LISTSTATUS":
            entries = [_status(p, p.name) for p in sorted(local.iterdir())] if local.is_dir() else [_status(local, "")]
            self._send_json(handler, 200, {"FileStatuses": {"FileStatus": entries}})
        elif op == "OPEN" and role == "namenode":
            query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
            handler.send_response(307)
            location = f"http://127.0.0.1:{self.port}{PREFIX}{quote(hdfs_path)}?{query}&namenoderpcaddress=nn:8020"
            handler.send_header("Location", location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        elif op == "OPEN":
            data = local.read_bytes()
            offset = int(params.get("offset", 0))
            length = int(params["length"]) if "length" in params else len(data) - offset
            chunk = data[offset : offset + length]
            handler.send_response(200)
            handler.send_header("Content-Type", "application/octet-stream")
            handler.send_header("Content-Length", str(len(chunk)))
            handler.end_headers()
            handler.wfile.write(chunk)
        else:
            self._error(handler, 400, "IllegalArgumentException", f'Invalid value for webhdfs parameter "op": {op}')
