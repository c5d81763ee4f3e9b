"""A TCP proxy we control between Odoo and the broker (tests and bench/).

RabbitMQ on this machine is shared: a test never restarts it nor closes
other people's connections. It plays the broker's faults on its own
connections instead:

* ``drop()`` -- close every proxied connection at once, as a broker restart
  does (both ends see the connection reset);
* ``mode = "refuse"`` -- new connections are accepted and closed at once
  (the broker is down: nothing listens);
* ``mode = "blackhole"`` -- bytes are swallowed in both directions (a
  blocked port, a partition: the client waits for answers that never come);
* ``mode = "pass"`` -- normal forwarding.

Standard library only, so that bench/ can use it from its own virtualenv.
"""

import contextlib
import selectors
import socket
import threading


class TcpProxy:
    def __init__(self, target_host="127.0.0.1", target_port=5672, listen_host="127.0.0.1", listen_port=0):
        self.target = (target_host, target_port)
        self.listener = socket.create_server((listen_host, listen_port))
        self.host, self.port = self.listener.getsockname()[:2]
        self.mode = "pass"
        self.connections = 0
        self._pairs = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name=f"tcp-proxy-{self.port}", daemon=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def start(self):
        self._thread.start()
        return self

    @property
    def url_netloc(self):
        return f"{self.host}:{self.port}"

    def _accept_loop(self):
        self.listener.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                client, _addr = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "refuse":
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
                self.connections += 1
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair):
        client, upstream = pair
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._stopped.is_set():
                with self._lock:
                    if pair not in self._pairs:
                        return
                for key, _mask in selector.select(timeout=0.2):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    if self.mode != "blackhole":
                        key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            self._close_pair(pair)

    def _close_pair(self, pair):
        with self._lock:
            self._pairs.discard(pair)
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def drop(self):
        """Close every proxied connection now (a broker restart, seen from the clients)."""
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._close_pair(pair)
        return len(pairs)

    def close(self):
        self._stopped.set()
        self.drop()
        self.listener.close()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
