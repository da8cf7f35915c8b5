"""Secret values never reach a log: every value this process has handled is masked in log records.

Values are registered when they are set or revealed; the filter on the server's log handlers replaces any
occurrence, in the message and its arguments, with ``***``. Very short values (under 4 characters) are not
masked: masking ``"a"`` everywhere would destroy the logs while protecting nothing.
"""

from __future__ import annotations

import logging
import threading

MASK = "***"
MIN_LENGTH = 4


class Redactor:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def register(self, value: str) -> None:
        if len(value) >= MIN_LENGTH:
            with self._lock:
                self._values.add(value)

    def redact(self, text: str) -> str:
        # Longest first, so a value containing another is masked whole.
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._values)


REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if self._redactor:
            record.msg = self._redactor.redact(record.getMessage())
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self._redactor.redact(record.exc_text)
        return True
