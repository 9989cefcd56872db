"""The HTML of the server's pages as the fuzz oracles read it: what a page makes a browser do."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from tests.fuzz.recording import describe


class Page(HTMLParser):
    """What a page makes a browser do: forms, refreshes, links, frames, scripts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[str] = []
        self.refresh: list[str] = []
        self.links: list[str] = []
        # Links to this server's own pages (the signed-in bar, "forgot your password?"): they
        # send the browser nowhere the request chose, so the oracles leave them out.
        self.own_links: list[str] = []
        self.frames: list[str] = []
        self.scripts = 0
        self.fields: dict[str, str] = {}
        self.feed(text)
        self.close()

    @classmethod
    def of(cls, response: Any) -> Page:
        assert response["Content-Type"].startswith("text/html"), describe(response)
        return cls(response.content.decode("utf-8"))

    @property
    def targets(self) -> list[str]:
        return self.forms + self.refresh + self.links + self.frames

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(values.get("action", ""))
        elif tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            content = values.get("content", "")
            self.refresh.append(content.split("url=", 1)[1] if "url=" in content else content)
        elif tag == "a":
            href = values.get("href", "")
            own = href.startswith("/") and not href.startswith(("//", "/\\"))
            (self.own_links if own else self.links).append(href)
        elif tag in ("iframe", "frame", "embed", "object"):
            self.frames.append(values.get("src", values.get("data", "")))
        elif tag == "script":
            self.scripts += 1
        elif tag == "input" and values.get("type") == "hidden" and "name" in values:
            if values["name"] != "csrfmiddlewaretoken":
                self.fields[values["name"]] = values.get("value", "")
        elif tag == "base":
            self.links.append(values.get("href", ""))
