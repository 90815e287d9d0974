"""`lowlight serve-web`: serve the LiteRT.js client and the shipped models from this checkout.

Everything the page needs is local — the page, LiteRT.js and its WebAssembly runtime from
`mobile/web/node_modules` (`npm ci` there), `mobile/MODEL_CONTRACT.json` and `saved_models/` — so
it works offline and on a phone in the same network (bind to 0.0.0.0 deliberately with --host).
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
         ".json": "application/json", ".tflite": "application/octet-stream", ".dng": "image/x-adobe-dng"}


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def end_headers(self):
        # Cross-origin isolation lets LiteRT.js use its threaded WebAssembly build.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # quiet: tests and users do not need access logs
        pass


def make_server(host: str = "127.0.0.1", port: int = 8000, root: Path = REPO) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_Handler, directory=str(root))
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve_in_background(host: str = "127.0.0.1", port: int = 0) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Starts a server on a free port in a daemon thread; returns it and the page URL."""
    server = make_server(host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}/mobile/web/index.html"


def main(host: str = "127.0.0.1", port: int = 8000) -> None:
    if not (REPO / "mobile" / "web" / "node_modules" / "@litertjs" / "core").exists():
        from keras_lowlight.errors import LowlightError

        raise LowlightError("LiteRT.js is not installed: run `npm ci` in mobile/web first")
    server = make_server(host, port)
    print(f"serving http://{host}:{server.server_address[1]}/mobile/web/index.html (Ctrl-C stops)")
    server.serve_forever()


if __name__ == "__main__":
    main()
