#!/usr/bin/env python3
"""Serve site/ on http://127.0.0.1:8000/ - a small static server, standard library only.

    python3 serve.py [--host 127.0.0.1] [--port 8000] [--root site]

- GET and HEAD only (anything else: 405 with an Allow header); one thread per connection.
- Never serves a file outside the root: `..` segments, encoded dots, encoded slashes,
  absolute paths and symlinks that lead out are all refused (resolved, then checked).
- Types the page needs: .wasm application/wasm, .mjs/.js text/javascript, .whl, .npz, .onnx,
  .webmanifest, .py, .toml, ...
- Serves `X.gz` in place of `X` (Content-Encoding: gzip) to clients that accept gzip, when
  `make runtime` wrote one; ETag / Last-Modified, so reloads are answered with 304.
- Cache-Control: no-cache (always revalidate); the page's service worker handles offline.
"""

from __future__ import annotations

import argparse
import email.utils
import errno
import ipaddress
import mimetypes
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".npz": "application/octet-stream",
    ".npy": "application/octet-stream",
    ".onnx": "application/octet-stream",
    ".gz": "application/gzip",
    ".py": "text/x-python; charset=utf-8",
    ".toml": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
ALLOWED = "GET, HEAD"
CHUNK = 1 << 16


def content_type(path: Path) -> str:
    kind = TYPES.get(path.suffix.lower())
    if kind is None:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return kind


def accepts_gzip(header: str | None) -> bool:
    """True if an Accept-Encoding header allows gzip (honours q=0 and `*`)."""
    if not header:
        return False
    star = None
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding in ("gzip", "x-gzip"):
            return q > 0
        if coding == "*":
            star = q > 0
    return bool(star)


def http_date(seconds: float) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


