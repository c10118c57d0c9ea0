"""The per-shop token bucket: in process, and in Redis shared by every process."""

import os
import time
import uuid

import pytest

from channels.ratelimit import LocalBucket, RedisBucket, acquire


def test_local_bucket_gives_the_burst_then_paces():
    bucket = LocalBucket()
    assert [bucket.take("k", rate=10, burst=3) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = bucket.take("k", rate=10, burst=3)
    assert 0.05 < wait <= 0.1
    assert bucket.take("other-shop", rate=10, burst=3) == 0.0  # buckets are per key


def test_acquire_waits_for_the_rate(settings):
    settings.CELERY_BROKER_URL = "filesystem://"
    key = f"test:{uuid.uuid4()}"
    start = time.monotonic()
    for _ in range(25):
        acquire(key, rate=50, burst=5)
    # 5 at once, then 20 at 50/s ≈ 0.4 s
    assert 0.3 < time.monotonic() - start < 2.0


@pytest.mark.redis
def test_redis_bucket_is_shared_between_clients():
    url = os.environ["CELERY_BROKER_URL"]
    a, b = RedisBucket(url), RedisBucket(url)  # two processes' clients
    key = f"kizuna:test:ratelimit:{uuid.uuid4()}"
    takes = [(a if i % 2 else b).take(key, rate=1, burst=4) for i in range(6)]
    assert takes[:4] == [0.0, 0.0, 0.0, 0.0]
    assert all(w > 0.5 for w in takes[4:])  # the fifth and sixth wait, whichever client asks
    a.client.delete(key)
