"""serve.py as a person runs it: a real subprocess on a free port on 127.0.0.1, real HTTP.

Raw request paths go through http.client, which sends them byte for byte (urllib and browsers
would normalise `..` away before the server ever saw it).
"""

from __future__ import annotations

import gzip
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import REPO, SERVE, SITE

SECRET = b"TOP-SECRET-OUTSIDE-THE-ROOT"


def request(url: str, method: str = "GET", path: str = "/", headers: dict | None = None, body=None):
    """One request with the path sent exactly as given; returns (status, headers dict lower-cased, body)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


@pytest.fixture
def tree(tmp_path):
    """tmp/secret.txt and tmp/outside/ (outside the root), tmp/site/ (the root) with one file of each type."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "site"
    root.mkdir()
    for name in ("index.html", "a.wasm", "a.mjs", "a.js", "a.whl", "a.npz", "manifest.webmanifest", "a.json",
                 "a.css", "app.py", "a.toml", "a.onnx", "a.svg", "a.unknownext"):  # fmt: skip
        (root / name).write_bytes(b"content of " + name.encode())
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_text("inner")
    (root / "emptydir").mkdir()
    big = ("const x = 'the same line, again and again';\n" * 4000).encode()
    (root / "big.js").write_bytes(big)
    (root / "big.js.gz").write_bytes(gzip.compress(big, 9))
    return tmp_path


# ------------------------------------------------------------------ types


TYPES = {
    "/a.wasm": "application/wasm",
    "/a.mjs": "text/javascript",
    "/a.js": "text/javascript",
    "/a.whl": ("application/zip", "application/octet-stream"),
    "/a.npz": "application/octet-stream",
    "/manifest.webmanifest": "application/manifest+json",
    "/a.json": "application/json",
    "/a.css": "text/css",
    "/index.html": "text/html",
    "/": "text/html",
    "/app.py": ("text/x-python", "text/plain"),
    "/a.toml": ("text/plain", "application/toml"),
    "/a.onnx": "application/octet-stream",
    "/a.svg": "image/svg+xml",
    "/a.unknownext": "application/octet-stream",
}


def test_content_types(tree, serve_site):
    srv = serve_site(tree / "site")
    for path, expected in TYPES.items():
        status, headers, body = request(srv.url, path=path)
        assert status == 200, path
        kind = headers["content-type"].split(";")[0].strip()
        assert kind in ((expected,) if isinstance(expected, str) else expected), (path, kind)
        assert int(headers["content-length"]) == len(body)
        assert headers["cache-control"] == "no-cache"
        if path != "/":
            assert body == b"content of " + path[1:].encode()


def test_real_site_serves_the_runtime_types(server):
    if not (SITE / "vendor" / ".complete").is_file():
        pytest.fail("site/vendor is not built: run `make runtime` (make test does)")
    for path, kind in {
        "/vendor/pyodide/pyodide.asm.wasm": "application/wasm",
        "/vendor/pyodide/pyodide.mjs": "text/javascript",
        "/vendor/pyodide/pyodide.asm.js": "text/javascript",
        "/vendor/pyodide/numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl": "application/zip",
    }.items():
        status, headers, _ = request(server, "HEAD", path)
        assert status == 200, path
        assert headers["content-type"].split(";")[0] == kind, path


# ------------------------------------------------------------------ containment

TRAVERSALS = [
    "/../secret.txt",
    "/../../../../../../etc/passwd",
    "/sub/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/%2e%2e%2Fsecret.txt",
    "/sub%2f..%2f..%2fsecret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "/%252e%252e/secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/..%00/secret.txt",
    "/secret.txt%00.html",
    "//secret.txt",
    "http://127.0.0.1/../secret.txt",
    "/..;/secret.txt",
    "/../outside/secret.txt",
    "/%2e%2e/outside/secret.txt",
    "secret.txt",
    "../secret.txt",
]


