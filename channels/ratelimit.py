"""A token bucket per shop and channel, shared by every sending process when Redis is there.

LINE's rate limits are per channel (per shop) and answer 429 above them; LINE recommends one shared
limiter for all senders of a channel. With a Redis broker (CELERY_BROKER_URL=redis://…) the bucket
lives in Redis (one Lua script call per message: atomic refill-and-take, clocked by Redis' TIME so
the processes need no common clock). Without Redis (the embedded setup: filesystem broker) each
process has its own bucket, so N processes may send up to N × the rate; with the outbox backends of
that setup nothing external is rate limited anyway.
"""

from __future__ import annotations

import threading
import time

import redis
from django.conf import settings

_TAKE = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', key, 60)
return tostring(wait)
"""


class LocalBucket:
    """In-process token bucket (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, rate: float, burst: float) -> float:
        with self.lock:
            now = time.monotonic()
            tokens, ts = self.state.get(key, (burst, now))
            tokens = min(burst, tokens + (now - ts) * rate)
            if tokens >= 1:
                self.state[key] = (tokens - 1, now)
                return 0.0
            self.state[key] = (tokens, now)
            return (1 - tokens) / rate


class RedisBucket:
    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.script = self.client.register_script(_TAKE)

    def take(self, key: str, rate: float, burst: float) -> float:
        return float(self.script(keys=[key], args=[rate, burst]))


_buckets: dict[str, LocalBucket | RedisBucket] = {}
_lock = threading.Lock()


def _bucket() -> LocalBucket | RedisBucket:
    url = getattr(settings, "CHANNELS_RATE_LIMIT_REDIS_URL", "") or settings.CELERY_BROKER_URL
    with _lock:
        if url not in _buckets:
            _buckets[url] = RedisBucket(url) if url.startswith(("redis://", "rediss://")) else LocalBucket()
        return _buckets[url]


def acquire(key: str, rate: float, *, burst: float | None = None, max_wait: float = 30.0) -> float:
    """Block until the bucket `key` gives a token; returns the seconds waited.

    A Redis outage must not stop sending: the limiter then falls back to a per-process bucket (LINE
    still answers 429 above its limit, which the sender retries).
    """
    burst = burst if burst is not None else max(1.0, rate)
    waited = 0.0
    while True:
        try:
            wait = _bucket().take(key, rate, burst)
        except redis.RedisError:
            wait = _fallback.take(key, rate, burst)
        if wait <= 0 or waited >= max_wait:
            return waited
        time.sleep(wait)
        waited += wait


_fallback = LocalBucket()
