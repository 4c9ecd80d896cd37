"""The per-token rate limit: at most `limit` requests in any 60 seconds (a sliding window), counted in this
process (LANDDESK_API_RATE_LIMIT; docs/operations.md says what two processes mean)."""
from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateLimit:
    def __init__(self, limit: int, window: float = 60.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int:
        """Count one request of `key`: 0 when allowed, else the whole seconds until the next one is."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            return 0