class Refused(Exception):
    """A request path that is malformed (400) or not servable (404)."""

    def __init__(self, status: HTTPStatus):
        super().__init__(status.phrase)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    server_version = "digits-serve"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # keep-alive: the page fetches dozens of files
    timeout = 30  # an idle keep-alive connection frees its thread after this
    root: Path  # set on the subclass made by make_handler()

    # ------------------------------------------------------------ methods

    def do_GET(self) -> None:
        self.respond(send_body=True)

    def do_HEAD(self) -> None:
        self.respond(send_body=False)

    def __getattr__(self, name: str):
        # http.server looks up do_<METHOD>; every method but GET and HEAD gets a 405.
        if name.startswith("do_"):
            return self.method_not_allowed
        raise AttributeError(name)

    def method_not_allowed(self) -> None:
        self.send_plain(HTTPStatus.METHOD_NOT_ALLOWED, extra={"Allow": ALLOWED})

    # ------------------------------------------------------------ paths

    def resolve(self) -> tuple[Path, str]:
        """The file (or directory) the request names, inside the root; and the decoded URL path."""
        target = self.path
        if not target.startswith("/"):
            if target.lower().startswith(("http://", "https://")):  # absolute-form request target
                target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
            else:
                raise Refused(HTTPStatus.BAD_REQUEST)
        raw = target.split("?", 1)[0].split("#", 1)[0]
        lowered = raw.lower()
        if any(bad in lowered for bad in ("%2f", "%5c", "%00", "\\")):  # encoded separators, NUL
            raise Refused(HTTPStatus.BAD_REQUEST)
        try:
            path = urllib.parse.unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise Refused(HTTPStatus.BAD_REQUEST) from None
        if "\x00" in path or "\\" in path:
            raise Refused(HTTPStatus.BAD_REQUEST)
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if any(p == ".." for p in parts):
            raise Refused(HTTPStatus.NOT_FOUND)
        candidate = self.root.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            raise Refused(HTTPStatus.NOT_FOUND) from None
        if not resolved.is_relative_to(self.root):  # a symlink that leads out
            raise Refused(HTTPStatus.NOT_FOUND)
        return resolved, path

    def inside(self, path: Path) -> Path | None:
        """`path` resolved if it is a regular file inside the root, else None."""
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            return None
        if resolved.is_relative_to(self.root) and resolved.is_file():
            return resolved
        return None

    # ------------------------------------------------------------ responses

    def respond(self, send_body: bool) -> None:
        try:
            path, url_path = self.resolve()
        except Refused as e:
            self.send_plain(e.status)
            return
        if path.is_dir():
            if not url_path.endswith("/"):
                query = self.path.partition("?")[2]
                location = urllib.parse.quote(url_path + "/") + ("?" + query if query else "")
                self.send_plain(HTTPStatus.MOVED_PERMANENTLY, extra={"Location": location})
                return
            path = self.inside(path / "index.html")  # None without one: no directory listings
        if path is None or not path.is_file():
            self.send_plain(HTTPStatus.NOT_FOUND)
            return
        self.send_file(path, send_body)

    def send_file(self, path: Path, send_body: bool) -> None:
        """200 with the file, or with its fresh .gz copy to a client that accepts gzip; 304 if unchanged."""
        body, encoding = path, None
        gz = None if path.suffix == ".gz" else self.inside(path.with_name(path.name + ".gz"))
        try:
            st = path.stat()
            if gz is not None and gz.stat().st_mtime_ns < st.st_mtime_ns:
                gz = None  # stale copy: the original changed after it was written
            if gz is not None and accepts_gzip(self.headers.get("Accept-Encoding")):
                body, encoding = gz, "gzip"
            bst = body.stat()
            f = open(body, "rb") if send_body else None
        except OSError:
            self.send_plain(HTTPStatus.NOT_FOUND)
            return

        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}{"-gz" if encoding else ""}"'
        headers = {
            "Content-Type": content_type(path),
            "Cache-Control": "no-cache",
            "ETag": etag,
            "Last-Modified": http_date(st.st_mtime),
            "X-Content-Type-Options": "nosniff",
        }
        if gz is not None:
            headers["Vary"] = "Accept-Encoding"
        if encoding:
            headers["Content-Encoding"] = encoding

        try:
            if self.not_modified(etag, st.st_mtime):
                self.send_not_modified(headers)
                return
            self.send_response_only(HTTPStatus.OK)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(bst.st_size))
            self.end_headers()
            if f is not None:
                self.wfile.flush()
                self.connection.sendfile(f)
            self.log_line(HTTPStatus.OK, bst.st_size if send_body else 0, encoding)
        finally:
            if f is not None:
                f.close()

    def send_not_modified(self, headers: dict[str, str]) -> None:
        self.send_response_only(HTTPStatus.NOT_MODIFIED)
        for key in ("Cache-Control", "ETag", "Last-Modified", "Vary"):
            if key in headers:
                self.send_header(key, headers[key])
        self.send_header("Content-Length", "0")  # harmless, and keeps some clients from waiting
        self.end_headers()
        self.log_line(HTTPStatus.NOT_MODIFIED, 0)

    def not_modified(self, etag: str, mtime: float) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError, OverflowError, IndexError):
                return False
            return int(mtime) <= since
        return False

    def send_plain(self, status: HTTPStatus, extra: dict[str, str] | None = None) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if status >= 400 and status != HTTPStatus.NOT_FOUND:
            # 405/400: the request may carry a body we did not read, so the connection cannot be reused.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log_line(status, len(body))

    # http.server's own error path (malformed request lines, 414, 501 ...): same plain form.
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = True
        try:
            status = HTTPStatus(code)
        except ValueError:
            status = HTTPStatus.BAD_REQUEST
        self.send_plain(status)

    # ------------------------------------------------------------ logging

    def log_line(self, status: int, size: int, encoding: str | None = None) -> None:
        method = getattr(self, "command", None) or "-"
        path = getattr(self, "path", None) or "-"
        shown = path if len(path) <= 200 else path[:200] + "..."
        shown = shown.encode("ascii", "backslashreplace").decode("ascii")
        shown = "".join(c if c.isprintable() else "?" for c in shown)
        note = f" {encoding}" if encoding else ""
        stamp = time.strftime("%H:%M:%S")
        sys.stderr.write(f"{stamp} {self.client_address[0]} {method} {shown} {int(status)} {size}{note}\n")

    def log_request(self, code="-", size="-") -> None:  # replaced by log_line
        pass

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        if format.startswith("Request timed out"):
            return  # an idle keep-alive connection closing: routine
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {self.client_address[0]} {format % args}\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connecting at once

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return  # the client went away or idled out: nothing to report
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {client_address[0]} error: {exc!r}\n")


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1); False for 0.0.0.0, :: and the rest."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_handler(root: Path) -> type[Handler]:
    return type("SiteHandler", (Handler,), {"root": root})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="serve.py",
        description="Serve the static site (default: site/) on 127.0.0.1. Standard library only. "
        "GET and HEAD; precompressed .gz copies for clients that accept gzip; 304 on reload.",
        epilog="The page needs the Python runtime in site/vendor/: build it once with `make runtime` "
        "(`make serve` does both).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    parser.add_argument("--root", type=Path, default=HERE / "site", help="folder to serve (default: site/)")
    args = parser.parse_args(argv)

    if not 0 <= args.port <= 65535:
        print(f"serve.py: error: --port {args.port} is not a port number (0-65535; 0 picks a free one)", file=sys.stderr)
        return 2
    root = args.root.resolve()
    if not root.is_dir():
        print(f"serve.py: error: {args.root} is not a folder", file=sys.stderr)
        return 2
    if not (root / "vendor" / ".complete").is_file():
        print(
            f"serve.py: warning: the Python runtime is not built ({root / 'vendor' / '.complete'} is missing): "
            "run `make runtime`; until then the page cannot start Python",
            file=sys.stderr,
            flush=True,
        )

    server = listen(args.host, args.port, root)
    if server is None:
        return 1
    serve_until_stopped(server, root)
    return 0


