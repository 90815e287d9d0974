"""`lowlight serve-web` serves the web client, LiteRT.js and model files only: real HTTP requests to
a running server on 127.0.0.1, with traversal attempts, encoded forms and symlinks out."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from keras_lowlight.cli.serve_web import REPO, make_server, serve_in_background


def _tree(root: Path, outside: Path) -> None:
    files = {
        "mobile/web/index.html": "<html>page</html>",
        "mobile/web/app.js": "// app",
        "mobile/web/package.json": "{}",
        "mobile/web/make_sample.py": "print()",
        "mobile/web/tests/e2e.mjs": "// test",
        "mobile/web/node_modules/@litertjs/core/dist/index.js": "// litert",
        "mobile/web/node_modules/@litertjs/core/wasm/litert.wasm": "\0asm",
        "mobile/web/node_modules/playwright-core/index.js": "// not a runtime file",
        "mobile/MODEL_CONTRACT.json": '{"models": []}',
        "saved_models/m/model_int8.tflite": "TFL3",
        "saved_models/m/model.keras": "zip",
        "saved_models/m/MODEL_CARD.md": "# card",
        "README.md": "readme",
        "pyproject.toml": "[project]",
        ".git/config": "[core]",
        "keras_lowlight/cli/commands.py": "# source",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (outside / "secret.js").write_text("// secret")
    (outside / "secret.tflite").write_text("secret")
    (root / "mobile/web/leak.js").symlink_to(outside / "secret.js")
    (root / "saved_models/escape").symlink_to(outside, target_is_directory=True)
    (root / "saved_models/m/inside.tflite").symlink_to(root / "saved_models/m/model_int8.tflite")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("serve")
    root, outside = base / "repo", base / "outside"
    root.mkdir()
    outside.mkdir()
    _tree(root, outside)
    srv, _ = serve_in_background(port=0, root=root)
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(server, path: str, method: str = "GET") -> tuple[int, bytes, dict]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)  # the path goes out verbatim
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body, dict(response.getheaders())


def test_binds_loopback_by_default(server):
    assert server.server_address[0] == "127.0.0.1"
    from keras_lowlight.cli import build_parser

    assert build_parser().parse_args(["serve-web"]).host == "127.0.0.1"


@pytest.mark.parametrize("path,body", [
    ("/mobile/web/index.html", b"<html>page</html>"),
    ("/mobile/web/", b"<html>page</html>"),
    ("/mobile/web/app.js?v=2", b"// app"),
    ("/mobile/web/node_modules/@litertjs/core/dist/index.js", b"// litert"),
    ("/mobile/web/node_modules/%40litertjs/core/wasm/litert.wasm", b"\0asm"),
    ("/mobile/MODEL_CONTRACT.json", b'{"models": []}'),
    ("/saved_models/m/model_int8.tflite", b"TFL3"),
    ("/saved_models/m/inside.tflite", b"TFL3"),  # a symlink that stays inside is fine
])
def test_serves_the_client_runtime_and_models(server, path, body):
    status, content, headers = _get(server, path)
    assert status == 200 and content == body
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    if path.endswith(".wasm"):
        assert headers["Content-type"] == "application/wasm"


def test_root_redirects_to_the_page(server):
    status, _, headers = _get(server, "/")
    assert status == 302 and headers["Location"] == "/mobile/web/index.html"


@pytest.mark.parametrize("path", [
    "/README.md", "/pyproject.toml", "/.git/config", "/.git/", "/keras_lowlight/cli/commands.py",
    "/mobile/web/package.json", "/mobile/web/make_sample.py", "/mobile/web/tests/e2e.mjs",
    "/mobile/web/node_modules/playwright-core/index.js", "/saved_models/m/model.keras",
    "/saved_models/m/MODEL_CARD.md", "/saved_models/", "/saved_models/m/", "/mobile/",
    # traversal, plain and encoded
    "/mobile/web/../../README.md", "/mobile/web/../../.git/config", "/saved_models/../.git/config",
    "/mobile/web/%2e%2e/%2e%2e/README.md", "/mobile/web/%2E%2E%2F%2E%2E%2Fpyproject.toml",
    "/mobile/web/..%2f..%2f.git%2fconfig", "/mobile/web/%252e%252e/%252e%252e/README.md",
    "/mobile/web/..%5c..%5cREADME.md", "/mobile/web/%00index.html", "/mobile/web//etc/passwd",
    "//etc/passwd", "/mobile/web/./index.html", "/mobile/web/%ff.js", "/mobile/web/.hidden.js",
    # symlinks out of the served folders
    "/mobile/web/leak.js", "/saved_models/escape/secret.tflite",
])
def test_refuses_everything_else(server, path):
    status, content, _ = _get(server, path)
    assert status == 404, (path, status)
    assert b"secret" not in content and b"[core]" not in content and b"readme" not in content


def test_only_get_and_head(server):
    assert _get(server, "/mobile/web/index.html", "HEAD")[0] == 200
    assert _get(server, "/mobile/web/index.html", "POST")[0] == 501
    assert _get(server, "/mobile/web/index.html", "PUT")[0] == 501


def test_the_real_checkout(tmp_path):
    """The repository itself: its .git and sources stay private, the page is served."""
    srv = make_server("127.0.0.1", 0, REPO)
    import threading

    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        assert _get(srv, "/mobile/web/index.html")[0] == 200
        assert _get(srv, "/mobile/MODEL_CONTRACT.json")[0] == 200
        for path in ("/.git/HEAD", "/.git", "/keras_lowlight/cli/serve_web.py", "/pyproject.toml",
                     "/saved_models/mobile_bayer/model.keras", "/mobile/web/../../.git/HEAD"):
            assert _get(srv, path)[0] == 404, path
        # Every model the web client may fetch (the contract's entries) is served.
        import json

        for entry in json.loads((REPO / "mobile" / "MODEL_CONTRACT.json").read_text())["models"]:
            assert _get(srv, "/" + entry["file"])[0] == 200, entry["file"]
    finally:
        srv.shutdown()
        srv.server_close()
