"""The lab's web server: the page (``index.html``) and a small JSON / PNG API, standard library only.

Every route is a thin call into ``zoo_view``, ``live`` or ``dirac_view``; bad input is a 400 with
``{"error": "..."}`` in one line. One live-training session at a time (the lab is a local,
single-user tool).
"""
from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlparse

from ganzoo.lab import dirac_view, live, zoo_view
from ganzoo.losses import LOSSES
from ganzoo.theory.dirac_gan import SCHEMES


class LabState:
    """What the server holds between requests: the current live-training session."""

    def __init__(self) -> None:
        self.session: Optional[live.LiveTraining] = None
        self.lock = threading.Lock()

    def new_session(self, settings: live.LiveSettings, paused: bool) -> live.LiveTraining:
        with self.lock:
            if self.session is not None:
                self.session.stop()
            self.session = live.LiveTraining(settings)
            self.session.start(paused=paused)
            return self.session

    def current(self) -> live.LiveTraining:
        if self.session is None:
            raise ValueError("no training session: press Train first")
        return self.session

    def close(self) -> None:
        if self.session is not None:
            self.session.stop()


def _number(query: dict, name: str, kind: Callable = int, default: Any = None) -> Any:
    values = query.get(name)
    if not values or values[0] == "":
        if default is None:
            raise ValueError(f"missing parameter {name!r}")
        return default
    try:
        return kind(values[0])
    except ValueError:
        raise ValueError(f"{name}={values[0]!r} is not a valid {kind.__name__}") from None


def _text(query: dict, name: str, default: Optional[str] = None) -> str:
    values = query.get(name)
    if not values:
        if default is None:
            raise ValueError(f"missing parameter {name!r}")
        return default
    return values[0]


def _settings(body: dict) -> live.LiveSettings:
    known = live.LiveSettings.__dataclass_fields__
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ValueError(f"unknown training settings: {', '.join(unknown)}")
    typed = {}
    for name, value in body.items():
        kind = known[name].type
        if kind == "bool" and not isinstance(value, bool):
            raise ValueError(f"{name}={value!r}: expected true or false")
        typed[name] = {"int": int, "float": float, "bool": bool, "str": str}[kind](value)
    return live.LiveSettings(**typed)


def make_handler(state: LabState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ganzoo-lab"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # quiet: the terminal shows the URL, not every poll

        # -------------------------------------------------------------- dispatch
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlparse(self.path)
            query = parse_qs(url.query)
            routes = {
                "/": lambda: self._send(resources.files("ganzoo.lab").joinpath("index.html").read_bytes(),
                                        "text/html; charset=utf-8"),
                "/api/models": lambda: self._json(zoo_view.bundled_models()),
                "/api/sample.png": lambda: self._png(zoo_view.sample_grid(
                    _text(query, "model"), _number(query, "seed", int, 0), _number(query, "n", int, 64),
                    _number(query, "truncation", float, 0.0) or None)),
                "/api/interpolate.png": lambda: self._png(zoo_view.interpolation_strip(
                    _text(query, "model"), _number(query, "seed_a", int, 0), _number(query, "seed_b", int, 1),
                    _number(query, "steps", int, 8))),
                "/api/card": lambda: self._json({"text": zoo_view.card_text(_text(query, "model"))}),
                "/api/train/options": lambda: self._json({"datasets": live.DATASETS, "losses": sorted(LOSSES)}),
                "/api/train/state": lambda: self._json(state.current().state()),
                "/api/train/plot.png": lambda: self._png(state.current().figure_png()),
                "/api/dirac/options": lambda: self._json({"methods": list(dirac_view.METHODS), "schemes": SCHEMES}),
                "/api/dirac.png": lambda: self._png(self._dirac(query)[0]),
                "/api/dirac.json": lambda: self._json(self._dirac(query)[1]),
            }
            self._route(routes, url.path)

        def do_POST(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            routes = {
                "/api/train/start": lambda: self._json(state.new_session(_settings(self._body()), False).state()),
                "/api/train/pause": lambda: self._control(lambda s: s.pause()),
                "/api/train/resume": lambda: self._control(lambda s: s.resume()),
                "/api/train/step": lambda: self._control(lambda s: s.step()),
                "/api/train/reset": lambda: self._json(state.new_session(state.current().settings, True).state()),
            }
            self._route(routes, url.path)

        # -------------------------------------------------------------- helpers
        def _route(self, routes: dict, path: str) -> None:
            handler = routes.get(path)
            if handler is None:
                self._json({"error": f"no such page {path!r}"}, HTTPStatus.NOT_FOUND)
                return
            try:
                handler()
            except (ValueError, KeyError, TypeError) as error:  # bad input: one line, 400
                message = error.args[0] if error.args else str(error)
                self._json({"error": str(message)}, HTTPStatus.BAD_REQUEST)

        def _dirac(self, query: dict) -> tuple[bytes, dict]:
            return dirac_view.figure_png(_text(query, "method", dirac_view.dirac_gan.METHODS[0].label),
                                         _text(query, "scheme", "alternating"), _number(query, "h", float, 0.2),
                                         _number(query, "steps", int, 500))

        def _control(self, action: Callable[[live.LiveTraining], None]) -> None:
            session = state.current()
            action(session)
            self._json(session.state())

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            if not isinstance(body, dict):
                raise ValueError("the request body must be a JSON object of settings")
            return body

        def _json(self, value: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
            self._send(json.dumps(value).encode(), "application/json", status)

        def _png(self, data: bytes) -> None:
            self._send(data, "image/png")

        def _send(self, data: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

    return Handler


def make_server(host: str = "127.0.0.1", port: int = 7860) -> tuple[ThreadingHTTPServer, LabState]:
    """A lab server bound to ``host:port`` (port 0: any free port; read ``server.server_port``)."""
    state = LabState()
    server = ThreadingHTTPServer((host, port), make_handler(state))
    server.daemon_threads = True
    return server, state


def serve(host: str = "127.0.0.1", port: int = 7860) -> None:
    """Run the lab until Ctrl-C."""
    server, state = make_server(host, port)
    print(f"ganzoo lab: http://{host}:{server.server_port}/  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        state.close()
        server.server_close()
