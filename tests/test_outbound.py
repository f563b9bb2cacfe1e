"""The outbound-request guard: which URLs pass, and that a request goes to the address that was
checked (no second lookup), with the Host header and TLS verification kept for the name.

Names are resolved by a fake resolver (a dict), so no test depends on real DNS and no request
ever leaves loopback."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ordergate.config import Settings
from ordergate.letzshop.client import UNAVAILABLE_MESSAGE, LetzshopClient
from ordergate.letzshop.errors import LetzshopError, LetzshopProtocolError
from ordergate.outbound import (
    STORE_LOOKUP_SECONDS,
    GuardedTransport,
    OutboundPolicy,
    OutboundRefusedError,
    Refusal,
)
from tests.probe_servers import RecordingServer, recording_server

NAMES = {
    "letzshop.lu": ["185.7.80.10"],
    "letzshop.test": ["127.0.0.1"],
    "mixed.test": ["185.7.80.10", "10.1.2.3"],
    "metadata.test": ["169.254.169.254"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "nat64.test": ["64:ff9b::a9fe:a9fe"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    if host not in NAMES:
        raise OSError(f"unknown host {host}")
    return NAMES[host]


def policy(env: str, *entries: str) -> OutboundPolicy:
    return OutboundPolicy.for_env(env, entries or ("letzshop.lu",), resolver=fake_resolver)


def refusal(rules: OutboundPolicy, url: str) -> Refusal | None:
    try:
        rules.check_endpoint(url)
    except OutboundRefusedError as exc:
        return exc.reason
    return None


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ("production", "https://letzshop.lu/graphql", None),
        ("production", "https://LetzShop.LU./graphql", None),
        ("production", "http://letzshop.lu/graphql", Refusal.SCHEME),
        ("production", "ftp://letzshop.lu/graphql", Refusal.SCHEME),
        ("production", "file:///etc/passwd", Refusal.SCHEME),
        ("production", "https://127.0.0.1:18765/graphql", Refusal.ADDRESS),
        ("production", "https://[::1]/graphql", Refusal.ADDRESS),
        ("production", "https://evil.example/graphql", Refusal.HOST),
        ("production", "https://185.7.80.10/graphql", Refusal.HOST),
        ("production", "https://localhost/graphql", Refusal.HOST),
        ("production", "https://user:pw@letzshop.lu/graphql", Refusal.URL),
        ("production", "https://letzshop.lu/graph ql", Refusal.URL),
        ("development", "http://127.0.0.1:1/graphql", None),
        ("development", "http://[::1]:8765/graphql", None),
        ("development", "http://localhost:8765/graphql", None),
        ("development", "http://169.254.169.254/latest/meta-data/", Refusal.ADDRESS),
        ("development", "http://[fe80::1]/graphql", Refusal.ADDRESS),
        ("development", "http://10.0.0.1/graphql", Refusal.ADDRESS),
        ("development", "http://172.16.0.1/graphql", Refusal.ADDRESS),
        ("development", "http://192.168.1.1/graphql", Refusal.ADDRESS),
        ("development", "http://[fd00::1]/graphql", Refusal.ADDRESS),
        ("development", "http://0.0.0.0:8000/graphql", Refusal.ADDRESS),
        ("development", "http://224.0.0.1/graphql", Refusal.ADDRESS),
        ("development", "http://240.0.0.1/graphql", Refusal.ADDRESS),
        ("development", "http://[::ffff:169.254.169.254]/", Refusal.ADDRESS),
        ("development", "http://[2002:a9fe:a9fe::1]/", Refusal.ADDRESS),
        ("development", "gopher://127.0.0.1:25/", Refusal.SCHEME),
        ("test", "http://127.0.0.1:1/graphql", None),
    ],
)
def test_urls_are_allowed_or_refused_by_class(env: str, url: str, expected: Refusal | None) -> None:
    assert refusal(policy(env), url) == expected


@pytest.mark.parametrize(
    ("host", "env"),
    [
        ("mixed.test", "development"),  # one private answer refuses the name
        ("metadata.test", "development"),
        ("nat64.test", "development"),  # 169.254.169.254 behind NAT64
        ("letzshop.test", "production"),  # a listed name resolving to loopback
        ("mapped.test", "production"),
    ],
)
def test_every_resolved_address_is_checked(host: str, env: str) -> None:
    rules = policy(env, host)
    scheme = "https" if env == "production" else "http"

    assert refusal(rules, f"{scheme}://{host}/graphql") == Refusal.ADDRESS


def test_a_network_entry_unlocks_its_addresses_and_a_name_entry_does_not() -> None:
    names_only = policy("production", "mixed.test")
    with_network = policy("production", "mixed.test", "10.1.0.0/16", "192.168.7.7")

    assert refusal(names_only, "https://mixed.test/") == Refusal.ADDRESS
    assert refusal(with_network, "https://mixed.test/") is None
    assert refusal(with_network, "https://10.1.200.1/") is None
    assert refusal(with_network, "https://192.168.7.7/") is None
    assert refusal(with_network, "https://192.168.7.8/") == Refusal.ADDRESS
    assert refusal(with_network, "https://10.2.0.1/") == Refusal.ADDRESS


def test_a_name_that_does_not_resolve_yet_may_be_stored_but_is_not_connected() -> None:
    rules = policy("production", "later.test")

    assert refusal(rules, "https://later.test/graphql") is None
    with pytest.raises(OSError, match="unknown host"):
        rules.addresses("later.test", 443)


def test_the_allow_list_defaults_to_the_host_of_the_default_endpoint() -> None:
    assert Settings().letzshop_allow_list() == ["letzshop.lu"]
    entries = Settings(letzshop_allowed_hosts="letzshop.lu, 10.1.0.0/16 ,")  # type: ignore[arg-type]
    assert entries.letzshop_allow_list() == ["letzshop.lu", "10.1.0.0/16"]


# --- the transport ---------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with recording_server() as record:
        yield record


def _port(record: RecordingServer) -> int:
    return httpx.URL(record.url).port or 0


def test_the_request_goes_to_the_checked_address_with_the_host_header_kept(
    server: RecordingServer,
) -> None:
    # The system resolver does not know letzshop.test: only the pinned address can reach it.
    port = _port(server)
    with httpx.Client(transport=GuardedTransport(policy("development", "letzshop.test"))) as http:
        response = http.get(f"http://letzshop.test:{port}/json")

    assert response.json() == {"status": "ok"}
    assert server.requests == [("GET", "/json", f"letzshop.test:{port}")]


def test_a_name_rebound_after_the_check_reaches_nothing(server: RecordingServer) -> None:
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])  # only 127.0.0.1 is listed

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    rules = OutboundPolicy.from_entries(
        ["letzshop.test", "127.0.0.1"], https_only=False, allow_loopback=False, resolver=rebinding
    )
    url = f"http://letzshop.test:{_port(server)}/json"
    with httpx.Client(transport=GuardedTransport(rules)) as http:
        assert http.get(url).status_code == 200
    with (
        httpx.Client(transport=GuardedTransport(rules)) as http,
        pytest.raises(OutboundRefusedError) as caught,
    ):
        http.get(url)

    assert caught.value.reason == Refusal.ADDRESS
    assert len(server.requests) == 1


def test_each_request_is_checked_again(server: RecordingServer) -> None:
    with (
        httpx.Client(transport=GuardedTransport(policy("production"))) as http,
        pytest.raises(OutboundRefusedError) as caught,
    ):
        http.get(f"{server.url}/json")

    assert caught.value.reason == Refusal.SCHEME
    assert server.requests == []


def _certificate(name: str, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize(
    ("certified", "verified"), [("letzshop.test", True), ("other.test", False)]
)
def test_tls_verifies_the_certificate_against_the_name_not_the_address(
    tmp_path: Path, certified: str, verified: bool
) -> None:
    cert_path, key_path = _certificate(certified, tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert_path, key_path)
    trusted = ssl.create_default_context(cafile=str(cert_path))
    rules = OutboundPolicy.from_entries(
        ["letzshop.test"], https_only=True, allow_loopback=True, resolver=fake_resolver
    )
    with (
        recording_server(tls=served) as record,
        httpx.Client(transport=GuardedTransport(rules, verify=trusted)) as http,
    ):
        url = f"https://letzshop.test:{_port(record)}/json"
        if verified:
            assert http.get(url).json() == {"status": "ok"}
        else:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                http.get(url)
        assert len(record.requests) == int(verified)


def test_a_redirect_is_an_upstream_error_and_is_not_followed(server: RecordingServer) -> None:
    client = LetzshopClient(
        f"{server.url}/redirect", "sandbox-key-1", policy=policy("test"), max_retries=1
    )
    with client, pytest.raises(LetzshopProtocolError) as caught:
        next(client.iter_shipment_pages(None))

    assert caught.value.message == UNAVAILABLE_MESSAGE
    assert caught.value.detail.startswith("HTTP 302 redirect")
    assert server.requests == [("POST", "/redirect", server.url.removeprefix("http://"))]


def test_a_refused_endpoint_sends_nothing_and_says_nothing_about_why(
    server: RecordingServer,
) -> None:
    client = LetzshopClient(f"{server.url}/json", "sandbox-key-1", policy=policy("production"))
    with client, pytest.raises(LetzshopError) as caught:
        next(client.iter_shipment_pages(None))

    assert caught.value.message == UNAVAILABLE_MESSAGE
    assert "scheme" in caught.value.detail
    assert server.requests == []


def test_a_client_without_a_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="outbound policy"):
        LetzshopClient("https://letzshop.lu/graphql", "k")


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f.1", "017700000001"])
def test_encoded_addresses_are_names_that_are_not_listed(host: str) -> None:
    # The system resolver reads each of these as 127.0.0.1; as names, none is on the list.
    assert refusal(policy("development"), f"http://{host}:8765/graphql") == Refusal.HOST


def test_a_slow_resolver_does_not_hold_up_storing_an_endpoint() -> None:
    # The lookup answers a refused address, but only once released, after the check returned:
    # a check that waited for it would refuse.
    released = threading.Event()

    def stalled(host: str, port: int) -> list[str]:
        released.wait(STORE_LOOKUP_SECONDS * 5)
        return ["127.0.0.1"]

    rules = OutboundPolicy.for_env("production", ["stalled.test"], resolver=stalled)
    try:
        assert refusal(rules, "https://stalled.test/graphql") is None
    finally:
        released.set()
