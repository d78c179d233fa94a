"""HTTP servers the sink tests talk to: a Jenkins that speaks the remote access API, and a webhook receiver.

No Jenkins can run here, so :class:`FakeJenkins` answers as Jenkins documents and
implements it (core ``ParameterizedJobMixIn``, ``ParametersDefinitionProperty``,
``CrumbFilter``, ``Queue``):

* every request is authenticated with Basic credentials; a wrong token is
  ``401 Invalid password/token for user``; no credentials is ``403 Authentication required``;
* ``POST /job/a/job/b/buildWithParameters``: ``404`` unknown job, ``403`` without
  Job/Build, ``409 ... is not buildable!`` when disabled, ``500`` with
  ``This build is not parameterized!`` for a job without parameters, else
  ``201 Created`` + ``Location: <root>/queue/item/N/`` (``303`` to the waiting item
  when the same parameters are already queued);
* with ``require_crumb``: a POST without the crumb of its web session is
  ``403 No valid crumb was included in the request``; ``GET /crumbIssuer/api/json``
  answers ``{crumb, crumbRequestField}`` and sets the session cookie; without it, 404;
* ``GET /queue/item/N/api/json``: ``why`` while waiting, then ``executable``
  {number, url} (or ``cancelled: true``); 404 once expired;
* ``GET /job/a/job/b/N/api/json``: ``building: true`` and ``result: null``, then the result.

Failures are scripted per test: ``script`` holds answers for the next trigger
requests (a status such as 503, or ``"slow"`` to answer after ``slow_seconds``).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Job:
    """A job: parameter names (None: not parameterized), and its state."""

    parameters: tuple[str, ...] | None = ("BATCH_URI", "BATCH_IDS", "DRIFT_REPORT", "MODEL_NAME", "REASON", "EVENT_ID")
    disabled: bool = False
    can_build: bool = True
    auth_token: str | None = None
    result: str = "SUCCESS"
    next_build: int = 1


@dataclass
class QueueItem:
    id: int
    job: str
    params: dict[str, str]
    polls_left: int
    cancelled: bool = False
    build: int | None = None


@dataclass
class Build:
    job: str
    number: int
    params: dict[str, str]
    polls_left: int
    held: bool = False
    result: str | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Base(BaseHTTPRequestHandler):
    owner: Any

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _record(self) -> Recorded:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        rec = Recorded(self.command, parts.path, parts.query, {k: v for k, v in self.headers.items()}, body)
        with self.owner.lock:
            self.owner.requests.append(rec)
        return rec

    def _answer(self, status: int, body: str | bytes = b"", headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        try:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def _json(self, data: Any, headers: dict[str, str] | None = None) -> None:
        self._answer(200, json.dumps(data), {"Content-Type": "application/json;charset=utf-8", **(headers or {})})

    def _error_page(self, status: int, message: str) -> None:
        # Jetty's error page, as Jenkins sends it.
        title = f"Error {status} {message}"
        page = f"<html><head><title>{title}</title></head><body><h2>HTTP ERROR {status} {message}</h2></body></html>"
        self._answer(status, page, {"Content-Type": "text/html;charset=utf-8"})


class _Served:
    """A test server on a free loopback port, served from a thread while in a ``with`` block."""

    def _serve(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self._handler_class = handler
        self._server = _Server(("127.0.0.1", port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def down(self) -> None:
        """An outage: stop listening, so connections to the port are refused (state is kept)."""
        self._port = self._server.server_address[1]
        self._server.shutdown()
        self._server.server_close()

    def up(self) -> None:
        """Back after :meth:`down`: listen on the same port again, with the same jobs, queue and builds."""
        self._serve(self._handler_class, self._port)
        self._thread.start()

    @property
    def address(self) -> str:
        """``http://host:port`` of the running server."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeJenkins(_Served):
    """A Jenkins on 127.0.0.1 (free port) for one test. Use as a context manager."""

    def __init__(
        self,
        user: str = "arlequin",
        token: str = "11e0b5c4f1f04a7f9b1fd3a5d2c07b9e61",
        require_crumb: bool = False,
        queue_polls: int = 1,
        build_polls: int = 1,
        context: str = "",
    ) -> None:
        self.user = user
        self.token = token
        self.require_crumb = require_crumb
        self.queue_polls = queue_polls
        self.build_polls = build_polls
        self.context = context.rstrip("/")
        self.jobs: dict[str, Job] = {"ml/retrain": Job()}
        self.script: list[int | str] = []
        self.slow_seconds = 1.0
        self.hold_builds = False
        #: Jenkins' configured root URL, used in executable.url (None: the address it is reached at).
        self.root_url: str | None = None
        self.expire_queue = False
        self.cancel_queue = False
        self.requests: list[Recorded] = []
        self.triggers: list[dict[str, str]] = []  # accepted buildWithParameters forms
        self.queue: dict[int, QueueItem] = {}
        self.builds: dict[tuple[str, int], Build] = {}
        self.crumbs: dict[str, str] = {}  # session id -> crumb
        self.lock = threading.Lock()
        self._next_item = 100
        self._serve(self._handler())

    # ------------------------------------------------------------------ control
    @property
    def root(self) -> str:
        return f"{self.address}{self.context}/"

    def finish(self, number: int, job: str = "ml/retrain", result: str = "SUCCESS") -> None:
        """Finish a held build with ``result``."""
        with self.lock:
            build = self.builds[(job, number)]
            build.held = False
            build.result = result

    def building(self) -> list[Build]:
        with self.lock:
            return [b for b in self.builds.values() if b.result is None]

    def trigger_posts(self) -> list[Recorded]:
        """Every POST to buildWithParameters, accepted or not."""
        with self.lock:
            return [r for r in self.requests if r.method == "POST" and r.path.endswith("/buildWithParameters")]

    # ------------------------------------------------------------------ protocol
    def _handler(self) -> type[_Base]:
        owner = self

        class Handler(_Base):
            pass

        Handler.owner = owner

        def do_get(handler: _Base) -> None:
            rec = handler._record()
            owner._get(handler, rec)

        def do_post(handler: _Base) -> None:
            rec = handler._record()
            owner._post(handler, rec)

        Handler.do_GET = do_get  # type: ignore[attr-defined]
        Handler.do_POST = do_post  # type: ignore[attr-defined]
        return Handler

    def _auth(self, h: _Base, rec: Recorded) -> bool:
        header = rec.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            h._answer(403, "Authentication required", {"X-You-Are-Authenticated-As": "anonymous"})
            return False
        user, _, token = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        if user != self.user or token != self.token:
            h._error_page(401, f"Invalid password/token for user: {user}")
            return False
        return True

    def _session(self, rec: Recorded) -> str | None:
        for part in rec.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name.startswith("JSESSIONID"):
                return value
        return None

    def _strip(self, path: str) -> str | None:
        if self.context:
            if not path.startswith(self.context + "/"):
                return None
            path = path[len(self.context) :]
        return path

    def _job_of(self, path: str, suffix_len: int) -> tuple[str | None, list[str]]:
        segments = [unquote(s) for s in path.strip("/").split("/")]
        head, tail = segments[: len(segments) - suffix_len], segments[len(segments) - suffix_len :]
        if len(head) < 2 or len(head) % 2 or any(head[i] != "job" for i in range(0, len(head), 2)):
            return None, tail
        return "/".join(head[1::2]), tail

    def _get(self, h: _Base, rec: Recorded) -> None:
        path = self._strip(rec.path)
        if path is None:
            h._error_page(404, "Not Found")
            return
        if not self._auth(h, rec):
            return
        if path == "/crumbIssuer/api/json":
            if not self.require_crumb:
                h._error_page(404, "Not Found")
                return
            session = secrets.token_hex(8)
            crumb = secrets.token_hex(16)
            with self.lock:
                self.crumbs[session] = crumb
            cookie = f"JSESSIONID.{secrets.token_hex(4)}={session}; Path=/; HttpOnly"
            h._json(
                {
                    "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                    "crumb": crumb,
                    "crumbRequestField": "Jenkins-Crumb",
                },
                {"Set-Cookie": cookie},
            )
            return
        if path.startswith("/queue/item/") and path.endswith("/api/json"):
            self._queue_item(h, int(path.split("/")[3]))
            return
        job, tail = self._job_of(path, 3)
        if job is not None and tail[1:] == ["api", "json"] and tail[0].isdigit():
            self._build(h, job, int(tail[0]))
            return
        h._error_page(404, "Not Found")

    def _queue_item(self, h: _Base, item_id: int) -> None:
        with self.lock:
            item = self.queue.get(item_id)
            if item is None or self.expire_queue:
                h._error_page(404, "Not Found")
                return
            base = {"id": item.id, "url": f"queue/item/{item.id}/", "task": {"name": item.job.split("/")[-1]}}
            if item.cancelled or (self.cancel_queue and item.build is None):
                item.cancelled = True
                h._json({"_class": "hudson.model.Queue$LeftItem", **base, "cancelled": True, "executable": None})
                return
            if item.build is None and item.polls_left > 0:
                item.polls_left -= 1
                h._json({"_class": "hudson.model.Queue$WaitingItem", **base, "why": "In the quiet period."})
                return
            if item.build is None:
                job = self.jobs[item.job]
                item.build = job.next_build
                job.next_build += 1
                self.builds[(item.job, item.build)] = Build(
                    item.job, item.build, item.params, self.build_polls, held=self.hold_builds
                )
            root = self.root_url or self.root
            build_url = f"{root}{''.join(f'job/{n}/' for n in item.job.split('/'))}{item.build}/"
            h._json(
                {
                    "_class": "hudson.model.Queue$LeftItem",
                    **base,
                    "cancelled": False,
                    "executable": {
                        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                        "number": item.build,
                        "url": build_url,
                    },
                }
            )

    def _build(self, h: _Base, job: str, number: int) -> None:
        with self.lock:
            build = self.builds.get((job, number))
            if build is None:
                h._error_page(404, "Not Found")
                return
            if build.result is None and not build.held:
                build.polls_left -= 1
                if build.polls_left < 0:
                    build.result = self.jobs[job].result
            done = build.result is not None
            h._json({"number": number, "building": not done, "result": build.result, "duration": 1000 if done else 0})

    def _post(self, h: _Base, rec: Recorded) -> None:
        path = self._strip(rec.path)
        if path is None:
            h._error_page(404, "Not Found")
            return
        if not self._auth(h, rec):
            return
        if self.require_crumb:
            session = self._session(rec)
            if session is None or self.crumbs.get(session) != rec.headers.get("Jenkins-Crumb"):
                h._error_page(403, "No valid crumb was included in the request")
                return
        job_name, tail = self._job_of(path, 1)
        if tail != ["buildWithParameters"] or job_name not in self.jobs:
            h._error_page(404, "Not Found")
            return
        with self.lock:
            answer = self.script.pop(0) if self.script else None
        if answer == "slow":
            time.sleep(self.slow_seconds)
        elif isinstance(answer, int):
            h._error_page(
                answer, {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(answer, "Error")
            )
            return
        job = self.jobs[job_name]
        form = dict(parse_qsl(rec.body.decode("utf-8")))
        form.update(parse_qsl(rec.query))
        if job.auth_token is not None and form.get("token") != job.auth_token:
            h._error_page(403, f"{self.user} is missing the Job/Build permission")
            return
        if not job.can_build:
            h._error_page(403, f"{self.user} is missing the Job/Build permission")
            return
        if job.disabled:
            h._error_page(409, f"java.io.IOException: {job_name} is not buildable!")
            return
        if job.parameters is None:
            h._error_page(500, "java.lang.IllegalStateException: This build is not parameterized!")
            return
        params = {k: v for k, v in form.items() if k in job.parameters}
        with self.lock:
            for item in self.queue.values():
                if item.job == job_name and item.params == params and item.build is None and not item.cancelled:
                    h._answer(303, b"", {"Location": f"{self.root}queue/item/{item.id}/"})
                    return
            item_id = self._next_item
            self._next_item += 1
            self.queue[item_id] = QueueItem(item_id, job_name, params, self.queue_polls)
            self.triggers.append(params)
        h._answer(201, b"", {"Location": f"{self.root}queue/item/{item_id}/"})


@dataclass
class WebhookReceiver(_Served):
    """A webhook endpoint on 127.0.0.1 recording what it gets; ``script`` holds statuses to answer first."""

    script: list[int] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self
        self.lock = threading.Lock()

        class Handler(_Base):
            def do_POST(self) -> None:
                self._record()
                with owner.lock:
                    status = owner.script.pop(0) if owner.script else 204
                self._answer(status, b"" if status == 204 else f"status {status}")

        Handler.owner = self
        self._serve(Handler)

    @property
    def url(self) -> str:
        return f"{self.address}/hooks/arlequin"