def listen(host: str, port: int, root: Path) -> Server | None:
    """A server bound to host:port serving root; None, once it has said why on stderr, if it cannot listen."""
    Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return Server((host, port), make_handler(root))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            print(
                f"serve.py: error: port {port} is in use: pass --port N or stop the other server",
                file=sys.stderr,
            )
        elif e.errno == errno.EACCES:
            print(
                f"serve.py: error: no permission to listen on port {port}: pass --port N (1024 or above)",
                file=sys.stderr,
            )
        else:
            print(f"serve.py: error: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr)
        return None


def serve_until_stopped(server: Server, root: Path) -> None:
    """Print the address it serves at, then serve until Ctrl-C or SIGTERM; the socket is closed either way."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    host, port = server.server_address[:2]
    shown_host = f"[{host}]" if ":" in host else host
    if not is_loopback(host):
        print(
            f"serve.py: warning: listening on {shown_host}, not on loopback: the site is now reachable from the network "
            "by anyone who can reach this machine (the default, --host 127.0.0.1, keeps it to this machine)",
            file=sys.stderr,
            flush=True,
        )
    try:
        display_root = root.relative_to(Path.cwd())
    except ValueError:
        display_root = root
    try:
        signal.signal(signal.SIGTERM, stop)
        # Ctrl-C stops it even when started as a background job, which inherits SIGINT ignored
        # (and Python then leaves it ignored): that server could only be killed.
        signal.signal(signal.SIGINT, stop)
        # The line start() below waits for (URL_LINE): the address, once the socket listens.
        print(f"Serving {display_root}/ at http://{shown_host}:{port}/  (Ctrl-C to stop)", flush=True)
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.server_close()
    print("\nstopped", flush=True)


# ---------------------------------------------------------- serve.py as a child process
# How the tests (tests/conftest.py) and bench/browser.py run it: exactly as a person would, a
# subprocess on a free port, its address read from the line main() prints once it listens.

URL_LINE = re.compile(r"http://(\S+):(\d+)/")


@dataclass
class RunningServer:
    url: str  # base URL, no trailing slash, e.g. "http://127.0.0.1:41234"
    host: str
    port: int
    process: subprocess.Popen
    log: Path  # serve.py's stderr: warnings and one line per request

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        """Stop as Ctrl-C would (or by ``sig``); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout:
            self.process.stdout.close()
        return self.process.returncode


def start(root: Path, log: Path, *extra: str, timeout: float = 15) -> RunningServer:
    """Start ``python serve.py --host 127.0.0.1 --root ROOT`` (port 0 unless ``extra`` names one,
    ``extra`` last so it can override) with its stderr in ``log``, a file that cannot fill up as a
    pipe would; return once it prints its URL. RuntimeError with its log if it does not start."""
    args = [sys.executable, str(Path(__file__).resolve()), "--host", "127.0.0.1", "--root", str(root)]
    if "--port" not in extra:
        args += ["--port", "0"]
    args += list(extra)
    with open(log, "w", encoding="utf-8") as err:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(args, cwd=HERE, stdout=subprocess.PIPE, stderr=err, text=True)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if process.poll() is not None or left <= 0:
            process.kill()
            process.wait()
            raise RuntimeError(f"serve.py did not start: {Path(log).read_text(errors='replace').strip()}")
        if select.select([process.stdout], [], [], left)[0]:
            match = URL_LINE.search(process.stdout.readline())
            if match:
                host, port = match.group(1), int(match.group(2))
                return RunningServer(f"http://{host}:{port}", host, port, process, Path(log))


if __name__ == "__main__":
    sys.exit(main())
