"""With Redis as the cache, an edit made by one process reaches every serving process at once."""

from __future__ import annotations

import pytest

from tests.factories import REFERENCE_DOCUMENT
from tests.helpers.servers import free_port, gunicorn, manage, shared_cache_project, token_status
from tests.helpers.workers import each_worker_at

pytestmark = pytest.mark.own_database


def test_disabling_a_client_in_another_process_takes_effect_everywhere(tmp_path) -> None:
    env = shared_cache_project(tmp_path, REFERENCE_DOCUMENT)
    with gunicorn(env, free_port(), workers=2) as a, gunicorn(env, free_port(), workers=1) as b:
        # every worker caches the client
        assert each_worker_at(a, lambda: token_status(a)) == [200, 200]
        assert token_status(b) == 200
        manage(env, "shell", "-c",
               "from clients_app.models import Client; c = Client.objects.get(client_id="
               "'local-dev'); c.enabled = False; c.save()")
        assert each_worker_at(a, lambda: token_status(a)) == [401, 401]
        assert token_status(b) == 401
        manage(env, "import_clients", str(tmp_path / "clients.json"))  # enabled again
        assert token_status(a) == 200 and token_status(b) == 200
