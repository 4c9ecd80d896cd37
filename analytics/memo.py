"""Intermediate results that depend only on the store's state, kept in small in-process LRUs.

Several dashboard sessions share one process, and one page runs several exports over the same
intermediate frame (the bottlenecks page: seven exports over one period's measured events), so such a
frame is computed once per store state and reused. The store's state is its URL, its last loaded
batch and the base tables' write mark (etl.marks: it catches writes that bypass the ETL, tests, manual fixes). pandas' copy-on-write keeps the cached frames safe from the callers' changes.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

from sqlalchemy.engine import Connection

from etl.marts import written
from etl.store import data_version

T = TypeVar("T")
_ALL: list["StoreMemo"] = []


def store_state(conn: Connection) -> tuple:
    """(store, data version, *base-table writes): what a cached result of this store depends on. The data version
    names the newest loaded batch and the undone ones (etl.store.data_version); the writes are the database's
    write mark (etl.marts.written), which also moves on writes that bypass the ETL."""
    url = conn.engine.url
    store = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        store = (store, id(conn.engine))          # every in-memory store is a different store
    return (store, data_version(conn), *written(conn))


class StoreMemo:
    """A thread-safe LRU of `size` results; concurrent callers asking for the same key wait for one
    computation instead of each running it."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict = {}
        _ALL.append(self)

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            try:
                value = compute()
                self._keep(key, value)
            finally:
                with self._lock:
                    self._pending.pop(key, None)
        return value

    def peek(self, key: Hashable):
        """The kept result of `key` (now the most recent), or None: no computation."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def _keep(self, key: Hashable, value) -> None:
        """Store `value` as the most recent entry, dropping the least recently used beyond `size`."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class ColumnMemo(StoreMemo):
    """A thread-safe LRU of `size` frames that gain columns: `get(key, columns, read)` returns a frame holding at
    least `columns`. A frame already holding them is returned as it is; otherwise only the missing columns are
    read (`read(names)`, which must return the same rows in the same order every time) and joined on, so exports
    reading different columns of one period read each column once."""

    def _held(self, key: Hashable):
        held = self._items.get(key)
        if held is not None:
            self._items.move_to_end(key)
        return held

    def get(self, key: Hashable, columns, read: Callable[[list[str]], T], still: Callable[[], bool]) -> T:
        """`still()` says whether the store is still in the key's state after a read of missing columns (a cheap
        check: a load or an undo between the two reads); when it is not, the rows may differ, so the frame is read
        whole again and returned without being kept. Other rows than held are read whole too."""
        columns = list(columns)
        with self._lock:
            held = self._held(key)
            if held is not None and set(columns) <= set(held.columns):
                return held
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:
            try:
                with self._lock:
                    held = self._held(key)
                if held is not None and set(columns) <= set(held.columns):
                    return held
                have = [] if held is None else list(held.columns)
                missing = [c for c in columns if c not in have]
                new = read(missing)
                if not still():
                    return read(have + missing)
                if held is None:
                    frame = new
                else:
                    frame = held.join(new) if len(new) == len(held) else read(have + missing)
                self._keep(key, frame)
                return frame
            finally:
                with self._lock:
                    self._pending.pop(key, None)


def clear_all() -> None:
    """Empty every StoreMemo of the process (benchmarks of the cold path, tests)."""
    for memo in _ALL:
        memo.clear()
