"""The outage middleware's former path, kept so that settings written for earlier versions work.

New settings name `identity.http.outage.OutageMiddleware`.
"""

from identity.http.outage import OutageMiddleware

__all__ = ["OutageMiddleware"]
