"""Password reset by email: Django's own views, with our templates, headers and limits.

Offered only when the project configured an email backend (EMAIL_URL): with Django's dummy
backend the links would lead nowhere, so the pages answer 404 and the sign-in page hides them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse_lazy
from django.utils.translation import gettext
from django.views import View

from identity.errors import TooManyRequests
from identity.http import throttling
from identity.http.csrf import no_referrer_form
from identity.http.issuer import get_issuer
from identity.http.rendering import html_headers

DUMMY_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
EMAIL_LIMIT = 254  # RFC 5321's longest address; the form refuses longer ones anyway


def password_reset_enabled() -> bool:
    """Tell whether reset emails can be sent: any backend but Django's dummy one."""
    return str(getattr(settings, "EMAIL_BACKEND", DUMMY_BACKEND)) != DUMMY_BACKEND


def identity_pages(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: `password_reset_enabled` for the sign-in page's link, and no
    `branding` unless a view names the application (a missing variable would be logged with
    the page's URL, which may carry a token hint)."""
    return {"password_reset_enabled": password_reset_enabled(), "branding": None}


class _ResetPage(View):
    """Our headers on every response, and 404 while reset is not offered."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not password_reset_enabled():
            raise Http404("password reset is not configured")
        return html_headers(super().dispatch(request, *args, **kwargs))


class PasswordResetView(_ResetPage, auth_views.PasswordResetView):
    """Ask for the email address; Django mails a link to its active accounts, and answers the
    same "sent" page whether or not an account has it (no account oracle)."""

    template_name = "identity/password_reset_form.html"
    email_template_name = "identity/password_reset_email.txt"
    subject_template_name = "identity/password_reset_subject.txt"
    success_url = reverse_lazy("identity:password_reset_sent")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Each request spends one of the address's sign-in failures (identity.http.throttling),
        # so that nobody can mail-bomb an inbox or probe many addresses from one place.
        email = str(request.POST.get("email", ""))[:EMAIL_LIMIT].strip().lower()
        subject, address = f"password-reset\x00{email}", throttling.client_address(request)
        try:
            throttling.check_not_locked("login", subject, address)
        except TooManyRequests as refused:
            context = self.get_context_data(form=self.get_form(), locked=gettext(
                "Too many requests. Wait a few minutes and try again."))
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = refused.headers["Retry-After"]
            return response
        throttling.record_failure("login", subject, address)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        # The link's origin is the issuer's when configured, not whatever Host the form came with.
        parts = urlsplit(get_issuer(self.request))
        self.extra_email_context = {"site_origin": f"{parts.scheme}://{parts.netloc}"}
        return super().form_valid(form)


class PasswordResetSentView(_ResetPage, auth_views.PasswordResetDoneView):
    template_name = "identity/password_reset_sent.html"


class PasswordResetConfirmView(_ResetPage, auth_views.PasswordResetConfirmView):
    """The emailed link: Django moves its token into the session and asks for a new password."""

    template_name = "identity/password_reset_confirm.html"
    success_url = reverse_lazy("identity:password_reset_complete")


class PasswordResetCompleteView(_ResetPage, auth_views.PasswordResetCompleteView):
    template_name = "identity/password_reset_complete.html"


password_reset_page = no_referrer_form(PasswordResetView.as_view())
password_reset_sent_page = PasswordResetSentView.as_view()
password_reset_confirm_page = no_referrer_form(PasswordResetConfirmView.as_view())
password_reset_complete_page = PasswordResetCompleteView.as_view()
