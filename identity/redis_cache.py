"""Django's Redis cache, with one redis-py client per connection pool instead of one per call,
and reads sent on a connection each thread keeps.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` around the pooled connections
for every cache operation; with redis-py 5 and later that object costs about as much CPU as the
round trip itself (measured: 65 µs to build, 51 µs for a GET, in one process). The settings use
this backend for `redis://` cache URLs. Clients are thread-safe and hold no connection of their
own (the pool does, and redis-py re-creates a pool's connections in a forked child), so one per
pool serves every thread of the process.

Every token request makes one read (an `MGET`), and on that path redis-py's command machinery
costs more than the round trip: taking a connection from the pool (a lock and a poll of the
socket), the client's retry wrapper and response callbacks. `get` and `get_many` therefore send
their command on a connection of the thread's own, made with the pool's settings (address,
database, credentials, TLS, timeouts), read the reply with the same parser, and retry once on a
fresh connection when the kept one was closed (Redis's `timeout`, a restart). Writes stay on the
pool. Measured in one process, `get_many` of 6 keys: 175 µs of CPU through Django's backend, 51 µs
through this one (the client kept, no key checks, these reads).

Those connections speak RESP3 with Redis's server-assisted client-side caching on (`CLIENT
TRACKING`): Redis remembers which keys each one read and pushes an invalidation on it when one of
them changes (by any client), expires or is evicted. The small values read (the stamps, failure
counters and configuration generation a token request reads) are kept by the thread beside its
connection and answered from there until an invalidation arrives, so that a token request makes
no round trip in the steady state. Before answering, the invalidations received are applied (a
poll of the socket: 1.5 µs). `set`, `set_many`, `delete`, `delete_many`, `touch` and `clear`
return only once Redis has sent their invalidations to every reader (a PING after the write), so
the change is on its way to every node before anything that follows from it (the admin's "saved",
a revocation's answer) leaves. On its way, not there: the network does not order the
invalidation with that answer, and a node can take a request before the invalidation arrives. A
closed connection drops everything its thread kept, writes made through this backend drop their
keys in their own thread at once, and a kept value is read again after `local_copy_seconds`
(an option, default `LOCAL_COPY_SECONDS`), which bounds both that window and how late an expiry
is seen (Redis invalidates an expired key when it deletes it, which may be later than the expiry
itself). With `local_copy_seconds` 0 nothing is kept and nothing tracked: every read is a round
trip on the thread's connection, and a change holds at every node's next request, whatever the
network does with the invalidations.
"""

from __future__ import annotations

import math
import os
import pickle
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient, RedisSerializer
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError

LOCAL_COPY_SECONDS: Final = 1.0  # how long a value may be answered locally before a new read
LOCAL_COPY_SECONDS_MAX: Final = 60.0  # beyond, a missed invalidation would be served for long
LOCAL_COPY_MAX_BYTES: Final = 256  # larger values (clients, resources) are memoized elsewhere
LOCAL_COPY_LIMIT: Final = 10_000  # values a thread keeps; beyond, it starts again empty


def local_copy_lifetime(value: Any) -> float:
    """Check the `local_copy_seconds` option (a number of seconds, or its text in a cache URL)."""
    if value is None:
        return LOCAL_COPY_SECONDS
    try:
        seconds = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 <= seconds <= LOCAL_COPY_SECONDS_MAX:  # NaN fails too
        raise ImproperlyConfigured(
            f"the Redis cache option local_copy_seconds must be a number of seconds from 0 "
            f"(no local copies: every read asks Redis) to {LOCAL_COPY_SECONDS_MAX:g}; "
            f"got {value!r}")
    return seconds


