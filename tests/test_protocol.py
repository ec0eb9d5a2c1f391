"""The wire format's named views: each kind's fields read back what the writer packed, in place."""

from __future__ import annotations

import numpy as np
import pytest

from asgiscope.server import protocol
from asgiscope.server.protocol import RECORD, RECORD_DTYPE, VIEWS, made_ns, of_kind

TOKEN = bytes(range(protocol.TOKEN_BYTES))


def batch(*records: tuple[int, int, int, int, int, int, int]) -> np.ndarray:
    datagram = protocol.encode(TOKEN, 7, 0, b"".join(RECORD.pack(*r) for r in records), len(records))
    return protocol.decode(datagram, TOKEN).records


@pytest.mark.parametrize("kind", sorted(VIEWS))
def test_every_view_renames_bytes_of_the_record_and_nothing_else(kind: int) -> None:
    view = VIEWS[kind]
    assert view.itemsize == RECORD_DTYPE.itemsize
    base = {offset: fmt for fmt, offset, *_ in RECORD_DTYPE.fields.values()}
    for name, (fmt, offset, *_) in view.fields.items():
        assert base[offset] == fmt, name  # a field of the record, at its start, with its type
    assert view.fields["kind"][1] == 0


def test_each_kind_reads_under_its_own_names() -> None:
    records = batch(
        (protocol.KIND_HELLO, 0, 0, 555, 1_000, 4321, 0),
        (protocol.KIND_REQUEST, 2, 200, 0, 2_000, 9_000, 0),
        (protocol.KIND_LAG, 0, 0, 0, 3_000, 150_000_000, 0),
        (protocol.KIND_REQUEST, 4, 503, 777, 4_000, 8_000, 0),
        (protocol.KIND_POOL, 0, 6, 40, 5_000, 40, 3),
    )
    requests = of_kind(records, protocol.KIND_REQUEST)
    assert requests["route"].tolist() == [2, 4]
    assert requests["status"].tolist() == [200, 503]
    assert requests["thread"].tolist() == [0, 777]
    assert requests["start_ns"].tolist() == [2_000, 4_000]
    assert requests["end_ns"].tolist() == [9_000, 8_000]
    [lag] = of_kind(records, protocol.KIND_LAG)
    assert (lag["t_ns"], lag["lag_ns"]) == (3_000, 150_000_000)
    [pool] = of_kind(records, protocol.KIND_POOL)
    assert (pool["tokens"], pool["in_flight"], pool["borrowed"], pool["waiting"], pool["t_ns"]) == (
        40,
        6,
        40,
        3,
        5_000,
    )
    [hello] = of_kind(records, protocol.KIND_HELLO)
    assert (hello["loop_thread"], hello["parent_pid"], hello["t_ns"]) == (555, 4321, 1_000)
    # A request is made when it ends; everything else at its own time.
    assert made_ns(records).tolist() == [1_000, 9_000, 3_000, 8_000, 5_000]


def test_a_kind_absent_from_the_batch_is_an_empty_view() -> None:
    records = batch((protocol.KIND_LAG, 0, 0, 0, 1, 2, 0))
    assert of_kind(records, protocol.KIND_POOL).size == 0
    assert of_kind(records, protocol.KIND_POOL).dtype == protocol.POOL_VIEW
