"""Where the server may send a request of its own (Letzshop, vendors' webhooks).

An URL passes when its scheme is allowed (``https`` only in production), its host is on the
allow-list, and every address the host resolves to is public or inside a listed network. Loopback
is allowed too in development and test, where the sandbox runs on 127.0.0.1.

Allow-list entries are host names (exact, case-insensitive) or IP networks in CIDR form (a bare
address is a /32 or /128). A name entry lets that name through but never unlocks a private
address; a network entry admits literal addresses inside it and resolved addresses inside it.

``GuardedTransport`` repeats the check on every connection and connects to the address it
checked: httpx never resolves the name itself, so a DNS answer that changes between the check and
the connect (rebinding) reaches nothing new. TLS still verifies the certificate against the name.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)

import httpcore
import httpx

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
Resolver = Callable[[str, int], list[str]]

_NAT64 = ip_network("64:ff9b::/96")
# httpx quietly percent-encodes or strips these; a URL holding them was not typed by a person.
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_LOCALHOST = "localhost"
# How long validating an endpoint for storage waits for DNS (getaddrinfo has no timeout of its own).
STORE_LOOKUP_SECONDS = 2.0
_STORE_LOOKUPS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="outbound-lookup")


class Refusal(StrEnum):
    """Why a URL was refused; stable values, used as ``details.reason`` by the API."""

    URL = "url"
    SCHEME = "scheme"
    HOST = "host"
    ADDRESS = "address"


class OutboundRefusedError(Exception):
    """The policy refuses this URL or address. Nothing was sent."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (raises ``OSError`` if none)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    https_only: bool = True
    allow_loopback: bool = False
    resolver: Resolver = field(default=system_resolver, compare=False)
    # Any public host name or address (webhooks: the vendor names the receiver); private and
    # loopback ones still only through a listed network.
    any_public_host: bool = False

    @classmethod
    def from_entries(
        cls,
        entries: Iterable[str],
        *,
        https_only: bool,
        allow_loopback: bool,
        resolver: Resolver = system_resolver,
        any_public_host: bool = False,
    ) -> OutboundPolicy:
        """A policy from allow-list entries: host names and CIDR networks, mixed."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ip_network(entry, strict=False))
            except ValueError:
                hosts.add(_normal_host(entry))
        return cls(
            frozenset(hosts), tuple(networks), https_only, allow_loopback, resolver, any_public_host
        )

    @classmethod
    def for_env(
        cls, env: str, entries: Iterable[str], *, resolver: Resolver = system_resolver
    ) -> OutboundPolicy:
        """The rules per environment: https only in production, loopback outside it."""
        production = env == "production"
        return cls.from_entries(
            entries, https_only=production, allow_loopback=not production, resolver=resolver
        )

    def check_url(self, url: str | httpx.URL) -> httpx.URL:
        """Refuse by scheme, user info or host, without touching the network."""
        parsed = _parse(url)
        allowed = ("https",) if self.https_only else ("http", "https")
        if parsed.scheme not in allowed:
            wanted = "https" if self.https_only else "http or https"
            raise OutboundRefusedError(Refusal.SCHEME, f"the URL must use {wanted}")
        if parsed.userinfo:
            raise OutboundRefusedError(Refusal.URL, "the URL must not carry a user or password")
        if not parsed.host:
            raise OutboundRefusedError(Refusal.URL, "the URL has no host")
        self.check_host(parsed.host)
        return parsed

    def check_host(self, host: str) -> None:
        literal = _literal_address(host)
        if literal is not None:
            self._check_literal(literal)
            return
        name = _normal_host(host)
        if self.any_public_host or name in self.allowed_hosts:
            return  # its addresses are checked when it is resolved
        if self.allow_loopback and name == _LOCALHOST:
            return
        raise OutboundRefusedError(Refusal.HOST, f"host {name!r} is not on the allow-list")

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The checked addresses to connect to: every answer must pass, or none is used.

        Raises ``OutboundRefusedError`` for a refused host or answer, ``OSError`` when the name
        does not resolve."""
        self.check_host(host)
        literal = _literal_address(host)
        if literal is not None:
            return [literal]
        answers = list(dict.fromkeys(ip_address(a) for a in self.resolver(host, port)))
        if not answers:
            raise OSError(f"{host} has no address")
        for address in answers:
            if not self._address_allowed(address):
                raise OutboundRefusedError(
                    Refusal.ADDRESS,
                    f"host {_normal_host(host)!r} resolves to a private, loopback, link-local "
                    "or reserved address",
                )
        return answers

    def check_endpoint(self, url: str) -> str:
        """Validate a URL before it is stored: the static checks, then the resolved addresses
        when the name resolves within a short wait (else it is checked at request time; the
        caller may hold a database transaction). Returns the URL as httpx normalises it."""
        parsed = self.check_url(url)
        port = parsed.port or _default_port(parsed.scheme)
        lookup = _STORE_LOOKUPS.submit(self.addresses, parsed.host, port)
        # TimeoutError is an OSError: a slow resolver counts as "does not resolve yet".
        with contextlib.suppress(OSError):
            lookup.result(timeout=STORE_LOOKUP_SECONDS)
        return str(parsed)

    def _check_literal(self, address: IPAddress) -> None:
        if self._listed(address) or (self.allow_loopback and _unwrap(address).is_loopback):
            return
        if not _is_public(address):
            raise OutboundRefusedError(
                Refusal.ADDRESS,
                f"address {address} is private, loopback, link-local or reserved",
            )
        if self.any_public_host:
            return
        raise OutboundRefusedError(Refusal.HOST, f"address {address} is not on the allow-list")

    def _address_allowed(self, address: IPAddress) -> bool:
        if self._listed(address):
            return True
        if self.allow_loopback and _unwrap(address).is_loopback:
            return True
        return _is_public(address)

    def _listed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks)


class _PinnedBackend(httpcore.NetworkBackend):
    """Resolves and checks the host itself, then connects to a checked address."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.addresses(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        error: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                # httpcore starts TLS on this stream with the origin's name, not this address.
                return self._sockets.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise OutboundRefusedError(Refusal.ADDRESS, "unix sockets are never allowed")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport that sends only where ``policy`` allows, pinned to checked addresses.

    Use it with ``follow_redirects=False`` and ``trust_env=False`` (no proxy from the
    environment), as ``guarded_client`` does."""

    def __init__(self, policy: OutboundPolicy, *, verify: ssl.SSLContext | None = None) -> None:
        context = verify or httpx.create_ssl_context()
        super().__init__(verify=context)
        self._policy = policy
        # httpx 0.28 takes no network backend, so its pool is rebuilt around the guarded one,
        # with httpx's own defaults for the limits.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_PinnedBackend(policy),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._policy.check_url(request.url)
        return super().handle_request(request)


def _parse(url: str | httpx.URL) -> httpx.URL:
    text = str(url)
    if _CONTROL_OR_SPACE.search(text):
        raise OutboundRefusedError(Refusal.URL, "the URL contains spaces or control characters")
    try:
        return httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise OutboundRefusedError(Refusal.URL, "the URL cannot be parsed") from exc


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _normal_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


def _unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), else the address itself."""
    if isinstance(address, IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _is_public(address: IPAddress) -> bool:
    address = _unwrap(address)
    if isinstance(address, IPv6Address) and address.is_site_local:
        return False
    return address.is_global and not address.is_multicast
