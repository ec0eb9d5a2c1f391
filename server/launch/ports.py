"""Listening sockets on 127.0.0.1, bound by the owner so a taken port fails fast and port 0 is race-free."""

from __future__ import annotations

import socket

from asgiscope.server.launch.model import LaunchError

BACKLOG = 2048  # uvicorn's default: a burst of users must queue in the kernel, not be refused


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A restart on the same port finds the old connections in TIME_WAIT: without this the bind fails.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free one). Raises LaunchError when the port is taken."""
    sock = _socket()
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise LaunchError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def reserve_port(host: str, port: int) -> int:
    """Check host:port is bindable and return it (a free one for port 0), without keeping it bound.

    For gunicorn's reuse_port, where every worker binds its own socket: the port can only be checked here,
    and a concrete number is needed (port 0 would give each worker a different port).
    """
    sock = _socket()
    try:
        sock.bind((host, port))
        return int(sock.getsockname()[1])
    except OSError as exc:
        raise LaunchError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    finally:
        sock.close()
