"""Target URLs at save: read as a browser reads them (``sender.urls``), judged by the guard in that form,
and stored in it; the disguised internal addresses of the security review among them."""

from __future__ import annotations

import pytest

from hookline.sender import guard


@pytest.mark.parametrize(
    ("url", "allow_private", "require_https", "stored"),
    [
        ("https://hooks.example.com/x", False, True, "https://hooks.example.com/x"),
        ("http://hooks.example.com/x", False, False, "http://hooks.example.com/x"),
        ("  https://Hooks.Example.COM:443/In?a=B#f  ", False, False, "https://hooks.example.com/In?a=B#f"),
        ("http://hooks.example.com:8080", False, False, "http://hooks.example.com:8080/"),
        ("http://hooks.example.com.:0080/x", False, False, "http://hooks.example.com./x"),
        ("https://Bücher.Example/x", False, False, "https://xn--bcher-kva.example/x"),
        ("https://user:p@ss@hooks.example.com/x", False, False, "https://user:p%40ss@hooks.example.com/x"),
        ("http://8.8.8.8/x", False, False, "http://8.8.8.8/x"),
        ("http://134744072/x", False, False, "http://8.8.8.8/x"),  # 8.8.8.8 in one number
        ("http://[2606:4700:0::1111]/x", False, False, "http://[2606:4700::1111]/x"),
        ("http://my_host.example/x", False, False, "http://my_host.example/x"),
        # Allowed private targets are stored in the canonical form too.
        ("http://0x7f.1:9/x", True, False, "http://127.0.0.1:9/x"),
        ("http://%6c%6f%63%61%6c%68%6f%73%74:9/x", True, False, "http://localhost:9/x"),
        ("http://[::FFFF:127.0.0.1]:9/", True, False, "http://[::ffff:7f00:1]:9/"),
    ],
)
def test_accepted_urls_are_stored_in_canonical_form(
    url: str, allow_private: bool, require_https: bool, stored: str
) -> None:
    assert guard.target_url(url, allow_private=allow_private, require_https=require_https) == stored


@pytest.mark.parametrize(
    ("url", "words"),
    [
        # The disguised internal addresses that passed the check at save.
        ("http://127.0.0.1./", "address 127.0.0.1 is loopback"),
        ("http://2130706433./", "address 127.0.0.1 is loopback"),
        ("http://0.0.0.0./", "address 0.0.0.0 is unspecified"),
        ("http://%6c%6f%63%61%6c%68%6f%73%74/", "host localhost is a loopback name"),
        (
            "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",
            "host localhost is a loopback name",
        ),
        ("http://127\u30020\u30020\u30021/", "address 127.0.0.1 is loopback"),
        ("http://127.0.0.1 /", "not a valid host name"),
        ("http://127.0.0.1\t/", "control character U+0009"),
        ("http://localhost\t/", "control character U+0009"),
        ("http://127.0.0.1/\n", "control character U+000A"),
        # Every legacy IPv4 form, IPv6 forms of IPv4, names that are loopback by definition.
        ("http://127.1/x", "address 127.0.0.1 is loopback"),
        ("http://0x7f.0.0.1/x", "address 127.0.0.1 is loopback"),
        ("http://0177.0.0.01/x", "address 127.0.0.1 is loopback"),
        ("http://0x7f000001/x", "address 127.0.0.1 is loopback"),
        ("http://10.1/x", "address 10.0.0.1 is private"),
        ("http://169.254.43518/x", "cloud metadata address"),
        ("http://[::ffff:127.0.0.1]/x", "loopback"),
        ("http://[::ffff:a01:203]/x", "private"),
        ("http://localhost:8000/x", "host localhost is a loopback name"),
        ("http://LOCALHOST./x", "host localhost is a loopback name"),
        ("http://api.localhost/x", "host api.localhost is a loopback name"),
        ("http://METADATA.GOOGLE.INTERNAL./x", "cloud metadata name"),
        ("http://evil.example@127.0.0.1/", "address 127.0.0.1 is loopback"),
        ("http://user@evil.example@127.1/", "address 127.0.0.1 is loopback"),
        # The rest of the old table.
        ("http://[fe80::1]/x", "link-local"),
        ("http://[fc00::5]/x", "private"),
        ("http://192.168.1.1/x", "private"),
        ("http://172.16.0.1/x", "private"),
        ("http://100.64.0.1/x", "shared address space"),
        ("http://224.0.0.1/x", "multicast"),
        ("http://[::]/x", "unspecified"),
        # Forms that clients read differently, or not at all.
        ("http://evil.example\\@127.0.0.1/", "backslash"),
        ("http:/hooks.example.com/x", "write the URL as http://host/path"),
        ("http:///x", "write the URL as http://host/path"),
        ("http://[fe80::1%25eth0]/", "zone id"),
        ("http://1.2.3.4.5/", "not an IPv4 address"),
        ("http://256.0.0.1/", "out of range"),
        ("http://09/", "not an IPv4 address"),
        ("http://%ff/", "not a valid host name"),
        ("http://a\u200db.example/", "not a valid international domain name"),
        ("http://hooks.example.com:65536/", "port"),
        ("ftp://hooks.example.com/x", "scheme 'ftp' is not allowed"),
        ("hooks.example.com/x", "no scheme"),
        ("http://:80/x", "no host"),
    ],
)
def test_refused_urls_say_why(url: str, words: str) -> None:
    with pytest.raises(guard.Blocked) as refused:
        guard.target_url(url, allow_private=False, require_https=False)
    assert words in refused.value.reason


def test_https_can_be_required() -> None:
    with pytest.raises(guard.Blocked, match="https is required"):
        guard.target_url("http://hooks.example.com/x", allow_private=False, require_https=True)
