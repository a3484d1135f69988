"""A document as HTML: its parts, each written in every language of the document, under a header band that carries
the issuer, the reference, the version, the dates and the QR code.

One Jinja environment per language, with that language's catalog installed (`jinja2.ext.i18n`), so a template
says `{% trans %}` or `_()` and never chooses a language; a bilingual document renders each part once per language
and shows the blocks one under the other, each with its own `lang` and `dir`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from documents import parts
from documents.i18n import Language, languages, translations
from documents.labels import TITLES, field_message, value_message
from documents.qr import qr_data_uri
from domain.documents import DocumentKind, DocumentToRender

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@cache
def environment(code: str) -> Environment:
    language = Language(code)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(code), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        label=lambda value: language.gettext(value_message(value)),
        field_label=lambda name: language.gettext(field_message(name)),
        date=language.date,
        datetime=language.datetime,
        time=language.time,
        country=language.country,
        language_name=language.language_name,
    )
    return env


@cache
def stylesheet() -> str:
    return (TEMPLATES / "documents.css").read_text(encoding="utf-8")


def w3c(moment: datetime) -> str:
    """The form WeasyPrint copies into the PDF's creation and modification dates."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Composed:
    """One document's HTML pieces: what goes in the body, and what the page rules need."""

    primary: Language
    title: str
    body: Markup
    page_css: str = ""
    meta: dict[str, str] = field(default_factory=dict)


def title_of(document: DocumentToRender, language: Language) -> str:
    return language.gettext(TITLES[document.header.kind])


def compose(document: DocumentToRender, anchor: str | None = None, only: int | None = None) -> Composed:
    """`only`: the index of the one part to compose, as a page of its own (what a naive renderer would lay out)."""
    header = document.header
    langs = languages(header.languages)
    primary = langs[0]
    shared = {"header": header, "content": document.content}
    band = [Markup(environment(language.code).get_template("band.html").render(shared)) for language in langs]
    every = parts.parts_of(document)
    rendered_parts = []
    for template, context in every if only is None else [every[only]]:
        blocks = [Markup(environment(language.code).get_template(template).render(shared, **context))
                  for language in langs]
        rendered_parts.append({"blocks": blocks,
                               "class": template.rsplit("/", 1)[-1].removesuffix(".html").replace("_", "-")})
    running = None
    page_css = ""
    if header.kind is DocumentKind.ARRIVAL_MANIFEST:
        running = Markup(environment(primary.code).get_template("manifest_running.html").render(shared))
        page_css = parts.page_of_pages_css(primary)
    body = environment(primary.code).get_template("document.html").render(
        header=header, langs=langs, band=band, parts=rendered_parts, running=running,
        qr=qr_data_uri(header.verify_url), anchor=anchor)
    meta = {"author": header.issuer.name, "dcterms.created": w3c(header.issued_at),
            "dcterms.modified": w3c(header.issued_at)}
    return Composed(primary=primary, title=f"{title_of(document, primary)} {header.reference}", body=Markup(body),
                    page_css=page_css, meta=meta)


def page(composed: list[Composed], inline_css: bool = True) -> str:
    """The full HTML page holding one document, or several laid out together (the first one's head). Without
    `inline_css` the page expects `documents.css` to be given beside it, parsed once per process."""
    first = composed[0]
    return environment(first.primary.code).get_template("page.html").render(
        first=first, documents=composed, css=Markup(stylesheet()) if inline_css else None)


def document_html(document: DocumentToRender, inline_css: bool = True) -> str:
    """The document as one standalone HTML page: what `render_pdf` lays out."""
    return page([compose(document)], inline_css)


def part_pages(document: DocumentToRender) -> list[str]:
    """Each part of a document as a page of its own: the same HTML a part has inside the whole document."""
    return [page([compose(document, only=index)]) for index in range(len(parts.parts_of(document)))]
