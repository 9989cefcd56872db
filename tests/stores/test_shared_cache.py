"""With Redis as the cache, an edit made by one process reaches every serving process at once."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
import uuid

from tests.factories import REFERENCE_DOCUMENT
from tests.servers import free_port, gunicorn, manage, project_env


def _status(base: str) -> int:
    request = urllib.request.Request(
        f"{base}/connect/token", data=b"grant_type=client_credentials",
        headers={"Authorization": "Basic " + base64.b64encode(b"local-dev:secret").decode()})
    try:
        return urllib.request.urlopen(request).status
    except urllib.error.HTTPError as err:
        return err.code


def test_disabling_a_client_in_another_process_takes_effect_everywhere(tmp_path) -> None:
    prefix = uuid.uuid4().hex  # a key space of its own on the shared Redis
    env = project_env(tmp_path, CACHE_URL=f"redis://127.0.0.1:6379/0?KEY_PREFIX={prefix}",
                      IDENTITY_ISSUER="http://127.0.0.1")
    (tmp_path / "clients.json").write_text(REFERENCE_DOCUMENT)
    manage(env, "migrate", "--noinput")
    manage(env, "import_clients", str(tmp_path / "clients.json"))
    with gunicorn(env, free_port(), workers=2) as a, gunicorn(env, free_port(), workers=1) as b:
        for _ in range(3):  # every worker caches the client
            assert _status(a) == 200 and _status(b) == 200
        manage(env, "shell", "-c",
               "from clients_app.models import Client; c = Client.objects.get(client_id="
               "'local-dev'); c.enabled = False; c.save()")
        assert [_status(a) for _ in range(3)] == [401] * 3
        assert _status(b) == 401
        manage(env, "import_clients", str(tmp_path / "clients.json"))  # enabled again
        assert _status(a) == 200 and _status(b) == 200
