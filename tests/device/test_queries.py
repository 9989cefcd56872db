"""What one pending poll costs the database: the device request's row, read once and written
once (the poll's time), and nothing else once the client and keys are cached."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from identity.models import DeviceFlowCode
from tests.device.support import device_client, poll, started

pytestmark = pytest.mark.django_db


def test_a_pending_poll_touches_one_row(client, seeded) -> None:
    # An interval of 1 s is within the tolerance: back-to-back polls are on time.
    seeded(device_client(polling_interval=1))
    body = started(client)
    assert poll(client, body["device_code"]).status_code == 400  # warms client and key caches
    with CaptureQueriesContext(connection) as queries:
        response = poll(client, body["device_code"])
    assert response.json()["error"] == "authorization_pending"
    table = DeviceFlowCode._meta.db_table
    statements = [q["sql"] for q in queries.captured_queries
                  if q["sql"] not in ("BEGIN", "COMMIT") and "SAVEPOINT" not in q["sql"]]
    ours = [s for s in statements if table in s]
    assert len(ours) == 2, statements
    select, update = ours
    # The others are the reads every token request makes (configuration generation; the client
    # and keys when the cache does not hold them): no other row is written.
    assert all(s.startswith("SELECT") for s in statements if s not in ours), statements
    assert select.startswith("SELECT") and table in select
    assert update.startswith("UPDATE") and table in update and "device_key" in update