def test_nothing_outside_the_root(tree, serve_site):
    srv = serve_site(tree / "site")
    absolute = str(tree / "secret.txt")
    paths = TRAVERSALS + [absolute, "/" + absolute, "/%2F" + absolute.lstrip("/"), absolute.replace("/", "%2f")]
    for path in paths:
        for method in ("GET", "HEAD"):
            status, _, body = request(srv.url, method, path)
            assert status in (400, 404), (method, path, status)
            assert SECRET not in body, path
    # the server is still fine afterwards, and a legitimate file in a subfolder works
    assert request(srv.url, path="/sub/inner.txt")[:1] == (200,)
    assert request(srv.url, path="/sub/./inner.txt")[0] == 200


def test_symlinks_out_of_the_root_are_refused(tree, serve_site):
    root = tree / "site"
    os.symlink(tree / "secret.txt", root / "link-to-secret.txt")
    os.symlink(tree / "outside", root / "link-to-outside")
    os.symlink(root / "sub" / "inner.txt", root / "link-inside.txt")  # inside -> inside is fine
    (root / "a.mjs.gz").unlink(missing_ok=True)
    os.symlink(tree / "secret.txt", root / "a.mjs.gz")  # a gzip sibling that leads out is ignored
    srv = serve_site(root)
    for path in ("/link-to-secret.txt", "/link-to-outside/secret.txt", "/link-to-outside/", "/link-to-outside"):
        status, _, body = request(srv.url, path=path)
        assert status == 404, path
        assert SECRET not in body
    assert request(srv.url, path="/link-inside.txt")[2] == b"inner"
    status, headers, body = request(srv.url, path="/a.mjs", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and body == b"content of a.mjs" and "content-encoding" not in headers


def test_directories(tree, serve_site):
    srv = serve_site(tree / "site")
    status, headers, _ = request(srv.url, path="/sub?x=1")
    assert status == 301 and headers["location"] == "/sub/?x=1"
    assert request(srv.url, path="/sub/")[0] == 404  # no index.html there, and no listings
    assert request(srv.url, path="/emptydir/")[0] == 404
    assert request(srv.url, path="/missing.html")[0] == 404
    assert request(srv.url, path="/index.html?v=3#frag")[0] == 200


# ------------------------------------------------------------------ methods


def test_only_get_and_head(tree, serve_site):
    srv = serve_site(tree / "site")
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "FOO"):
        for path in ("/index.html", "/missing", "/../secret.txt"):
            status, headers, _ = request(srv.url, method, path, body=b"x=1")
            assert status == 405, (method, path)
            assert headers["allow"] == "GET, HEAD"
    assert (tree / "site" / "index.html").read_bytes() == b"content of index.html"


def test_head_matches_get_without_a_body(tree, serve_site):
    srv = serve_site(tree / "site")
    for accept in ({}, {"Accept-Encoding": "gzip"}):
        g_status, g_headers, g_body = request(srv.url, "GET", "/big.js", accept)
        h_status, h_headers, h_body = request(srv.url, "HEAD", "/big.js", accept)
        assert g_status == h_status == 200
        assert h_body == b""
        for key in ("content-type", "content-length", "etag", "last-modified", "content-encoding", "vary"):
            assert g_headers.get(key) == h_headers.get(key), key
        assert int(h_headers["content-length"]) == len(g_body)


# ------------------------------------------------------------------ gzip and caching


