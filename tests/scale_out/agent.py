"""Requests to the nodes as clients and users send them: the user agent of the fault tests
(cookies kept, no redirects followed) pointed at a node, HTML forms read and sent back as a
browser submits them, and the back-channel calls."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from tests.faults import browser as ua
from tests.helpers.user_agent import FORM, Answer, Browser
from tests.scale_out.nodes import ISSUER, Node, request

Fields = list[tuple[str, str]]  # a form's successful controls, in document order


@dataclass
class NodeBrowser(Browser):
    """The fault tests' Browser, talking to `node` from `source` instead of to 127.0.0.1."""

    node: Node | None = None
    source: str | None = None

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        sent = dict(headers or {})
        body = None
        if form is not None:
            body, sent["Content-Type"] = urlencode(form).encode(), FORM
        return self.send(method, path, body, sent)

    def open_form(self, path: str, form_id: str | None = None) -> HtmlForm:
        """GET the page at `path`; return its form `form_id` (by default its first POST form)
        as a browser would submit it untouched."""
        page = self.get(path)
        form = read_form(page, form_id)
        form.action = form.action or path
        # Under Referrer-Policy: no-referrer a browser sends its form posts with Origin: null.
        if page.headers.get("Referrer-Policy", "").strip().lower() == "no-referrer":
            form.origin = "null"
        return form

    def submit(self, form: HtmlForm, *extra: tuple[str, str]) -> Answer:
        """POST `form` (and `extra`: the button clicked) as a browser does, with the Origin
        header."""
        # The forms read here have no file input, so no multipart/form-data encoding.
        assert form.enctype == FORM, f"{form.enctype} is not written here"
        return self.send("POST", form.action, urlencode([*form.fields, *extra]).encode(),
                         {"Content-Type": FORM, "Origin": form.origin})

    def send(self, method: str, path: str, body: bytes | None,
             headers: dict[str, str]) -> Answer:
        """Send one request with the cookies kept; keep the cookies the answer sets."""
        assert self.node is not None
        sent = dict(headers)
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        status, answer_headers, data = request(self.node, method, path, body=body,
                                               headers=sent, source=self.source,
                                               timeout=self.timeout)
        answer = Answer(status, answer_headers, data)
        for header in answer.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer


def browser(node: Node, source: str) -> NodeBrowser:
    return NodeBrowser(port=0, node=node, source=source)


@dataclass
class HtmlForm:
    """One form of a page, as a browser would submit it with no control touched."""

    action: str
    enctype: str
    fields: Fields = field(default_factory=list)
    origin: str = ISSUER

    def value(self, name: str) -> str | None:
        return next((v for n, v in self.fields if n == name), None)

    def set(self, name: str, value: str | None) -> None:
        """Give control `name` the value `value` (a checkbox: "on" ticks, None unticks)."""
        kept = [(n, v) for n, v in self.fields if n != name]
        where = next((i for i, (n, _) in enumerate(self.fields) if n == name), len(kept))
        self.fields = kept[:where] + ([(name, value)] if value is not None else []) + kept[where:]


@dataclass
class _Option:
    value: str | None  # None: the option's text is its value
    selected: bool
    disabled: bool
    text: list[str] = field(default_factory=list)

    @property
    def submitted(self) -> str:
        return self.value if self.value is not None else " ".join("".join(self.text).split())


class _FormReader(HTMLParser):
    """Read the successful controls of the form with id `form_id` (the first POST form when
    None): named inputs (checked boxes and radios only; no buttons or files), selects (their
    selected options, else a single select's first), textareas; disabled controls left out."""

    def __init__(self, form_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.form: HtmlForm | None = None
        self._inside = self._done = False
        self._select: tuple[str, bool, list[_Option]] | None = None
        self._textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form" and not self._inside and not self._done:
            if (a.get("id") == self.form_id if self.form_id
                    else a.get("method", "").lower() == "post"):
                self._inside = True
                self.form = HtmlForm(a.get("action", ""), a.get("enctype", FORM))
            return
        if not self._inside or self.form is None:
            return
        name, disabled = a.get("name", ""), "disabled" in a
        if tag == "input" and name and not disabled:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.form.fields.append((name, a.get("value") or "on"))
                return
            self.form.fields.append((name, a.get("value", "")))
        elif tag == "select":
            # A nameless or disabled select is read (for its options) but not submitted.
            self._select = ("" if disabled else name, "multiple" in a, [])
        elif tag == "option" and self._select is not None:
            self._select[2].append(_Option(a.get("value"), "selected" in a, "disabled" in a))
        elif tag == "textarea" and name and not disabled:
            self._textarea = (name, [])

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)
        elif self._select is not None and self._select[2]:
            self._select[2][-1].text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if not self._inside or self.form is None:
            return
        if tag == "select" and self._select is not None:
            name, multiple, options = self._select
            self._select = None
            chosen = [o for o in options if o.selected]
            if not multiple:  # one value: the last selected, else the first usable option
                chosen = chosen[-1:] or [o for o in options if not o.disabled][:1]
            if name:
                self.form.fields.extend((name, o.submitted) for o in chosen if not o.disabled)
        elif tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            self._textarea = None
            # A browser drops the newline that follows <textarea>.
            self.form.fields.append((name, "".join(parts).removeprefix("\n")))
        elif tag == "form":
            self._inside, self._done = False, True


def read_form(page: Answer, form_id: str | None = None) -> HtmlForm:
    """Return the form `form_id` of an HTML page (by default its first POST form)."""
    assert page.status == 200, (page.status, page.body[:300])
    reader = _FormReader(form_id)
    reader.feed(page.body.decode())
    reader.close()
    assert reader.form is not None, (form_id, page.body[:300])
    return reader.form


def post(node: Node, source: str, path: str, form: dict[str, str], client: str,
         secret: str = "secret") -> Answer:
    """A back-channel POST authenticated as `client` (HTTP Basic)."""
    from tests.helpers.basic_auth import basic

    return browser(node, source).post(path, form, Authorization=basic(client, secret))


def exchange(node: Node, source: str, code: str, verifier: str) -> Answer:
    return post(node, source, "/connect/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": ua.REDIRECT,
        "code_verifier": verifier}, "interactive")


def refresh(node: Node, source: str, refresh_token: str) -> Answer:
    return post(node, source, "/connect/token", {
        "grant_type": "refresh_token", "refresh_token": refresh_token}, "interactive")


def client_credentials(node: Node, source: str, client: str = "service.client",
                       secret: str = "secret", scope: str = "api1") -> Answer:
    return post(node, source, "/connect/token",
                {"grant_type": "client_credentials", "scope": scope}, client, secret)


def introspect(node: Node, source: str, token: str, client: str = "service.client") -> Answer:
    return post(node, source, "/connect/introspect", {"token": token}, client)


def api(node: Node, source: str, token: str, method: str, path: str,
        body: Any = None) -> tuple[int, Any]:
    """A management API call with a Bearer token; return the status and the JSON body."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, _, data = request(node, method, path, headers=headers, source=source,
                              body=json.dumps(body).encode() if body is not None else None)
    return status, json.loads(data or b"null")
