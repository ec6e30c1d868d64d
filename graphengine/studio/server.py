"""Run the studio: check the extra is installed, bind to a local port, serve until Ctrl-C."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphengine.errors import GraphError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
EXTRA_HINT = "graphengine studio needs the studio extra: pip install 'graphengine[studio]'"


def _require_extra() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise GraphError(f"{EXTRA_HINT} ({error.name} is missing)") from None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one); GraphError if not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise GraphError(
            f"studio: cannot listen on {host}:{port} ({error.strerror}); "
            "try --port 0 for any free port"
        ) from None
    sock.listen(64)
    return sock


def _session(path: str | os.PathLike, overrides: Any, cache: Any) -> Any:
    """A session run once: a graph the engine cannot read at all raises its GraphError here.

    Errors that name nodes (a bad value, a missing file) are left for the page
    to show on those nodes.
    """
    from graphengine.studio.session import Session

    session = Session(path, overrides, cache=cache)
    snapshot = session.refresh("opened")
    if snapshot.result is None and not any(p.node for p in snapshot.problems):
        raise GraphError("\n".join(p.message for p in snapshot.problems), file=str(session.path))
    return session


def _server(session: Any, sock: socket.socket) -> Any:
    import uvicorn

    from graphengine.studio.app import create_app

    config = uvicorn.Config(
        create_app(session), log_level="warning", lifespan="on", timeout_graceful_shutdown=2
    )
    return uvicorn.Server(config)


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


@contextlib.contextmanager
def running(
    path: str | os.PathLike,
    overrides: Mapping[str, Any] | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    cache: bool | str | os.PathLike = True,
) -> Iterator[str]:
    """Serve the studio in a background thread while the block runs; yields the page's URL.

    For notebooks and tests: ``with running("g.toml") as url: ...``. Port 0
    (the default here) takes any free port.
    """
    _require_extra()
    session = _session(path, overrides, cache)
    sock = bind_socket(host, port)
    server = _server(session, sock)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="studio-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        if not server.started:
            raise GraphError("studio: the server did not start")
        yield _url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve(
    path: str | os.PathLike,
    overrides: Mapping[str, Any] | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    cache: bool | str | os.PathLike = True,
    echo: Callable[[str], Any] = print,
) -> None:
    """Serve the studio for the graph file ``path`` until interrupted.

    The graph is loaded and run once before the server starts, so a graph the
    engine cannot read fails here with its GraphError; errors after that (a
    save with a mistake) are shown on the page.
    """
    _require_extra()
    session = _session(path, overrides, cache)
    sock = bind_socket(host, port)
    echo(f"studio: {_url(sock)} for {session.path} (Ctrl-C stops)")
    if not is_loopback(host):
        echo(
            "warning: the studio is reachable from other machines; anyone who can reach "
            "it can run this graph and hear the files it reads"
        )
    try:
        _server(session, sock).run(sockets=[sock])
    finally:
        sock.close()
