"""TLS and mutual TLS on the server port, with a CA and certificates made in the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.api.server import RunningServer, create_server
from media_grpc.api.tls import server_credentials
from media_grpc.bootstrap import Application
from media_grpc.config.tls import TlsSettings
from tests.keys import Issued, certificate_authority, client_certificate, server_certificate

Auth = Callable[..., list[tuple[str, str]]]


@pytest.fixture(scope="module")
def ca() -> Issued:
    return certificate_authority()


def write(tmp: Path, name: str, issued: Issued) -> tuple[Path, Path]:
    cert, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert.write_bytes(issued.cert_pem)
    key.write_bytes(issued.key_pem)
    return cert, key


def tls_server(app: Application, tmp: Path, ca: Issued, *, mutual: bool) -> RunningServer:
    cert, key = write(tmp, "server", server_certificate(ca))
    ca_file, _ = write(tmp, "ca", ca)
    settings = TlsSettings(
        cert_file=cert,
        key_file=key,
        client_ca_file=ca_file if mutual else None,
        require_client_cert=mutual,
    )
    return create_server(
        app.servicer(),
        app.verifier,
        "127.0.0.1:0",
        credentials=server_credentials(settings),
    )


@pytest.fixture
def tls_port(app: Application, tmp_path: Path, ca: Issued) -> Iterator[int]:
    server = tls_server(app, tmp_path, ca, mutual=False)
    yield server.port
    server.stop(0)


@pytest.fixture
def mtls_port(app: Application, tmp_path: Path, ca: Issued) -> Iterator[int]:
    server = tls_server(app, tmp_path, ca, mutual=True)
    yield server.port
    server.stop(0)


def list_media(channel: grpc.Channel, auth: Auth, user: str) -> pb.ListMediaResponse:
    stub = media_pb2_grpc.MediaServiceStub(channel)
    answer: pb.ListMediaResponse = stub.ListMedia(
        pb.ListMediaRequest(), metadata=auth(user), timeout=5
    )
    return answer


def secure(port: int, credentials: grpc.ChannelCredentials) -> grpc.Channel:
    return grpc.secure_channel(
        f"127.0.0.1:{port}", credentials, options=[("grpc.ssl_target_name_override", "localhost")]
    )


def test_tls_call_works_with_the_ca_as_trust_root(
    tls_port: int, ca: Issued, auth: Auth, unique_user: str
) -> None:
    with secure(tls_port, grpc.ssl_channel_credentials(root_certificates=ca.cert_pem)) as ch:
        assert list(list_media(ch, auth, unique_user).media) == []


def test_plaintext_client_cannot_talk_to_a_tls_port(
    tls_port: int, auth: Auth, unique_user: str
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{tls_port}") as ch, pytest.raises(grpc.RpcError) as e:
        list_media(ch, auth, unique_user)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_client_not_trusting_the_servers_ca_is_refused(
    tls_port: int, auth: Auth, unique_user: str
) -> None:
    other = certificate_authority("some other CA")
    with (
        secure(tls_port, grpc.ssl_channel_credentials(root_certificates=other.cert_pem)) as ch,
        pytest.raises(grpc.RpcError) as e,
    ):
        list_media(ch, auth, unique_user)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_accepts_a_client_certificate_from_the_ca(
    mtls_port: int, ca: Issued, auth: Auth, unique_user: str
) -> None:
    client = client_certificate(ca)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca.cert_pem, private_key=client.key_pem, certificate_chain=client.cert_pem
    )
    with secure(mtls_port, credentials) as ch:
        assert list(list_media(ch, auth, unique_user).media) == []


@pytest.mark.parametrize("client_ca", ["none", "another CA"])
def test_mutual_tls_refuses_clients_without_a_certificate_from_the_ca(
    client_ca: str, mtls_port: int, ca: Issued, auth: Auth, unique_user: str
) -> None:
    if client_ca == "none":
        credentials = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem)
    else:
        stranger = client_certificate(certificate_authority("stranger CA"))
        credentials = grpc.ssl_channel_credentials(
            root_certificates=ca.cert_pem,
            private_key=stranger.key_pem,
            certificate_chain=stranger.cert_pem,
        )
    with secure(mtls_port, credentials) as ch, pytest.raises(grpc.RpcError) as e:
        list_media(ch, auth, unique_user)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_still_needs_a_bearer_token(mtls_port: int, ca: Issued) -> None:
    client = client_certificate(ca)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca.cert_pem, private_key=client.key_pem, certificate_chain=client.cert_pem
    )
    with secure(mtls_port, credentials) as ch, pytest.raises(grpc.RpcError) as e:
        media_pb2_grpc.MediaServiceStub(ch).ListMedia(pb.ListMediaRequest(), timeout=5)
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
