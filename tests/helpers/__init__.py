"""Helpers shared by the test folders, one copy of each: Basic credentials (basic_auth), PKCE
pairs (pkce), endpoint calls through Django's test client (calls), the authorization code flow
(flow), seeding (seeding), client factories (clients), token and page reading (tokens, forms),
the database as a dump shows it (database), and the project served by gunicorn (servers, with
user_agent to talk to it).

No module imports Django or the identity app at import time: bench/harness.py builds on
servers, basic_auth, pkce, forms and user_agent outside any Django setup.
"""
