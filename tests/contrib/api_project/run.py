"""Call the API project's views with Django's test client: read the cases, a JSON list of
{"path", "token"?, "authorization"?}, from stdin; print the answers as a JSON list on stdout.

Run with DJANGO_SETTINGS_MODULE=tests.contrib.api_project.settings: one process for a batch
of cases, as an API worker would serve them (keys fetched once, introspection answers cached).
"""

import json
import sys

import django


def main() -> None:
    django.setup()
    from django.db import connections
    from django.test import Client

    from identity.contrib.rest_framework.validation import get_validator

    client = Client()
    answers = []
    for case in json.load(sys.stdin):
        headers = {}
        if case.get("token"):
            headers["HTTP_AUTHORIZATION"] = f"Bearer {case['token']}"
        elif case.get("authorization"):
            headers["HTTP_AUTHORIZATION"] = case["authorization"]
        response = client.get("/" + case["path"], **headers)
        try:
            body = response.json()
        except ValueError:
            body = response.content.decode(errors="replace")
        answers.append({"status": response.status_code, "body": body,
                        "challenge": response.headers.get("WWW-Authenticate")})
    validator = get_validator()
    print(json.dumps({"answers": answers, "key_fetches": validator.keys.fetches,
                      "introspections": validator.introspector.calls,
                      "database_engine": connections["default"].settings_dict["ENGINE"],
                      "identity_apps": sorted(m for m in sys.modules
                                              if m.startswith(("identity.", "clients_app"))
                                              and not m.startswith("identity.contrib"))}))


if __name__ == "__main__":
    main()