class ReusingRedisCacheClient(RedisCacheClient):
    """`RedisCacheClient` keeping the `redis.Redis` it builds for each connection pool."""

    def __init__(self, *args: Any, local_copy_seconds: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._copy_seconds = local_copy_lifetime(local_copy_seconds)
        self._clients: dict[int, Any] = {}
        self._kept = _KeptConnections(tracking=self._copy_seconds > 0)
        django: Any = self
        serializer = django._serializer
        # Django's serializer tries int() first and unpickles on the ValueError; a pickle of
        # protocol 2 or later always starts with its PROTO opcode, so such a value can go
        # straight to pickle.
        self._unpickle_directly = (type(serializer) is RedisSerializer
                                   and getattr(serializer, "protocol", 0) >= 2)
        self._serializer_loads = serializer.loads

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        """Return the client of the pool Django picks for this call, building it once."""
        django: Any = self  # Django's private attributes, which its type stubs do not declare
        index: int = django._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = django._client(connection_pool=self._pool_at(index))
        return client

    def get(self, key: Any, default: Any) -> Any:
        """`GET`, answered from this thread's tracked copy while Redis has not invalidated it."""
        (value,) = self._read_many([key])
        return default if value is None else self._loads(value)

    def get_many(self, keys: Any) -> dict[Any, Any]:
        """`MGET`, answered from this thread's tracked copies while Redis has not changed them."""
        keys = list(keys)
        if not keys:
            return {}
        values = self._read_many(keys)
        return {key: self._loads(value)
                for key, value in zip(keys, values, strict=True) if value is not None}

    # Writes go through Django's client on the pool. The keys they change are dropped from this
    # thread's copies at once; other threads and processes drop theirs on Redis's invalidation.
    def add(self, key: Any, value: Any, timeout: Any) -> Any:
        """`SET NX` (replay markers, once-per-interval marks: no barrier)."""
        with self._changing([key], barrier=False):
            return super().add(key, value, timeout)

    def incr(self, key: Any, delta: Any) -> Any:
        """`INCRBY` (failure counters, which may be seen a few microseconds late: no barrier)."""
        with self._changing([key], barrier=False):
            return super().incr(key, delta)

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        """`SET`, then the invalidation barrier."""
        with self._changing([key]):
            super().set(key, value, timeout)

    def touch(self, key: Any, timeout: Any) -> Any:
        """`EXPIRE` or `PERSIST`, then the invalidation barrier."""
        with self._changing([key]):
            return super().touch(key, timeout)

    def delete(self, key: Any) -> Any:
        """`DEL`, then the invalidation barrier."""
        with self._changing([key]):
            return super().delete(key)

    def set_many(self, data: Any, timeout: Any) -> Any:
        """`MSET` and the expiries, then the invalidation barrier."""
        with self._changing(list(data)):
            return super().set_many(data, timeout)

    def delete_many(self, keys: Any) -> Any:
        """`DEL` of several keys, then the invalidation barrier."""
        keys = list(keys)
        with self._changing(keys):
            return super().delete_many(keys)

    def clear(self) -> Any:
        """`FLUSHDB`, then the invalidation barrier."""
        with self._changing(None):
            return super().clear()

    @contextmanager
    def _changing(self, keys: list[Any] | None, *, barrier: bool = True) -> Iterator[None]:
        """Forget this thread's copies of `keys` (None: all), and with `barrier`, once the write
        in the block succeeded, wait until Redis has sent its invalidations to every reader."""
        try:
            yield
        finally:
            self._kept.forget(keys)
        if not barrier:
            return
        # Redis queues a write's reply and the invalidations it causes in the same turn of its
        # event loop but may send the reply first; it answers a later command only after that
        # turn has sent everything. With the PING answered, every invalidation this write caused
        # has been sent before anything that follows from the write (a page saying "saved", a
        # revocation's 200) is; its delivery to another node is not ordered with that, which
        # local_copy_seconds bounds.
        self.get_client(None, write=True).ping()

    def _loads(self, value: Any) -> Any:
        if self._unpickle_directly and value[:1] == b"\x80":
            return pickle.loads(value)
        return self._serializer_loads(value)

    def _read_many(self, keys: list[Any]) -> list[Any]:
        """The raw values of `keys` on the server Django reads from: this thread's tracked copies
        when it has them all, else one `MGET` (or `GET`) on its connection, whose small answers
        it keeps."""
        django: Any = self
        index: int = django._get_connection_pool_index(False)
        for attempt in (1, 2):
            kept = self._kept.connection(index, self._pool_at)
            try:
                now = time.monotonic()
                copies = kept.copies_of(keys, now)
                if copies is not None:
                    return copies
                if len(keys) == 1:
                    values = [self._round_trip(kept.connection, ("GET", keys[0]))]
                else:
                    values = self._round_trip(kept.connection, ("MGET", *keys))
                kept.keep(keys, values, now + self._copy_seconds)
                return values
            except BaseException as err:
                # Never reuse a connection that failed: a timeout or an interrupted read leaves
                # a reply in flight, and a lost connection may have lost invalidations. A kept
                # connection may have been closed by the server since its last use: one retry
                # on a new one, then the error is the caller's.
                self._kept.drop(index)
                if attempt == 2 or not isinstance(err, RedisConnectionError):
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _round_trip(connection: Any, command: tuple[Any, ...]) -> Any:
        connection.send_command(*command)
        return connection.read_response()

    def _pool_at(self, index: int) -> Any:
        """Return the connection pool of server `index`, created as Django creates it."""
        django: Any = self
        pools: dict[int, Any] = django._pools
        if index not in pools:
            pools[index] = django._pool_class.from_url(django._servers[index],
                                                      **django._pool_options)
        return pools[index]


class _Tracked:
    """A connection of one thread's to one server, with client-side caching on, and the small
    values it read that Redis has not invalidated since; without `tracking`, a plain connection
    that keeps nothing."""

    def __init__(self, pool: Any, *, tracking: bool = True) -> None:
        self.copies: dict[str, tuple[float, Any]] = {}
        self.tracking = tracking
        if not tracking:
            self.connection = pool.connection_class(**pool.connection_kwargs)
            return
        self.connection = pool.connection_class(**{**pool.connection_kwargs, "protocol": 3})
        self.connection.register_connect_callback(self._connected)
        # redis-py hands pushes of type "invalidate" to this handler while it reads a reply or
        # drains the socket; it has no public setter on the connection.
        self.connection._parser.set_invalidation_push_handler(self._invalidated)

    def _connected(self, connection: Any) -> None:
        # A new connection tracks nothing yet: what was kept under the old one is unguarded.
        self.copies.clear()
        connection.send_command("CLIENT", "TRACKING", "ON")
        connection.read_response()

    def _invalidated(self, message: Any) -> None:
        keys = message[1]
        if keys is None:  # FLUSHDB or FLUSHALL
            self.copies.clear()
            return
        for key in keys:
            self.copies.pop(key.decode() if isinstance(key, bytes) else key, None)

    def copies_of(self, keys: list[Any], now: float) -> list[Any] | None:
        """The kept values of `keys` once the invalidations received are applied, or None
        when one is missing or old."""
        connection = self.connection
        if not self.copies:
            return None
        # A closed socket reads as readable: can_read then raises, and the caller drops it.
        while connection.can_read(0):
            connection.read_response(push_request=True)
        copies = self.copies
        found = []
        for key in keys:
            copy = copies.get(key)
            if copy is None or copy[0] <= now:
                return None
            found.append(copy[1])
        return found

    def keep(self, keys: list[Any], values: list[Any], until: float) -> None:
        if not self.tracking:
            return
        copies = self.copies
        if len(copies) + len(keys) > LOCAL_COPY_LIMIT:
            copies.clear()
        for key, value in zip(keys, values, strict=True):
            if value is None or len(value) <= LOCAL_COPY_MAX_BYTES:
                copies[key] = (until, value)


class _KeptConnections(threading.local):
    """Per thread and process: one tracked connection per server, made with its pool's settings."""

    def __init__(self, *, tracking: bool) -> None:
        self.pid = os.getpid()
        self.tracking = tracking
        self.connections: dict[int, _Tracked] = {}

    def connection(self, index: int, pool_at: Any) -> _Tracked:
        if self.pid != os.getpid():
            # A forked child shares its parent's sockets: it must never read from them.
            self.pid, self.connections = os.getpid(), {}
        kept = self.connections.get(index)
        if kept is None:
            kept = self.connections[index] = _Tracked(pool_at(index), tracking=self.tracking)
        return kept

    def drop(self, index: int) -> None:
        kept = self.connections.pop(index, None)
        if kept is not None:
            kept.connection.disconnect()

    def forget(self, keys: list[Any] | None) -> None:
        """Drop this thread's copies of `keys` (None: of every key), on every server."""
        if self.pid != os.getpid():
            return
        for kept in self.connections.values():
            if keys is None:
                kept.copies.clear()
            else:
                for key in keys:
                    kept.copies.pop(key, None)

class RedisCache(DjangoRedisCache):
    """`django.core.cache.backends.redis.RedisCache` on `ReusingRedisCacheClient`."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        # Checked here, when the cache is first asked for, not at its first read.
        local_copy_lifetime((params.get("OPTIONS") or {}).get("local_copy_seconds"))

    def validate_key(self, key: str) -> None:
        """Accept every key: the checks Django makes are memcached's limits (250 characters, no
        spaces or control characters), which Redis does not have; they cost 3 µs a key."""