def test_gzip_negotiation(tree, serve_site):
    root = tree / "site"
    original = (root / "big.js").read_bytes()
    srv = serve_site(root)

    status, headers, body = request(srv.url, path="/big.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert int(headers["content-length"]) == len(body) == (root / "big.js.gz").stat().st_size
    assert gzip.decompress(body) == original
    assert headers["content-type"].startswith("text/javascript")

    for accept in (None, "identity", "gzip;q=0", "br", "deflate", "gzip;q=0, *;q=1", "*;q=1, gzip;q=0"):
        status, headers, body = request(srv.url, path="/big.js", headers={"Accept-Encoding": accept} if accept else {})
        assert status == 200 and "content-encoding" not in headers, accept
        assert headers["vary"] == "Accept-Encoding"
        assert body == original
    assert request(srv.url, path="/big.js", headers={"Accept-Encoding": "*"})[1].get("content-encoding") == "gzip"

    # the .gz itself, asked for by name, is a gzip file, not an encoding
    status, headers, body = request(srv.url, path="/big.js.gz", headers={"Accept-Encoding": "gzip"})
    assert headers["content-type"] == "application/gzip" and "content-encoding" not in headers

    # a stale .gz (older than the file) is never served
    old = time.time() - 100
    os.utime(root / "big.js.gz", (old, old))
    status, headers, body = request(srv.url, path="/big.js", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in headers and body == original


def test_real_site_sends_precompressed_wasm(server):
    wasm = SITE / "vendor" / "pyodide" / "pyodide.asm.wasm"
    if not (wasm.with_name(wasm.name + ".gz")).is_file():
        pytest.fail("site/vendor/pyodide/pyodide.asm.wasm.gz missing: run `make runtime`")
    status, headers, body = request(
        server, path="/vendor/pyodide/pyodide.asm.wasm", headers={"Accept-Encoding": "gzip"}
    )
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/wasm"
    assert len(body) < wasm.stat().st_size / 2
    assert gzip.decompress(body)[:4] == b"\0asm"


def test_conditional_requests_answer_304(tree, serve_site):
    root = tree / "site"
    srv = serve_site(root)
    status, headers, _ = request(srv.url, path="/a.css")
    etag, modified = headers["etag"], headers["last-modified"]

    status, headers, body = request(srv.url, path="/a.css", headers={"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["etag"] == etag
    assert request(srv.url, path="/a.css", headers={"If-None-Match": f'"nope", {etag}'})[0] == 304
    assert request(srv.url, path="/a.css", headers={"If-Modified-Since": modified})[0] == 304
    assert request(srv.url, path="/a.css", headers={"If-None-Match": '"other"'})[0] == 200
    assert request(srv.url, path="/a.css", headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})[0] == 200
    assert request(srv.url, path="/a.css", headers={"If-Modified-Since": "garbage"})[0] == 200

    # the gzip and identity forms have different validators; each revalidates
    gz_etag = request(srv.url, path="/big.js", headers={"Accept-Encoding": "gzip"})[1]["etag"]
    plain_etag = request(srv.url, path="/big.js")[1]["etag"]
    assert gz_etag != plain_etag
    assert request(srv.url, path="/big.js", headers={"Accept-Encoding": "gzip", "If-None-Match": gz_etag})[0] == 304

    # a changed file is sent again
    time.sleep(0.01)
    (root / "a.css").write_text("body { color: red }")
    status, headers, body = request(srv.url, path="/a.css", headers={"If-None-Match": etag})
    assert status == 200 and body == b"body { color: red }" and headers["etag"] != etag


# ------------------------------------------------------------------ many clients


def test_many_clients_at_once(server, tree, serve_site):
    srv = serve_site(tree / "site")
    # a client that connects and sends half a request must not hold up the others
    stalled = socket.create_connection((srv.host, srv.port))
    stalled.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n")
    errors: list[str] = []

    def client(i: int) -> None:
        try:
            for path in ("/big.js", "/a.wasm", "/", f"/missing-{i}"):
                status, _, body = request(srv.url, path=path, headers={"Accept-Encoding": "gzip"} if i % 2 else {})
                if status != (404 if "missing" in path else 200):
                    errors.append(f"{i} {path} {status}")
        except Exception as e:  # noqa: BLE001 - collected and reported below
            errors.append(f"{i}: {e!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(40)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    stalled.close()
    assert not errors, errors[:5]
    assert time.monotonic() - started < 20

    # keep-alive: several requests on one connection
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    for _ in range(5):
        conn.request("GET", "/a.json")
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b"content of a.json"
    conn.close()


# ------------------------------------------------------------------ the command itself


def run_serve(*args: str, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SERVE), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def test_port_in_use_is_a_clear_message():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_serve("--port", str(port))
    assert result.returncode != 0
    assert f"port {port} is in use: pass --port N or stop the other server" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_a_port_out_of_range_is_one_clear_line(port):
    result = run_serve("--port", port)
    assert result.returncode == 2
    assert result.stderr == f"serve.py: error: --port {port} is not a port number (0-65535; 0 picks a free one)\n"
    assert result.stdout == ""


def test_listening_beyond_loopback_warns_that_the_network_can_reach_it(tree, serve_site):
    srv = serve_site(tree / "site", "--host", "0.0.0.0")
    assert srv.host == "0.0.0.0"
    assert "warning: listening on 0.0.0.0, not on loopback: the site is now reachable from the network" in srv.log_text()
    assert request(f"http://127.0.0.1:{srv.port}", path="/a.json")[0] == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2"])
def test_loopback_gives_no_network_warning(tree, serve_site, host):
    assert "reachable from the network" not in serve_site(tree / "site", "--host", host).log_text()


def test_help():
    result = run_serve("--help")
    assert result.returncode == 0
    for option in ("--host", "--port", "--root"):
        assert option in result.stdout


def test_ctrl_c_stops_cleanly_and_logs_one_line_per_request(tree, serve_site):
    srv = serve_site(tree / "site")
    assert request(srv.url, path="/a.json")[0] == 200
    assert request(srv.url, "HEAD", "/missing")[0] == 404
    assert request(srv.url, "POST", "/a.json", body=b"")[0] == 405
    time.sleep(0.2)
    assert srv.stop(signal.SIGINT) == 0
    log = srv.log_text()
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]
    assert len(lines) == 3, lines  # one line per request (threads may log in either order)
    for pattern in (r"127\.0\.0\.1 GET /a\.json 200 \d+$", r"HEAD /missing 404 \d+$", r"POST /a\.json 405 \d+$"):
        assert any(re.search(pattern, line) for line in lines), (pattern, lines)


def test_sigterm_stops_cleanly(tree, serve_site):
    srv = serve_site(tree / "site")
    assert srv.stop(signal.SIGTERM) == 0
    assert "Traceback" not in srv.log_text()


def test_warns_when_the_runtime_is_not_built(tree, serve_site):
    srv = serve_site(tree / "site")
    log = srv.log_text()
    assert "runtime is not built" in log and "make runtime" in log
    assert request(srv.url, path="/")[0] == 200  # it still serves


def test_no_warning_with_a_built_runtime(tree, serve_site):
    (tree / "site" / "vendor").mkdir()
    (tree / "site" / "vendor" / ".complete").write_text("{}")
    srv = serve_site(tree / "site")
    assert "runtime is not built" not in srv.log_text()


def test_missing_root_is_an_error(tmp_path):
    result = run_serve("--root", str(tmp_path / "nope"), "--port", "0")
    assert result.returncode != 0 and "is not a folder" in result.stderr


# ------------------------------------------------------------------ the deployed site


OUTSIDE = re.compile(r"""https?://(?!127\.0\.0\.1|localhost|\[::1\])[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*""", re.I)
XML_NAMESPACES = ("http://www.w3.org/",)


def test_site_names_no_outside_address():
    """Everything the page loads comes from the site: no file in site/ (outside vendor/) names another host.

    Tolerated: XML namespace names (never fetched) and <a href> links a person may follow (navigation,
    not a load). vendor/ is third-party code: Pyodide names its CDN as a default, which worker.js overrides
    with its own indexURL."""
    found = []
    for path in sorted(SITE.rglob("*")):
        rel = path.relative_to(SITE)
        if not path.is_file() or rel.parts[0] == "vendor" or path.suffix in (".npz", ".onnx", ".gz", ".whl"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix in (".html", ".htm", ".svg"):
            text = re.sub(r"""<a\s[^>]*href=["'][^"']*["']""", "<a", text, flags=re.I)
        for match in OUTSIDE.finditer(text):
            if not match.group(0).startswith(XML_NAMESPACES):
                found.append(f"{rel}: {match.group(0)}")
    assert not found, found
