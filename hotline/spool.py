"""The voice spool: an append-only local file of what callers did while the database was down.

Each line is one JSON record (a webhook's path, parameters and dedup key). Writers append
under an exclusive `flock` and fsync before the webhook answers, so a record is on disk
before the caller hears "your message is kept". The replayer claims the file by renaming it
(under the same lock) and replays the claimed copy; a writer that had the old file open notices
the rename and writes to a fresh file, so no record lands in a file already being replayed.
A claimed file is deleted only after every record in it is in the database; a crash in between
leaves it to the next replay, which is safe because every record replays idempotently.

The spool is per machine (the instance folder): each web node's spool is replayed by a
process on that node (`hotline spool replay`, or the clock process of `hotline run`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ACTIVE = "voice.jsonl"
CLAIMED_SUFFIX = ".replaying"


@dataclass(frozen=True)
class SpoolRecord:
    line: int
    data: Mapping[str, Any]


class Spool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / ACTIVE

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record durably (flock + O_APPEND + fsync); raises OSError if it can't."""
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for _ in range(5):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not self._is_current(fd):
                    continue  # claimed by the replayer while we waited: write to a fresh file
                os.write(fd, data)
                os.fsync(fd)
                return
            finally:
                os.close(fd)  # closing releases the lock
        raise OSError(f"spool {self.path}: could not append (the file kept being claimed)")

    def _is_current(self, fd: int) -> bool:
        try:
            return os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False

    def pending(self) -> bool:
        """Anything to replay: a non-empty active file or a claimed one left by a crash."""
        try:
            if self.path.stat().st_size > 0:
                return True
        except FileNotFoundError:
            pass
        return any(self.folder.glob(f"*{CLAIMED_SUFFIX}")) if self.folder.is_dir() else False

    def claim(self) -> list[Path]:
        """Rename the active file aside for replay; return every claimed file, oldest first."""
        if self.path.exists():
            fd = os.open(self.path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if self._is_current(fd) and os.fstat(fd).st_size > 0:
                    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
                    target = self.folder / f"voice-{stamp}-{os.getpid()}{CLAIMED_SUFFIX}"
                    os.rename(self.path, target)
            finally:
                os.close(fd)
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob(f"*{CLAIMED_SUFFIX}"), key=lambda p: p.stat().st_mtime)

    @staticmethod
    def read(path: Path) -> Iterator[SpoolRecord]:
        """The records of a claimed file. A line that is not JSON (a write cut by a crash) is
        logged and kept aside in `<file>.corrupt` for a person to look at, never dropped."""
        with path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                try:
                    data = json.loads(raw)
                    if not isinstance(data, dict):
                        raise ValueError("not an object")
                except ValueError as exc:
                    log.error("spool %s line %d unreadable (%s): kept aside", path, number, exc)
                    with path.with_suffix(path.suffix + ".corrupt").open("ab") as bad:
                        bad.write(raw)
                    continue
                yield SpoolRecord(number, data)

    @staticmethod
    def done(path: Path) -> None:
        path.unlink(missing_ok=True)
