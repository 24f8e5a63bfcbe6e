# loses:
# requires: sandbox
# A connection to a server listening on the grader's loopback: it must never arrive.
import socket as _socket

_reached = []
for _host in ("127.0.0.1", "localhost"):
    try:
        with _socket.create_connection((_host, @@PORT@@), timeout=1) as _connection:
            _connection.sendall(b"stolen")
            _reached.append(_host)
    except OSError:
        pass
if _reached:
    LARGEST_COMPONENT = "reached " + ", ".join(_reached)
