"""`make aws` / `make run` started again at once on the same ports (issue 22, small truths).

The SMTP sink and moto make sure their port is free before starting (aiosmtpd's controller and moto's
thread would not fail clearly on a taken one). That probe bound without SO_REUSEADDR, so a connection of
the previous run still in TIME-WAIT on the port (the sink hanging up on a check, moto on a client) made
it say "already in use" although the servers themselves, which set the option, could listen there.
"""

from __future__ import annotations

import errno
import smtplib
import socket
from collections.abc import Iterator

import pytest

from local_runtime.sink import PortInUse, SmtpSink, ensure_free, free_port

HOST = "127.0.0.1"


def left_in_time_wait() -> int:
    """A port with no listener, held only by a connection its server side closed first (TIME-WAIT)."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen()
        port: int = listener.getsockname()[1]
        with socket.create_connection((HOST, port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the server hangs up first: its end, on `port`, goes to TIME-WAIT
            assert client.recv(1) == b""
    return port


def plain_bind_fails(port: int) -> bool:
    """What the probe used to do: a bind without SO_REUSEADDR. True when it finds the port in use."""
    with socket.socket() as plain:
        try:
            plain.bind((HOST, port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_port_in_time_wait_is_free() -> None:
    port = left_in_time_wait()
    assert plain_bind_fails(port)  # the state the issue describes: the old probe said "in use"
    ensure_free("AWS", HOST, port)


def test_a_port_someone_listens_on_is_in_use(listening: int) -> None:
    with pytest.raises(PortInUse, match=rf"AWS port 127\.0\.0\.1:{listening} is already in use"):
        ensure_free("AWS", HOST, listening)


def test_the_sink_starts_again_right_after_hanging_up_on_a_check() -> None:
    port = left_in_time_wait()
    assert plain_bind_fails(port)
    sink = SmtpSink(HOST, port, out=lambda text: None)
    sink.start()
    try:
        with smtplib.SMTP(HOST, port, timeout=10) as client:
            assert client.noop()[0] == 250
    finally:
        sink.stop()


def test_the_sink_started_stopped_and_started_again_on_its_port() -> None:
    """What `make aws`, Ctrl-C, `make aws` does after a check: the same port, at once."""
    port = free_port()
    for _ in range(2):
        sink = SmtpSink(HOST, port, out=lambda text: None)
        sink.start()
        try:
            with smtplib.SMTP(HOST, port, timeout=10) as client:
                client.ehlo()
        finally:
            sink.stop()


def test_the_sink_on_a_port_someone_listens_on_is_in_use(listening: int) -> None:
    with pytest.raises(PortInUse, match="SMTP sink port"):
        SmtpSink(HOST, listening, out=lambda text: None).start()
