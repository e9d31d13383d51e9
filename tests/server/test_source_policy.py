"""The pull policy's rules, with a table of host names standing in for DNS (the resolver is an input)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.source_policy import SourcePolicy, SourceRefused

DNS = {
    "cam.example": ["93.184.216.34"],
    "lan-cam": ["192.168.1.20"],
    "rebind.example": ["93.184.216.35", "127.0.0.1"],  # one public, one loopback address
    "meta.example": ["169.254.169.254"],
    "v6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
}


def resolve(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise SourceRefused(f"cannot resolve host {host!r}")
    return DNS[host]


def policy(rules: str) -> SourcePolicy:
    return SourcePolicy(rules, resolver=resolve)


@pytest.mark.parametrize(("rules", "source", "target"), [
    ("rtsp://*", "rtsp://cam.example/live", "rtsp://93.184.216.34:554/live"),
    ("rtsp://*.example:8554", "rtsp://cam.example:8554/a?channel=1", "rtsp://93.184.216.34:8554/a?channel=1"),
    ("rtsp://lan-cam", "rtsp://u:p@lan-cam/s", "rtsp://u:p@192.168.1.20:554/s"),  # an exact name: private is fine
    ("rtsp://192.168.1.0/24", "rtsp://lan-cam/s", "rtsp://192.168.1.20:554/s"),
    ("rtsp://192.168.1.0/24", "rtsp://192.168.1.7/s", "rtsp://192.168.1.7:554/s"),
    ("https://*", "https://v6.example/x.m3u8", "https://[2606:2800:220:1:248:1893:25c8:1946]:443/x.m3u8"),
    ("webcam:2", "2", "2"),
    ("webcam:*", "webcam:07", "7"),
])
def test_allowed_sources_are_pinned_to_the_checked_address(rules: str, source: str, target: str) -> None:
    assert policy(rules).check(source).target == target


@pytest.mark.parametrize(("rules", "source"), [
    ("rtsp://*", "rtsp://lan-cam/s"),  # "*" covers public addresses only
    ("rtsp://*.example", "rtsp://rebind.example/s"),  # every resolved address must pass
    ("rtsp://*", "rtsp://meta.example/"),  # link-local (cloud metadata)
    ("rtsp://*", "rtsp://127.0.0.1/"),
    ("rtsp://*", "rtsp://0.0.0.0/"),
    ("rtsp://*", "rtsp://[::1]/"),
    ("rtsp://*", "rtsp://224.0.0.1/"),
    ("rtsp://*", "rtsp://[::ffff:10.0.0.1]/"),
    ("rtsp://cam.example:554", "rtsp://cam.example:8554/"),  # another port
    ("rtsp://*", "rtsps://cam.example/"),  # another scheme
    ("rtsp://*", "http://cam.example/"),
    ("rtsp://*", "rtsp://nowhere.invalid/"),
    ("rtsp://*", "rtsp://cam.example/a?multicast"),
    ("rtsp://*", "rtsp://cam.example/a?x=1&listen=1"),
    ("rtsp://*,http://*", "tcp://cam.example:80"),
    ("webcam:1", "0"),
    ("synthetic", "webcam:0"),
    ("", "synthetic:street"),
])
def test_refused_sources(rules: str, source: str) -> None:
    with pytest.raises(SourceRefused):
        policy(rules).check(source)


def test_file_rules_resolve_links_and_dots(tmp_path: Path) -> None:
    allowed = tmp_path / "in"
    allowed.mkdir()
    (allowed / "a.mp4").write_bytes(b"x")
    (tmp_path / "out.mp4").write_bytes(b"x")
    (allowed / "link.mp4").symlink_to(tmp_path / "out.mp4")
    p = policy(f"file:{allowed}")
    assert p.check(str(allowed / "a.mp4")).target == str(allowed / "a.mp4")
    assert p.check(f"file:{allowed}/a.mp4").kind == "file"
    for escape in (str(allowed / "link.mp4"), f"{allowed}/../out.mp4", str(tmp_path / "out.mp4"), "in/a.mp4"):
        with pytest.raises(SourceRefused):
            p.check(escape)


@pytest.mark.parametrize("bad", ["rtsp://", "ftp://*", "webcam:99", "file:relative", "nonsense"])
def test_malformed_rules_are_refused_at_start(bad: str) -> None:
    with pytest.raises(ValueError):
        SourcePolicy(bad)


