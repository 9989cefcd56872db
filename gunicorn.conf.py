"""gunicorn reads this file from the working directory by default.

Access logs are off unless asked for (--access-logfile). When they are on, log the path without
its query string: an end-session request may carry an ID token in `id_token_hint`, and tokens
never belong in logs.
"""

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
