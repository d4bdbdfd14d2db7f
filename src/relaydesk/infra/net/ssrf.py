"""SSRF guard for outbound webhook requests.

Two layers:

* :func:`check_url` validates a URL when a webhook is created or changed (scheme, host,
  userinfo, port; the host's addresses must all be public). It never connects anywhere.
* :func:`guarded_connector` builds the ``aiohttp`` connector used for delivery. Its
  :class:`GuardedResolver` drops non-public addresses, and aiohttp connects only to the
  addresses its resolver returns, so the check holds at connect time (no DNS rebinding
  between check and connect). aiohttp skips the resolver for IP-literal hosts, so the
  connector also refuses non-public addresses when it creates each socket, and senders call
  :func:`check_ip_literal_host` before each request for a clear error.

An address is public when, after unwrapping an IPv4 address embedded in IPv6
(``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``), it is
:attr:`ipaddress.IPv4Address.is_global`, not multicast and not in :data:`_FORBIDDEN_NETWORKS`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohappyeyeballs import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

__all__ = [
    "ForbiddenAddressError",
    "GuardedResolver",
    "HostResolver",
    "UnsafeURL",
    "check_ip_literal_host",
    "check_url",
    "guarded_connector",
    "is_forbidden_address",
]

HostResolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) -> IP address strings``; used by :func:`check_url`."""

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Blocked even if ``is_global`` says otherwise (its answers differ across Python patch
# releases, and a few cloud endpoints sit in public or oddly classified ranges).
_FORBIDDEN_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (CGNAT; Alibaba metadata 100.100.100.200)
        "127.0.0.0/8",
        "168.63.129.16/32",  # Azure WireServer (a public address, reachable from VMs only)
        "169.254.0.0/16",  # link-local (AWS/GCP/Azure/... metadata 169.254.169.254)
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments (Oracle metadata 192.0.0.192)
        "192.0.2.0/24",
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. broadcast
        "::/8",  # unspecified, loopback, IPv4-compatible, SIIT (mapped is unwrapped first)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, incl. Teredo
        "2001:db8::/32",
        "3fff::/20",  # documentation
        "fc00::/7",  # unique local (AWS metadata fd00:ec2::254)
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

_FORBIDDEN_NAMES = frozenset({"localhost", "localhost.localdomain"})
_FORBIDDEN_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_RESOLVE_TIMEOUT = 5.0


class UnsafeURL(ValueError):
    """A webhook URL that must not be used; ``str(exc)`` is a message fit for a 400 body."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ForbiddenAddressError(OSError):
    """Raised at connect time when a host has no public address (aiohttp wraps it)."""


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def _is_forbidden(addr: _IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(addr)
        if embedded is not None:
            return _is_forbidden(embedded)
    if addr.is_multicast or not addr.is_global:
        return True
    return any(addr in net for net in _FORBIDDEN_NETWORKS if net.version == addr.version)


def _parse_ip(text: str) -> _IPAddress | None:
    """Parse an IP literal (brackets and an IPv6 zone ``%eth0`` allowed); ``None`` if not one."""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_forbidden_address(ip: str) -> bool:
    """True if ``ip`` is not a public unicast address; also True if it is not an IP at all."""
    addr = _parse_ip(ip)
    return True if addr is None else _is_forbidden(addr)


def _legacy_ipv4(host: str) -> bool:
    """True for numeric IPv4 forms other than dotted quad (``127.1``, ``0x7f.1``, ``2130706433``).

    ``getaddrinfo`` accepts them as addresses, so they are never treated as names.
    """
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def _forbidden_hostname(host: str) -> bool:
    """Names that only make sense inside a private network, and single-label names."""
    if _parse_ip(host) is not None:
        return False
    name = host.rstrip(".").lower()
    return name in _FORBIDDEN_NAMES or name.endswith(_FORBIDDEN_SUFFIXES) or "." not in name


def _check_ip_host(host: str) -> bool:
    """Raise :class:`UnsafeURL` if ``host`` is a non-public IP literal; True if it is an IP."""
    addr = _parse_ip(host)
    if addr is not None:
        if _is_forbidden(addr):
            raise UnsafeURL(f"Address {host} is not a public address.")
        return True
    if _legacy_ipv4(host):
        raise UnsafeURL(f"Address {host} is not in dotted-quad form.")
    return False


def _parse(url: str) -> URL:
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as exc:
        raise UnsafeURL("Enter a valid URL.") from exc
    if not parsed.is_absolute() or not parsed.raw_host:
        raise UnsafeURL("URL must include a host.")
    return parsed


def check_ip_literal_host(url: str, *, allow_private: bool) -> None:
    """Reject a URL whose host is a non-public IP literal; call before each delivery.

    aiohttp does not call the resolver for IP-literal hosts. Hostnames pass here: the
    :class:`GuardedResolver` checks them at connect time.
    """
    host = _parse(url).raw_host
    assert host is not None  # _parse guarantees it
    if not allow_private:
        _check_ip_host(host)


async def _default_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def check_url(url: str, *, allow_private: bool, resolver: HostResolver | None = None) -> None:
    """Validate a webhook URL at creation time; raise :class:`UnsafeURL` if it is unsafe.

    https only (http too when ``allow_private``), a host, no ``user:pass@``, port 1-65535.
    Unless ``allow_private``, every address the host resolves to must be public. Resolves
    the host (with ``resolver`` if given), never connects.
    """
    parsed = _parse(url)
    schemes = {"https", "http"} if allow_private else {"https"}
    if parsed.scheme not in schemes:
        raise UnsafeURL("URL must use https." if not allow_private else "URL must use http(s).")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise UnsafeURL("URL must not contain a username or password.")
    port = parsed.port
    if port is None or not 1 <= port <= 65535:
        raise UnsafeURL("URL port must be between 1 and 65535.")
    if allow_private:
        return
    host = parsed.raw_host
    assert host is not None  # _parse guarantees it
    if _check_ip_host(host):
        return
    if _forbidden_hostname(host):
        raise UnsafeURL(f"Host {host} is not a public host name.")
    try:
        async with asyncio.timeout(_RESOLVE_TIMEOUT):
            addresses = await (resolver or _default_resolve)(host, port)
    except (OSError, TimeoutError):
        addresses = []
    if not addresses:
        raise UnsafeURL(f"Could not resolve host {host}.")
    if any(is_forbidden_address(a) for a in addresses):
        raise UnsafeURL(f"Host {host} resolves to a non-public address.")


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that returns only public addresses.

    Wraps ``inner`` (default: aiohttp's :class:`~aiohttp.ThreadedResolver`). Unless
    ``allow_private``, drops non-public addresses and raises :class:`ForbiddenAddressError`
    (an ``OSError``; aiohttp raises it as ``ClientConnectorDNSError``) when none remain.
    """

    def __init__(self, inner: AbstractResolver | None = None, *, allow_private: bool) -> None:
        self._inner = inner
        self._owns_inner = inner is None
        self.allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host`` with the inner resolver and keep only allowed addresses."""
        if self._inner is None:
            self._inner = aiohttp.ThreadedResolver()
        if not self.allow_private and _forbidden_hostname(host):
            raise ForbiddenAddressError(f"{host}: host name is not public (forbidden address)")
        results = await self._inner.resolve(host, port, family)
        if self.allow_private:
            return results
        allowed = [r for r in results if not is_forbidden_address(r["host"])]
        if not allowed:
            raise ForbiddenAddressError(f"{host}: resolves only to a forbidden address")
        return allowed

    async def close(self) -> None:
        """Close the inner resolver if this resolver created it."""
        if self._owns_inner and self._inner is not None:
            await self._inner.close()


def _guarded_socket_factory(inner: SocketFactoryType | None) -> SocketFactoryType:
    """A socket factory that refuses non-public destination addresses (covers IP literals)."""

    def factory(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        if is_forbidden_address(str(sockaddr[0])):
            raise ForbiddenAddressError(f"{sockaddr[0]}: forbidden address")
        if inner is not None:
            return inner(addr_info)
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def guarded_connector(
    *,
    allow_private: bool,
    limit: int = 0,
    limit_per_host: int = 0,
    resolver: AbstractResolver | None = None,
    **kw: Any,
) -> aiohttp.TCPConnector:
    """A :class:`aiohttp.TCPConnector` that connects only to public addresses.

    ``resolver`` (if given) is wrapped in a :class:`GuardedResolver`, never used bare. Unless
    ``allow_private``, each socket's destination is checked too, which also covers IP-literal
    hosts and redirects to them. Call inside a running event loop. Do not combine with
    proxies (``trust_env``/``proxy=``): the checks would then see the proxy's address only.
    """
    if not allow_private:
        kw["socket_factory"] = _guarded_socket_factory(kw.get("socket_factory"))
    return aiohttp.TCPConnector(
        limit=limit,
        limit_per_host=limit_per_host,
        resolver=GuardedResolver(resolver, allow_private=allow_private),
        **kw,
    )
