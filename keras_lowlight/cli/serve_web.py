"""`lowlight serve-web`: serve the LiteRT.js client and the shipped models from this checkout.

Everything the page needs is local — the page, LiteRT.js and its WebAssembly runtime from
`mobile/web/node_modules` (`npm ci` there), `mobile/MODEL_CONTRACT.json` and `saved_models/` — so
it works offline and on a phone in the same network (bind to 0.0.0.0 deliberately with --host).

Only those files are served, by an allow-list of folders and file types (not the checkout: no
`.git`, no sources, no `.keras` files). A request path is decoded once and refused when any
segment is `..`, `.`, hidden or empty, or holds a backslash or NUL; the file it names must
resolve (symlinks followed) inside its allowed folder. Everything else is a plain 404.
"""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the checkout: keras_lowlight/<layer>/this file
PAGE = "/mobile/web/index.html"
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
         ".json": "application/json", ".tflite": "application/octet-stream", ".dng": "image/x-adobe-dng"}


@dataclass(frozen=True)
class Route:
    """Files under `folder` (relative to the served root) with one of `suffixes`; `recursive`
    allows sub-folders."""

    folder: str
    suffixes: frozenset[str]
    recursive: bool = False


# Longest folder first: a request is matched against the most specific route only.
ROUTES = (
    Route("mobile/web/node_modules/@litertjs", frozenset({".js", ".mjs", ".wasm", ".map"}), recursive=True),
    Route("mobile/web", frozenset({".html", ".js", ".mjs", ".css", ".dng", ".png"})),
    Route("saved_models", frozenset({".tflite"}), recursive=True),
    Route("mobile", frozenset({".json"})),  # MODEL_CONTRACT.json
)


def resolve_request(raw_path: str, root: Path = REPO) -> Path | None:
    """The file a request path may serve, or None (then the answer is 404)."""
    path = urllib.parse.urlsplit(raw_path).path
    if path == "/mobile/web/" or path == "/mobile/web":
        path = PAGE
    decoded = urllib.parse.unquote(path, errors="strict")
    # A "%" left after one decode means double encoding: refused like a backslash or NUL.
    if not decoded.startswith("/") or any(c in decoded for c in "\\\x00%"):
        return None
    parts = decoded[1:].split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    relative = "/".join(parts)
    for route in ROUTES:
        if not relative.startswith(route.folder + "/"):
            continue
        inner = relative[len(route.folder) + 1 :]
        if (not route.recursive and "/" in inner) or Path(inner).suffix.lower() not in route.suffixes:
            return None
        base = (root / route.folder).resolve()
        target = (base / inner).resolve()  # follows symlinks: one pointing out of `base` is refused
        if not target.is_relative_to(base) or not target.is_file():
            return None
        return target
    return None


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}
    root: Path = REPO

    def end_headers(self):
        # Cross-origin isolation lets LiteRT.js use its threaded WebAssembly build.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def send_head(self):
        if urllib.parse.urlsplit(self.path).path == "/":
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", PAGE)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        try:
            self._target = resolve_request(self.path, self.root)
        except UnicodeDecodeError:
            self._target = None
        if self._target is None:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        return super().send_head()

    def translate_path(self, path: str) -> str:
        return str(self._target)  # send_head has already checked it

    def list_directory(self, path):  # never reached (targets are files); refuse rather than list
        self.send_error(HTTPStatus.NOT_FOUND, "Not found")
        return None

    def log_message(self, format, *args):  # quiet: tests and users do not need access logs
        pass


def make_server(host: str = "127.0.0.1", port: int = 8000,
                root: Path = REPO) -> http.server.ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"root": Path(root)})
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve_in_background(host: str = "127.0.0.1", port: int = 0,
                        root: Path = REPO) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Starts a server on a free port in a daemon thread; returns it and the page URL."""
    server = make_server(host, port, root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}{PAGE}"


def main(host: str = "127.0.0.1", port: int = 8000) -> None:
    from keras_lowlight.runtime.errors import LowlightError
    from keras_lowlight.runtime.locations import web_root

    root = web_root()  # the checkout, or an installed package's share/keras-lowlight
    web = root / "mobile" / "web"
    if not (web / "node_modules" / "@litertjs" / "core").exists():
        raise LowlightError(f"LiteRT.js is not installed: run `npm ci` in {web} first")
    try:
        server = make_server(host, port, root)
    except OSError as e:
        raise LowlightError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {host}, reachable from other machines (the web client and models only)")
    print(f"serving http://{host}:{server.server_address[1]}{PAGE} (Ctrl-C stops)")
    server.serve_forever()


if __name__ == "__main__":
    main()
