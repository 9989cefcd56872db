"""A TCP forwarder that can play a dependency going away: PostgreSQL or Redis stopping, crashing
mid-query, and coming back, without touching the real server that others share.

    proxy = FaultProxy(5432).start()   # listens on 127.0.0.1:proxy.port
    proxy.down()                       # cut every connection, reset new ones
    proxy.up()                         # forward again
    proxy.trip_on(b"INSERT INTO")      # go down just before forwarding a matching chunk

Run alone, it forwards until stdin is closed; type `down` or `up` to switch it:

    .venv/bin/python tests/faults/proxy.py 5432
"""

from __future__ import annotations

import socket
import struct
import sys
import threading

CHUNK = 65536


def _reset(sock: socket.socket) -> None:
    """Close with an RST rather than a FIN: what a peer sees when a server dies."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)  # wakes the pump thread blocked in recv()
    except OSError:
        pass
    sock.close()


class FaultProxy:
    """Forward 127.0.0.1:`port` (picked freely) to `target_host`:`target_port`, switchably."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._up = True
        self._trip: bytes | None = None
        self.tripped = threading.Event()

    def start(self) -> FaultProxy:
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}").start()
        return self

    def down(self) -> None:
        """Drop every connection and refuse (reset) new ones until up()."""
        with self._lock:
            self._up = False
            victims, self._open = self._open, set()
        for sock in victims:
            _reset(sock)

    def up(self) -> None:
        with self._lock:
            self._up = True
            self._trip = None
        self.tripped.clear()

    def trip_on(self, pattern: bytes) -> None:
        """Go down when a client sends a chunk holding `pattern`, before the server gets it."""
        with self._lock:
            self._trip = pattern
        self.tripped.clear()

    def close(self) -> None:
        self.down()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            with self._lock:
                up = self._up
            if not up:
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                if not self._up:  # went down while connecting
                    _reset(client)
                    _reset(server)
                    continue
                self._open |= {client, server}
            for source, sink, upstream in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, upstream),
                                 daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        try:
            while data := source.recv(CHUNK):
                trip = self._trip
                if upstream and trip is not None and trip in data:
                    self.tripped.set()
                    self.down()
                    return
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            mine = {source, sink} & self._open
            self._open -= mine
        for sock in mine:  # one side hung up: hang up the other, politely
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def main(argv: list[str]) -> int:
    proxy = FaultProxy(int(argv[1])).start()
    print(f"forwarding 127.0.0.1:{proxy.port} -> 127.0.0.1:{argv[1]}; type down or up",
          flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command in ("down", "up"):
            getattr(proxy, command)()
            print(command, flush=True)
    proxy.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
