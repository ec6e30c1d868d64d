"""The studio's web application (Starlette): the page, its assets, and a small JSON API.

Routes:

- ``GET /``: the page; ``GET /assets/NAME``: its script and style sheet, from the package;
- ``GET /api/state``: the whole state (:func:`graphengine.studio.views.state`);
- ``GET /api/version``: ``{"version": N}``, polled by the page to follow saves;
- ``GET /api/graph.svg``: the graph laid out, ports drawn with their types;
- ``GET /api/value/NODE/PORT/audio.wav`` and ``.../NAME.png``: a value's sound and pictures;
- ``POST /api/try`` ``{"key": "node.param", "value": "text"}``: try a value (like ``--set``);
- ``POST /api/take-back`` ``{"key": "node.param"}`` (or no key: all): drop a tried value.

Runs happen in Starlette's thread pool, one at a time (the session holds a
lock); a thread polls the watched files and refreshes on a save.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphengine.errors import GraphError
from graphengine.studio import views
from graphengine.studio.session import Session
from graphengine.types import Audio

ASSETS = {
    "studio.js": "text/javascript; charset=utf-8",
    "studio.css": "text/css; charset=utf-8",
}
PICTURE_CACHE_ITEMS = 64
NO_STORE = {"Cache-Control": "no-store"}


def _asset(name: str) -> bytes:
    return resources.files("graphengine.studio").joinpath("assets", name).read_bytes()


class PictureCache:
    """The last few PNGs and WAVs made, keyed by node, port, name and the value's cache key."""

    def __init__(self, items: int = PICTURE_CACHE_ITEMS) -> None:
        self.items = items
        self._store: OrderedDict[tuple[str, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], make: Any) -> bytes | None:
        with self._lock:
            if key in self._store:
                self._store.move_to_end(key)
                return self._store[key]
        data = make()
        if data is None:
            return None
        with self._lock:
            self._store[key] = data
            while len(self._store) > self.items:
                self._store.popitem(last=False)
        return data


def create_app(session: Session, *, poll_interval_s: float = 0.25) -> Starlette:
    """The studio app for one session; it refreshes the session once at start-up."""
    pictures = PictureCache()
    stop = threading.Event()

    def follow_files() -> None:
        while not stop.wait(poll_interval_s):
            with contextlib.suppress(Exception):  # a failed poll is retried at the next tick
                session.poll()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if session.version == 0:
            await run_in_threadpool(session.refresh, "opened")
        watcher = threading.Thread(target=follow_files, name="studio-watch", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join(timeout=5)

    async def page(request: Request) -> Response:
        return Response(_asset("index.html"), media_type="text/html; charset=utf-8")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return Response("no such asset", status_code=404)
        return Response(_asset(name), media_type=ASSETS[name])

    async def state(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(views.state, session), headers=NO_STORE)

    async def version(request: Request) -> Response:
        return JSONResponse({"version": session.version}, headers=NO_STORE)

    async def graph_svg(request: Request) -> Response:
        from graphengine.svg import svg

        shown = session.shown
        if shown is None:
            return Response("the graph has not run yet", status_code=404)
        text = await run_in_threadpool(svg, shown.valid, ports=True)
        return Response(text, media_type="image/svg+xml", headers=NO_STORE)

    def _value(request: Request) -> tuple[Any, str] | Response:
        node, port = request.path_params["node"], request.path_params["port"]
        shown = session.shown
        value = shown.value(node, port) if shown is not None else None
        if value is None:
            return Response(f"no value for {node}.{port}", status_code=404)
        return value, shown.result.keys[node].key

    async def value_audio(request: Request) -> Response:
        found = _value(request)
        if isinstance(found, Response):
            return found
        value, key = found
        if not isinstance(value, Audio):
            return Response("not audio", status_code=404)
        cache_key = (request.path_params["node"], request.path_params["port"], "wav", key)
        data = await run_in_threadpool(pictures.get, cache_key, lambda: views.audio_wav(value))
        return Response(data, media_type="audio/wav")

    async def value_picture(request: Request) -> Response:
        found = _value(request)
        if isinstance(found, Response):
            return found
        value, key = found
        name = request.path_params["name"]
        cache_key = (request.path_params["node"], request.path_params["port"], name, key)
        data = await run_in_threadpool(pictures.get, cache_key, lambda: views.picture(value, name))
        if data is None:
            return Response(f"no {name} picture for this value", status_code=404)
        return Response(data, media_type="image/png")

    async def _body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {}

    async def try_value(request: Request) -> Response:
        body = await _body(request)
        key, text = body.get("key"), body.get("value")
        if not isinstance(key, str) or not key or not isinstance(text, str):
            return JSONResponse({"error": "expected {key: 'node.param', value: 'text'}"}, 400)
        try:
            await run_in_threadpool(session.try_value, key, text)
        except GraphError as error:
            return JSONResponse({"error": str(error)}, 400)
        return JSONResponse(await run_in_threadpool(views.state, session), headers=NO_STORE)

    async def take_back(request: Request) -> Response:
        key = (await _body(request)).get("key")
        await run_in_threadpool(session.take_back, key if isinstance(key, str) else None)
        return JSONResponse(await run_in_threadpool(views.state, session), headers=NO_STORE)

    routes = [
        Route("/", page),
        Route("/assets/{name}", asset),
        Route("/api/state", state),
        Route("/api/version", version),
        Route("/api/graph.svg", graph_svg),
        Route("/api/value/{node}/{port}/audio.wav", value_audio),
        Route("/api/value/{node}/{port}/{name}.png", value_picture),
        Route("/api/try", try_value, methods=["POST"]),
        Route("/api/take-back", take_back, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
