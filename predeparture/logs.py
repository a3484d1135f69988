"""Logs: coloured lines at a terminal, JSON lines for a collector, and in both a filter that keeps personal data out.

The code logs opaque ids only. The filter is the safety net under that rule for what the code does not write
itself: arguments that are objects (a case, a row, a pydantic model, the parameters of a statement a library logs
at DEBUG) are replaced by their type's name, and exceptions keep their type and frames but not their message, which
can quote an input (pydantic's errors do, with `input_value=`)."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import PurePath
from typing import IO, Any
from uuid import UUID

from opentelemetry import trace

from predeparture.settings import LogFormat

# Values that are safe to print: identifiers, counts, durations, states. A `date` is not among them: a date of
# birth is one.
SCALARS = (str, int, float, bool, type(None), UUID, timedelta, Enum, PurePath)
# Attributes of a record that a JSON line carries besides its message: opaque ids only.
OPAQUE_IDS = ("case_id", "person_id", "movement_id", "organisation_id", "reference", "workflow_id", "run_id",
              "workflow_type", "activity_type", "activity_id", "attempt", "task_queue", "namespace")
# What the Temporal SDK puts on the records of `temporalio.workflow` and `temporalio.activity` loggers.
TEMPORAL_EXTRAS = ("temporal_workflow", "temporal_activity")
TEMPORAL_NAMES = {"workflow_run_id": "run_id", "run_id": "run_id"}
DEPARTURE_PREFIX = "departure-"  # domain.departure.departure_workflow_id: departure-<case id>


class WithoutPersonalData(logging.Filter):
    """On a handler: what it emits carries no object's contents and no exception message. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = _message(record)
            record.args = ()
        if record.exc_info:
            error = record.exc_info[1]
            record.exc_text = traceback_without_messages(error) if error is not None else None
            record.exc_info = None
        return True


def _message(record: logging.LogRecord) -> str:
    args = record.args
    safe: dict[Any, Any] | tuple[Any, ...]
    if isinstance(args, Mapping):
        safe = {key: _safe(value) for key, value in args.items()}
    else:
        safe = tuple(_safe(value) for value in args or ())
    try:
        return str(record.msg) % safe
    except (TypeError, ValueError, KeyError):  # a %d given an object: keep the template, never the value
        return f"{record.msg} [arguments withheld]"


def _safe(value: Any) -> Any:
    return value if isinstance(value, SCALARS) else f"<{type(value).__name__}>"


CAUSE = "The above exception was the direct cause of the following exception:"
CONTEXT = "During handling of the above exception, another exception occurred:"


def traceback_without_messages(error: BaseException) -> str:
    """The traceback as Python prints it, chained exceptions included, each exception named by its type only."""
    sections: list[str] = []
    current: BaseException | None = error
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        frames = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        sections.append(f"Traceback (most recent call last):\n{frames}{kind.__module__}.{kind.__qualname__} "
                        "(message withheld)")
        if current.__cause__ is not None:
            sections.append(CAUSE)
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            sections.append(CONTEXT)
            current = current.__context__
        else:
            current = None
    return "\n\n".join(reversed(sections))


class JsonLines(logging.Formatter):
    """One object per record: time, level, logger, message, the opaque ids the record carries, and the trace and
    span ids when tracing is on, so a log line leads to its trace."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(opaque_ids(record))
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"], entry["span_id"] = f"{span.trace_id:032x}", f"{span.span_id:016x}"
        if record.exc_info and record.exc_info[1] is not None:  # a handler without the filter
            entry["exception"] = traceback_without_messages(record.exc_info[1])
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def opaque_ids(record: logging.LogRecord) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for extra in TEMPORAL_EXTRAS:
        details = getattr(record, extra, None)
        if isinstance(details, Mapping):
            for key, value in details.items():
                name = TEMPORAL_NAMES.get(key, key)
                if name in OPAQUE_IDS and isinstance(value, SCALARS):
                    found[name] = value
    for name in OPAQUE_IDS:
        value = getattr(record, name, None)
        if value is not None and isinstance(value, SCALARS):
            found[name] = value
    workflow_id = found.get("workflow_id")
    if "case_id" not in found and isinstance(workflow_id, str) and workflow_id.startswith(DEPARTURE_PREFIX):
        found["case_id"] = workflow_id.removeprefix(DEPARTURE_PREFIX)
    return found


def json_handler(stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    handler.addFilter(WithoutPersonalData())
    return handler


def console_handler(console: Any = None) -> logging.Handler:
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=console or Console(stderr=True), show_path=False, tracebacks_show_locals=False)
    handler.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
    handler.addFilter(WithoutPersonalData())
    return handler


def configure_logging(log_format: LogFormat, level: int = logging.INFO, activity_failures: bool = True,
                      console: Any = None) -> None:
    """Everything at WARNING and above, this system's own loggers from `level`. `activity_failures=False` for the
    demo stacks: there a partner's transient failures and sold-out dates are part of the show, and the SDK would
    print a traceback for each one."""
    handler = json_handler() if log_format is LogFormat.JSON else console_handler(console)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    logging.captureWarnings(True)  # Python's warnings too, so that stderr holds nothing but records of this format
    logging.getLogger("predeparture").setLevel(level)
    if not activity_failures:
        logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
