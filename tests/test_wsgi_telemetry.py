"""The WSGI telemetry middleware in process: the same REQUEST records and wire format as the ASGI one,
HELLO at start, POOL with the worker's threads, every record sent by close()."""

from __future__ import annotations

import secrets
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from asgiscope.server import protocol
from asgiscope.server.demo.config import WorkerConfig
from asgiscope.server.demo.flask_app import create_flask_app
from asgiscope.server.demo.wsgi_telemetry import WsgiTelemetry, instrument_wsgi


def receiver() -> tuple[socket.socket, WorkerConfig, bytes]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    token = secrets.token_bytes(protocol.TOKEN_BYTES)
    config = WorkerConfig(telemetry_port=sock.getsockname()[1], token_hex=token.hex(), watch_parent=False)
    return sock, config, token


def drain(sock: socket.socket, token: bytes) -> list[protocol.Batch]:
    batches = []
    while True:
        try:
            batches.append(protocol.decode(sock.recv(65536), token))
        except TimeoutError:
            return batches


def test_instrument_is_a_no_op_when_telemetry_is_off() -> None:
    app = create_flask_app()
    assert instrument_wsgi(app, WorkerConfig(), worker_class="sync", threads=1) is app


def test_requests_from_many_threads_are_recorded_once_each_with_route_status_and_thread() -> None:
    sock, config, token = receiver()
    telemetry = WsgiTelemetry(create_flask_app(), config, worker_class="gthread", threads=4)
    telemetry.watch_queue(lambda: 7)  # gthread's queue, as gunicorn's post_worker_init hook sets it
    flask_app = create_flask_app()
    flask_app.wsgi_app = telemetry  # type: ignore[method-assign]
    client = flask_app.test_client()
    paths = ["/hello", "/io/sync?ms=1", "/cpu/sync?ms=1", "/io/sync?ms=-1", "/io/async"] * 20
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda p: client.get(p).status_code, paths))
    telemetry.close()
    batches = drain(sock, token)
    sock.close()
    assert {b.pid for b in batches} == {telemetry._emitter.pid}
    assert [b.seq for b in batches] == list(range(len(batches)))  # nothing lost, in order
    records = np.concatenate([b.records for b in batches])
    (hello,) = protocol.of_kind(records, protocol.KIND_HELLO)
    assert hello["loop_thread"] == threading.get_native_id()
    assert protocol.WORKER_CLASSES[hello["worker_class"]] == "gthread"
    requests = protocol.of_kind(records, protocol.KIND_REQUEST)
    assert len(requests) == len(paths)
    routes = [protocol.ROUTES[r] for r in requests["route"]]
    assert sorted(zip(routes, requests["status"].tolist(), strict=True)) == sorted(
        zip(
            [protocol.ROUTES[protocol.ROUTE_IDS.get(p.split("?")[0], 0)] for p in paths],
            statuses,
            strict=True,
        )
    )
    assert set(statuses) == {200, 404, 422}
    assert (requests["end_ns"] >= requests["start_ns"]).all()
    # every handler ran in a thread, named by its real id (never the loop's 0), from its start: no token
    assert 0 not in set(requests["thread"].tolist()) and len(set(requests["thread"].tolist())) <= 4
    assert (requests["token_ns"] == requests["start_ns"]).all()
    pools = protocol.of_kind(records, protocol.KIND_POOL)
    assert len(pools) >= 1 and set(pools["tokens"].tolist()) == {4}
    assert (pools["borrowed"] <= 4).all()
    assert (pools["waiting"] >= 7).all() and (
        pools["in_flight"] == pools["borrowed"] + pools["waiting"]
    ).all()
