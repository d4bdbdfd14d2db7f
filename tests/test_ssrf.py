"""SSRF guard: address tables, creation-time URL checks, and connect-time enforcement.

Traffic goes only to a counting server on 127.0.0.1; real DNS is never used (an autouse
fixture makes ``socket.getaddrinfo`` fail the test for anything but an IP literal).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from relaydesk.infra.net import ssrf
from relaydesk.infra.net.ssrf import (
    ForbiddenAddressError,
    GuardedResolver,
    UnsafeURL,
    check_ip_literal_host,
    check_url,
    guarded_connector,
    is_forbidden_address,
)

FORBIDDEN = [
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.9.10",
    "0.0.0.0",
    "169.254.169.254",
    "100.64.0.1",
    "100.100.100.200",
    "192.0.0.192",
    "168.63.129.16",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "ff0e::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::a00:1",  # IPv4-compatible 10.0.0.1
    "::808:808",  # IPv4-compatible, deprecated even when public
    "64:ff9b::a00:1",  # NAT64 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 127.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:0a00:0001::1",  # 6to4 10.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 169.254.169.254
    "2001::1",  # Teredo
    "2001:db8::1",
    "[::1]",
    "not-an-ip",
    "",
    "127.1",
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "[2606:4700:4700::1111]",
]


@pytest.mark.parametrize("ip", FORBIDDEN)
def test_forbidden_addresses(ip: str) -> None:
    assert is_forbidden_address(ip)


@pytest.mark.parametrize("ip", ALLOWED)
def test_allowed_addresses(ip: str) -> None:
    assert not is_forbidden_address(ip)


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail on any name lookup; IP literals pass through (the loopback server needs them)."""
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def fake(host: Any, *args: Any, **kw: Any) -> Any:
        text = host.decode() if isinstance(host, bytes) else host
        try:
            ipaddress.ip_address(text)
        except (ValueError, TypeError):
            if text is not None:
                looked_up.append(str(text))
                raise socket.gaierror(socket.EAI_NONAME, "real DNS is disabled in tests") from None
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return looked_up


def resolves_to(*addresses: str, calls: list[str] | None = None) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return list(addresses)

    return resolve


# --- check_url -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # http needs allow_private
        "ftp://example.com/",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://[fd00:ec2::254]/",
        "https://100.100.100.200/",
        "https://127.1/",  # legacy numeric forms are addresses, not names
        "https://2130706433/",
        "https://0x7f.0.0.1/",
        "https://localhost/",
        "https://LOCALHOST./",
        "https://app.localhost/",
        "https://printer.local/",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://metadata/",  # single-label names resolve through search domains
        "https://user:pass@example.com/",
        "https://user@example.com/",
        "https://example.com:0/",
        "https://example.com:99999/",
        "https:///path-only",
        "/relative",
        "",
    ],
)
async def test_check_url_rejects(url: str) -> None:
    calls: list[str] = []
    with pytest.raises(UnsafeURL) as info:
        await check_url(url, allow_private=False, resolver=resolves_to("8.8.8.8", calls=calls))
    assert str(info.value)
    assert info.value.message == str(info.value)
    assert calls == []  # rejected before any lookup


async def test_check_url_http_message() -> None:
    with pytest.raises(UnsafeURL, match="must use https"):
        await check_url("http://example.com/", allow_private=False, resolver=resolves_to("8.8.8.8"))


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1]/",
        "http://127.0.0.1:8080/",
        "http://localhost:8000/hook",
        "https://10.0.0.1/",
    ],
)
async def test_check_url_allow_private_accepts(url: str) -> None:
    calls: list[str] = []
    await check_url(url, allow_private=True, resolver=resolves_to("127.0.0.1", calls=calls))
    assert calls == []  # nothing to check, nothing resolved


async def test_check_url_allow_private_still_checks_shape() -> None:
    for url in ("ftp://127.0.0.1/", "http://u:p@127.0.0.1/", "http://127.0.0.1:0/"):
        with pytest.raises(UnsafeURL):
            await check_url(url, allow_private=True)


async def test_check_url_accepts_public_host() -> None:
    calls: list[str] = []
    resolver = resolves_to("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", calls=calls)
    await check_url("https://example.com/hook?x=1", allow_private=False, resolver=resolver)
    await check_url("https://8.8.8.8/", allow_private=False, resolver=resolver)
    await check_url("https://[2606:4700:4700::1111]:8443/", allow_private=False)
    assert calls == ["example.com"]  # IP literals are not resolved


async def test_check_url_idn_host_is_resolved_as_punycode() -> None:
    calls: list[str] = []
    await check_url(
        "https://münchen.de/", allow_private=False, resolver=resolves_to("8.8.8.8", calls=calls)
    )
    assert calls == ["xn--mnchen-3ya.de"]


async def test_check_url_rejects_host_resolving_to_loopback() -> None:
    with pytest.raises(UnsafeURL, match="non-public address"):
        await check_url(
            "https://evil.test/", allow_private=False, resolver=resolves_to("127.0.0.1")
        )


async def test_check_url_rejects_if_any_address_is_private() -> None:
    with pytest.raises(UnsafeURL, match="non-public address"):
        await check_url(
            "https://evil.test/", allow_private=False, resolver=resolves_to("8.8.8.8", "10.0.0.1")
        )


async def test_check_url_rejects_mapped_address_from_dns() -> None:
    with pytest.raises(UnsafeURL):
        await check_url(
            "https://evil.test/", allow_private=False, resolver=resolves_to("::ffff:127.0.0.1")
        )


