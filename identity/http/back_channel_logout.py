"""Back-channel logout: when a user signs out, POST a logout token to every client of the
session that registered a BackChannelLogoutUri.

Every end of a sign-in session goes through `identity.http.server_side_sessions` (a sign-out
by Django's `logout()`, an administrator, the user on another device, expiry), which calls
`send` with the session's clients. The POSTs run in parallel with a timeout each and a
bounded total wait, so a slow or dead client never holds up the person signing out. Failures are
kept in the database and sent again by `send_back_channel_logouts`.

Spec: OpenID Connect Back-Channel Logout 1.0 §2.4-2.8.
"""

from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlencode

from identity import clock
from identity.conf import identity_settings
from identity.http.outbound import NO_REDIRECTS
from identity.stores.interfaces import find_enabled_client
from identity.stores.orm_back_channel_logouts import (
    PendingLogout,
    claim,
    due_logouts,
    record_failures,
    record_retry,
)
from identity.stores.orm_sessions import EndedSession
from identity.stores.registry import get_client_store, get_key_ring
from identity.tokens.logout_token import logout_token_claims, mint_logout_token
from identity.tokens.subject import subject_for
from identity.validation.client_config import web_uri_problems

logger = logging.getLogger(__name__)
MAX_RESPONSE_BYTES: Final = 1024  # read of a client's answer: its status is what counts
# Seconds past the timeout that a sign-out waits for the last POSTs (thread start, DNS).
GRACE: Final = 0.5


def logouts_for(session: EndedSession) -> list[PendingLogout]:
    """Return a logout for each enabled client of the session with a BackChannelLogoutUri."""
    store = get_client_store()
    logouts = []
    for client_id in session.client_ids:
        client = find_enabled_client(store, client_id)
        if client is None or not client.back_channel_logout_uri:
            continue
        # sid is sent whenever known; BackChannelLogoutSessionRequired only says the client
        # needs it, and a sign-in session here always has one.
        logouts.append(PendingLogout(
            client_id=client.client_id, uri=client.back_channel_logout_uri,
            issuer=session.issuer, subject=subject_for(client, session.user_id),
            session_id=session.session_id or None))
    return logouts


def deliver(logouts: list[PendingLogout]) -> list[tuple[PendingLogout, str]]:
    """POST a fresh logout token for each logout in parallel; return the failed ones with their
    error. Returns after about BACK_CHANNEL_LOGOUT_TIMEOUT at most, whatever the clients do."""
    if not logouts:
        return []
    timeout = float(identity_settings.BACK_CHANNEL_LOGOUT_TIMEOUT)
    bodies = [_body(p) for p in logouts]  # minted here: the key ring reads the database
    workers = max(1, min(len(logouts), int(identity_settings.BACK_CHANNEL_LOGOUT_WORKERS)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="back-channel-logout")
    try:
        futures: list[Future[str | None]] = [
            pool.submit(_post, p.uri, body, timeout) for p, body in zip(logouts, bodies,
                                                                        strict=True)]
        wait(futures, timeout=timeout + GRACE)
    finally:
        # A client that still has not answered is not waited for; its thread ends with its
        # socket timeout, and the logout is retried later.
        pool.shutdown(wait=False, cancel_futures=True)
    failed = []
    for pending, future in zip(logouts, futures, strict=True):
        error = _outcome(future, timeout)
        _log_attempt(pending, pending.attempts + 1, error)
        if error is not None:
            failed.append((pending, error))
    return failed


def _outcome(future: Future[str | None], timeout: float) -> str | None:
    if not future.done() or future.cancelled():
        return f"no answer within {timeout:g} s"
    exc = future.exception()
    if exc is not None:  # a bug, not the client's doing: still kept for a retry
        logger.error("back-channel logout POST raised", exc_info=exc)
        return f"{type(exc).__name__}"
    return future.result()


def retry_due_logouts(limit: int = 100) -> tuple[int, int, int]:
    """Send again the kept logouts that are due; return (delivered, kept, given up)."""
    now = clock.now()
    timeout = float(identity_settings.BACK_CHANNEL_LOGOUT_TIMEOUT)
    lease = timedelta(seconds=timeout + GRACE + 60)  # another runner leaves them alone
    due = [p for p in due_logouts(now, limit) if claim(p, now, lease)]
    outcome = {p.pk: error for p, error in deliver(due)}
    delivered = kept = given_up = 0
    retries = int(identity_settings.BACK_CHANNEL_LOGOUT_RETRIES)
    for pending in due:
        error = outcome.get(pending.pk)
        if error is None:
            delivered += 1
            record_retry(pending, None, None)
        elif pending.attempts >= retries:  # this was the last retry
            given_up += 1
            logger.warning("back-channel logout to client %r at %s given up after %d attempts",
                           pending.client_id, pending.uri, pending.attempts + 1)
            record_retry(pending, error, None)
        else:
            kept += 1
            record_retry(pending, error, now + _backoff(pending.attempts + 1))
    return delivered, kept, given_up


def first_retry_at(now: datetime) -> datetime:
    """Return when a logout that failed at `now` is first sent again."""
    return now + _backoff(1)


def _backoff(attempts: int) -> timedelta:
    delay = float(identity_settings.BACK_CHANNEL_LOGOUT_RETRY_DELAY)
    return timedelta(seconds=delay * 2 ** max(0, attempts - 1))


def _body(pending: PendingLogout) -> bytes:
    now = clock.timestamp()
    claims = logout_token_claims(pending.issuer, pending.client_id, pending.subject,
                                 pending.session_id, now,
                                 int(identity_settings.BACK_CHANNEL_LOGOUT_TOKEN_LIFETIME))
    return urlencode({"logout_token": mint_logout_token(get_key_ring(), claims)}).encode()


def _post(uri: str, body: bytes, timeout: float) -> str | None:
    """POST one logout token; return None on a 2xx answer, else what went wrong."""
    problems = web_uri_problems(uri)  # the client rules again: https, or http on loopback
    if problems:
        return problems[0]
    request = urllib.request.Request(uri, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-store"})
    try:
        with NO_REDIRECTS.open(request, timeout=timeout) as response:
            response.read(MAX_RESPONSE_BYTES)
            status = int(response.status)
    except urllib.error.HTTPError as exc:  # 4xx, 5xx and unfollowed redirects
        exc.close()
        return f"HTTP {exc.code}"
    except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, timed out, TLS
        return f"{type(exc).__name__}: {exc}"[:200]
    return None if 200 <= status < 300 else f"HTTP {status}"


def _log_attempt(pending: PendingLogout, attempt: int, error: str | None) -> None:
    # Client, URI and outcome only: the logout token is a credential and is never logged.
    if error is None:
        logger.info("back-channel logout to client %r at %s delivered (attempt %d)",
                    pending.client_id, pending.uri, attempt)
    else:
        logger.warning("back-channel logout to client %r at %s failed (attempt %d): %s",
                       pending.client_id, pending.uri, attempt, error)


def send(logouts: list[PendingLogout]) -> None:
    """Deliver logouts now and keep the failed ones for send_back_channel_logouts."""
    failed = deliver(logouts)
    if failed and int(identity_settings.BACK_CHANNEL_LOGOUT_RETRIES) == 0:
        for pending, _error in failed:
            logger.warning("back-channel logout to client %r at %s given up after 1 attempt",
                           pending.client_id, pending.uri)
    elif failed:
        now = clock.now()
        record_failures(failed, now, first_retry_at(now))
