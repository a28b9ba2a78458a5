"""bench/browser.py's sums that need no browser: the first visit's bytes, from serve.py's log rows."""

from bench.browser import bytes_report


def test_a_304_is_a_request_but_no_bytes(tmp_path):
    (tmp_path / "index.html").write_bytes(b"x" * 1000)
    (tmp_path / "big.wasm").write_bytes(b"y" * 5000)
    log = [
        {"method": "GET", "path": "/", "status": 200, "encoding": None, "bytes": 1000},
        {"method": "GET", "path": "/big.wasm", "status": 200, "encoding": "gzip", "bytes": 800},
        {"method": "GET", "path": "/big.wasm?again", "status": 304, "encoding": None, "bytes": 0},  # asked for again
        {"method": "HEAD", "path": "/big.wasm", "status": 200, "encoding": None, "bytes": 0},  # not a download
    ]
    report = bytes_report({"server": log}, tmp_path)
    assert (report["requests"], report["revalidated"], report["gzip_served"]) == (3, 1, 1)
    assert report["wire_bytes"] == 1800
    assert report["uncompressed_bytes"] == 6000  # what the bodies sent hold unpacked, the wasm once
    assert [row["path"] for row in report["files"]][0].startswith("/big.wasm")
