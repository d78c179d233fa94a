"""The console form of the log: one short line for each thing a person watching wants to know.

JSON lines (:mod:`arlequin_core.logs`) carry every field for machines; on a terminal
the same records are rendered here instead:

* a verdict is one line per batch: the file, ``DRIFT`` or ``no drift``, the drift
  share, the drifted columns (once) and the HTML report's path;
* a retrain is one line per step: started, trained, validated, promoted or rejected
  (the metrics once, on the trained line);
* the daemon's heartbeat (``[watch] heartbeat``) says what it watches and when the
  last batch came;
* records that repeat what an event line says already (the monitor's own
  ``batch_rejected``, the flow's ``model_registered``, a sink's ``sink_delivered``)
  are dropped, and ``data-arrived`` shows only with ``--verbose``;
* everything else goes through structlog's :class:`~structlog.dev.ConsoleRenderer`
  (levels, colors, tracebacks) with each value clipped, so that no line is longer
  than :data:`MAX_LINE` characters.

Colors only when the stream is a terminal and ``NO_COLOR`` is unset (https://no-color.org).
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from arlequin_core.text import terminal_safe

#: The longest line the console format prints (tracebacks excepted), in characters.
MAX_LINE = 200
#: The events logger of the ``log`` plugin (one record per bus event).
EVENTS_LOGGER = "arlequin.events"
#: Records that say again what an event line says (dropped on the console; JSON keeps them).
_REPEATS = {"batch_rejected", "model_registered", "sink_delivered", "source_started", "sink_event_recorded"}
_QUIET_EVENTS = {"data-arrived", "drift-detected"}

_RESET, _BOLD, _DIM = "\x1b[0m", "\x1b[1m", "\x1b[2m"
_RED, _GREEN, _YELLOW, _CYAN = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m"


def use_colors(stream: Any) -> bool:
    """ANSI colors on ``stream``: only a terminal, and never with ``NO_COLOR`` set."""
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty()) and not os.environ.get("NO_COLOR")


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def report_html(report_uri: str | None) -> str | None:
    """The HTML report next to a JSON report (the one a person opens)."""
    if not report_uri:
        return None
    return report_uri[: -len(".json")] + ".html" if report_uri.endswith(".json") else report_uri


def _name(uri: str | None) -> str:
    return terminal_safe(Path(str(uri or "")).name or str(uri or "?"))


def _clock(timestamp: Any) -> str:
    """``HH:MM:SS`` in local time from the ISO UTC timestamp the log carries."""
    try:
        return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return datetime.now().strftime("%H:%M:%S")


def _share(value: Any) -> str:
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return "?"


def _metrics(metrics: Any, keep: int = 3) -> str:
    if not isinstance(metrics, dict):
        return ""
    shown = [f"{k} {v:.3f}" for k, v in list(metrics.items())[:keep] if isinstance(v, (int, float))]
    return ", ".join(shown)


def _columns(columns: Any, width: int = 80) -> str:
    names = [terminal_safe(str(c)) for c in (columns or ())]
    if not names:
        return ""
    text = ", ".join(names)
    if len(text) <= width:
        return text
    kept: list[str] = []
    for name in names:
        if len(", ".join([*kept, name])) > width - 12:
            break
        kept.append(name)
    return f"{', '.join(kept)} (+{len(names) - len(kept)} more)"


class ConsoleLines:
    """A structlog renderer: the summaries above, or the generic ConsoleRenderer, clipped.

    :param colors: emit ANSI colors (see :func:`use_colors`).
    :param verbose: also show ``data-arrived`` and the records :data:`_REPEATS` lists.
    :param width: the longest line, in visible characters.
    """

    def __init__(self, colors: bool = False, verbose: bool = False, width: int = MAX_LINE) -> None:
        self.colors = colors
        self.verbose = verbose
        self.width = width
        import structlog  # not at import: `use_colors` serves commands that never log

        self._generic = structlog.dev.ConsoleRenderer(colors=colors, pad_event_to=0, sort_keys=False)
        self._drop = structlog.DropEvent

    def _c(self, style: str, text: str) -> str:
        return f"{style}{text}{_RESET}" if self.colors else text

    def __call__(self, logger: Any, method: str, event_dict: dict[str, Any]) -> str:
        event = str(event_dict.get("event", ""))
        summary = self.summary(event, event_dict)
        if summary is None or not summary[0]:
            if not self.verbose and (summary is not None or event in _REPEATS or event in _QUIET_EVENTS):
                raise self._drop
            return self._fallback(logger, method, event_dict)
        text, style = summary
        clock = self._c(_DIM, _clock(event_dict.get("timestamp")))
        return f"{clock} {self._styled(clip(text, self.width - 9), style)}"

    def _styled(self, text: str, style: str | None) -> str:
        if not self.colors or style is None:
            return text
        head, sep, rest = text.partition("  ")
        return f"{style}{head}{_RESET}{sep}{rest}"

    # ------------------------------------------------------------------ summaries
    def summary(self, event: str, d: dict[str, Any]) -> tuple[str, str | None] | None:
        """``(line, style of its first words)`` for a record with a readable form, else None.

        An empty line means: nothing to add to what another line said (dropped unless verbose).
        """
        if d.get("logger_name") == EVENTS_LOGGER:
            return self._event(event, d)
        if event == "heartbeat":
            return self._heartbeat(d), _DIM
        if event == "sink_started":
            return f"sink {d.get('sink')} on", _CYAN
        if event == "watching":
            return f"watching  {terminal_safe(str(d.get('source', '')))}", _CYAN
        if event == "watcher_started":
            return f"watcher started  pid {d.get('pid')}, home {d.get('home')}; Ctrl-C stops it", _CYAN
        if event == "retrain_started":
            batches = d.get("batch_ids") or ()
            on = f"{len(batches)} batch(es)" if batches else f"{len(d.get('data_uris') or ())} file(s)"
            cause = f" for drift in {d['cause_batch']}" if d.get("cause_batch") else ""
            return f"retrain started  training on {on}{cause}", _CYAN
        if event == "model_trained":
            rows = d.get("rows") if isinstance(d.get("rows"), dict) else {}
            return (
                f"retrain trained  {rows.get('train', '?'):,} rows in {d.get('seconds', 0):.0f} s; "
                f"held-out ({rows.get('heldout', '?'):,} rows): {_metrics(d.get('metrics'))}",
                _CYAN,
            )
        if event == "model_validated":
            return self._validated(d), _CYAN
        return None

    def _event(self, event: str, d: dict[str, Any]) -> tuple[str, str | None] | None:
        if event == "batch-checked":
            drifted = bool(d.get("drifted"))
            verdict = "DRIFT" if drifted else "no drift"
            names = d.get("drifted_columns") or ()
            parts = [f"{_name(d.get('uri'))}: {verdict}", f"drift share {_share(d.get('drift_share'))}"]
            if names:
                parts[-1] += f" ({len(names)} column{'s' if len(names) > 1 else ''}: {_columns(names)})"
            if d.get("quality"):
                parts.append(f"quality: {len(d['quality'])} finding(s)")
            if d.get("performance_dropped"):
                parts.append("estimated performance dropped")
            html = report_html(d.get("report_uri"))
            line = "  ".join(parts)
            if html:
                room = self.width - 9 - len(line) - len("  report: ")
                line += f"  report: {html if len(html) <= room else '…' + html[-max(room - 1, 20) :]}"
            return line, (_RED + _BOLD) if drifted else _GREEN
        if event == "batch-rejected":
            uri, name = str(d.get("uri", "")), _name(d.get("uri"))
            reason = str(d.get("reason", "")).splitlines()[0] if d.get("reason") else ""
            reason = terminal_safe(reason.replace(uri, name) if uri else reason)  # the line names the file
            head = f"{name}: REJECTED  "
            hint = f"; `arlequin retry {d.get('batch_id')}` checks it again"
            return head + clip(reason, self.width - 9 - len(head) - len(hint)) + hint, _YELLOW + _BOLD
        if event == "data-quality-failed":
            findings = "; ".join(terminal_safe(str(f)) for f in (d.get("findings") or ()))
            return f"{_name(d.get('uri'))}: quality  {findings}", _YELLOW
        if event == "model-registered":
            version = d.get("model_version")
            if d.get("promoted"):
                verdict = f"version {version} PROMOTED to champion"
                style = _GREEN + _BOLD
            else:
                verdict = f"version {version} NOT promoted"
                style = _YELLOW + _BOLD
            return f"retrain {verdict}  {terminal_safe(str(d.get('reason', '')))}", style
        if event == "sink-delivered":
            detail = d.get("detail") if isinstance(d.get("detail"), dict) else {}
            if "skipped" in detail:
                return f"retrain skipped  {terminal_safe(str(detail['skipped']))}", _YELLOW
            if "model_version" in detail:
                return "", None  # model-registered said it
            return f"sink {d.get('sink')} delivered  {terminal_safe(str(d.get('target', '')))}", _CYAN
        if event == "sink-failed":
            return f"sink {d.get('sink')} FAILED  {terminal_safe(str(d.get('error', '')))}", _RED + _BOLD
        if event == "build-finished":
            number = f" #{d['build_number']}" if d.get("build_number") is not None else ""
            return f"build{number} {d.get('result')}  {terminal_safe(str(d.get('build_url', '')))}", _CYAN
        if event == "plugin-failed":
            return f"plugin {d.get('plugin')} FAILED in {d.get('hook')}  {d.get('error')}", _RED + _BOLD
        return None

    def _validated(self, d: dict[str, Any]) -> str:
        metric = d.get("metric", "")
        challenger, champion = d.get("challenger"), d.get("champion")
        if champion is None:
            return f"retrain validated  {metric} {challenger:.3f}; no champion to compare with"
        verdict = "passed" if d.get("passed") else "failed"
        against = f"version {d.get('champion_version')}"
        return (
            f"retrain validated  {metric} {challenger:.3f} vs {champion:.3f} ({against}) on "
            f"{d.get('rows', '?')} held-out rows: {verdict}"
        )

    def _heartbeat(self, d: dict[str, Any]) -> str:
        watching = ", ".join(str(w) for w in (d.get("watching") or ())) or "nothing"
        batches = d.get("batches", 0)
        last = d.get("last_batch_at")
        last_text = _clock(last) if last else "none yet"
        extra = [f"{k}: {v}" for k, v in (d.get("sinks") or {}).items()]
        if d.get("in_flight"):
            extra.insert(0, f"{d['in_flight']} being checked")
        tail = f"; {'; '.join(extra)}" if extra else ""
        return f"watching {terminal_safe(watching)}: {batches} batches, last {last_text}{tail}"

    # ------------------------------------------------------------------ generic
    def _fallback(self, logger: Any, method: str, event_dict: dict[str, Any]) -> str:
        d = dict(event_dict)
        d.pop("logger_name", None)
        d["timestamp"] = _clock(d.get("timestamp"))
        budget = self.width - 24 - len(str(d.get("event", "")))
        for key in [k for k in d if k not in ("event", "level", "timestamp", "exc_info", "exception")]:
            value = d[key]
            text = value if isinstance(value, str) else repr(value)
            room = max(12, min(80, budget - len(key) - 2))
            d[key] = clip(terminal_safe(text), room)
            budget -= len(d[key]) + len(key) + 2
            if budget < 0:
                d[key] = "…"
        rendered = self._generic(logger, method, d)
        first, sep, rest = rendered.partition("\n")  # a traceback keeps its own lines
        return _clip_visible(first, self.width) + sep + rest


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _clip_visible(line: str, width: int) -> str:
    """Cut ``line`` to ``width`` visible characters (ANSI escape sequences take no room)."""
    if len(_ANSI.sub("", line)) <= width:
        return line
    out: list[str] = []
    visible = 0
    pos = 0
    for match in _ANSI.finditer(line):
        chunk = line[pos : match.start()]
        if visible + len(chunk) >= width:
            out.append(chunk[: width - 1 - visible])
            return "".join(out) + "…" + (_RESET if match else "")
        out.append(chunk + match.group())
        visible += len(chunk)
        pos = match.end()
    chunk = line[pos:]
    out.append(chunk[: max(0, width - 1 - visible)])
    return "".join(out) + "…" + (_RESET if "\x1b" in line else "")