async def test_check_url_resolution_failures() -> None:
    async def fails(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnsafeURL, match=r"Could not resolve host example\.invalid\."):
        await check_url("https://example.invalid/", allow_private=False, resolver=fails)
    with pytest.raises(UnsafeURL, match="Could not resolve host"):
        await check_url("https://empty.test/", allow_private=False, resolver=resolves_to())


async def test_check_url_default_resolver_uses_getaddrinfo(no_real_dns: list[str]) -> None:
    # The autouse fixture makes every name lookup fail, so this exercises the default path.
    with pytest.raises(UnsafeURL, match=r"Could not resolve host example\.invalid\."):
        await check_url("https://example.invalid/", allow_private=False)
    assert no_real_dns == ["example.invalid"]


# --- check_ip_literal_host -----------------------------------------------------------------


def test_check_ip_literal_host() -> None:
    for url in (
        "http://127.0.0.1:8080/",
        "https://[::1]/",
        "https://169.254.169.254/",
        "http://127.1/",
    ):
        with pytest.raises(UnsafeURL):
            check_ip_literal_host(url, allow_private=False)
        check_ip_literal_host(url, allow_private=True)
    check_ip_literal_host("https://8.8.8.8/", allow_private=False)
    check_ip_literal_host("https://evil.test/", allow_private=False)  # names: resolver's job


# --- GuardedResolver and the connector -----------------------------------------------------


class FakeResolver(AbstractResolver):
    """Resolves every name to fixed addresses and records the lookups."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.calls: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=a,
                port=port,
                family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_guarded_resolver_filters_and_raises() -> None:
    mixed = GuardedResolver(FakeResolver("10.0.0.1", "8.8.8.8", "::1"), allow_private=False)
    assert [r["host"] for r in await mixed.resolve("evil.test", 443)] == ["8.8.8.8"]

    inner = FakeResolver("127.0.0.1")
    with pytest.raises(ForbiddenAddressError, match="forbidden address"):
        await GuardedResolver(inner, allow_private=False).resolve("evil.test", 443)
    assert isinstance(ForbiddenAddressError(), OSError)

    permissive = GuardedResolver(inner, allow_private=True)
    assert [r["host"] for r in await permissive.resolve("evil.test", 443)] == ["127.0.0.1"]


async def test_guarded_resolver_rejects_private_names_without_lookup() -> None:
    inner = FakeResolver("8.8.8.8")
    with pytest.raises(ForbiddenAddressError):
        await GuardedResolver(inner, allow_private=False).resolve("localhost", 80)
    assert inner.calls == []


@pytest.fixture
async def counting_server() -> AsyncIterator[tuple[int, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request path."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, seen
    finally:
        await runner.cleanup()


async def post(connector: aiohttp.TCPConnector, url: str) -> int:
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        session.post(url, json={"event": "test"}) as response,
    ):
        return response.status


async def test_connector_blocks_name_resolving_to_loopback(
    counting_server: tuple[int, list[str]],
) -> None:
    port, seen = counting_server
    inner = FakeResolver("127.0.0.1")
    connector = guarded_connector(allow_private=False, resolver=inner)
    with pytest.raises(aiohttp.ClientConnectorError) as info:
        await post(connector, f"http://evil.test:{port}/hook")
    assert isinstance(info.value, aiohttp.ClientConnectorDNSError)  # refused by the resolver
    assert isinstance(info.value.os_error, ForbiddenAddressError)
    assert inner.calls == ["evil.test"]
    assert seen == []  # nothing was sent


async def test_connector_allow_private_reaches_server(
    counting_server: tuple[int, list[str]],
) -> None:
    port, seen = counting_server
    connector = guarded_connector(allow_private=True, resolver=FakeResolver("127.0.0.1"))
    assert await post(connector, f"http://evil.test:{port}/hook") == 200
    assert seen == ["/hook"]


async def test_connector_blocks_ip_literal_at_socket_level(
    counting_server: tuple[int, list[str]],
) -> None:
    # aiohttp skips the resolver for IP literals (so also for redirects to them); the
    # connector's socket factory still refuses the address.
    port, seen = counting_server
    inner = FakeResolver("8.8.8.8")
    connector = guarded_connector(allow_private=False, resolver=inner)
    with pytest.raises(aiohttp.ClientConnectorError) as info:
        await post(connector, f"http://127.0.0.1:{port}/hook")
    assert not isinstance(info.value, aiohttp.ClientConnectorDNSError)  # by the socket factory
    assert isinstance(info.value.os_error, ForbiddenAddressError)
    assert inner.calls == []  # the resolver was never consulted
    assert seen == []


async def test_connector_blocks_redirect_to_ip_literal(
    counting_server: tuple[int, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public host that redirects to loopback: the redirect is refused, nothing is sent."""
    port, seen = counting_server
    # Pretend 127.0.0.2 is a public internet address for this test only.
    real = ssrf.is_forbidden_address
    monkeypatch.setattr(ssrf, "is_forbidden_address", lambda ip: ip != "127.0.0.2" and real(ip))

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.1:{port}/internal")

    app = web.Application()
    app.router.add_route("*", "/", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.2", 0).start()
    try:
        public_url = f"http://public.test:{runner.addresses[0][1]}/"
        inner = FakeResolver("127.0.0.2")

        connector = guarded_connector(allow_private=True, resolver=inner)
        assert await post(connector, public_url) == 200
        assert seen == ["/internal"]  # sanity: unguarded, the redirect lands

        seen.clear()
        connector = guarded_connector(allow_private=False, resolver=inner)
        with pytest.raises(aiohttp.ClientConnectorError) as info:
            await post(connector, public_url)
        assert isinstance(info.value.os_error, ForbiddenAddressError)
        assert "127.0.0.1" in str(info.value.os_error)  # the first hop was allowed
        assert seen == []
    finally:
        await runner.cleanup()
