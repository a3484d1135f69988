"""Documents to PDF/A-3u: tagged, fonts embedded, and the same bytes for the same input.

Nothing in the output comes from the clock or from chance: the dates in the metadata are the header's issue time
and the file identifier is derived from the document's reference, so an activity retried after its answer was lost
stores the very same file. `DocumentRenderer` keeps WeasyPrint (CPU-bound, seconds for a long manifest) off the
event loop, in worker processes that each keep one font configuration for their lifetime."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from weasyprint import CSS, HTML
from weasyprint.document import Document
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from documents.html import TEMPLATES, Composed, compose, document_html, page, stylesheet
from domain.documents import DocumentKind, DocumentToRender

PDF_OPTIONS = {"pdf_variant": "pdf/a-3u", "pdf_tags": True}

# Built once per process: loading and matching fonts is much of the cost of a short document.
FONT_CONFIG = FontConfiguration()
# Templates reference nothing but data: URIs (the QR code); no file or network read can sneak into a document.
URL_FETCHER = URLFetcher(allowed_protocols={"data"})
# Parsed once per process too; pages are then written without it inline.
STYLESHEET = CSS(string=stylesheet(), font_config=FONT_CONFIG, url_fetcher=URL_FETCHER)

# A manifest prints "page X of Y" and runs its own header in the page margins, which count the pages of the
# whole layout: it is laid out on its own, never with other documents.
ALONE = frozenset({DocumentKind.ARRIVAL_MANIFEST})


class _DeferredCollection:
    """Layout allocates hundreds of thousands of short-lived objects linked in cycles (boxes point at their parents);
    with the collector on, it walks the whole heap again and again in the middle of a long layout (a third of a
    500-passenger manifest's time). Paused while any render runs, then one young-generation pass frees the same."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._renders = 0
        self._was_enabled = True

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._renders == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._renders += 1
        try:
            yield
        finally:
            with self._lock:
                self._renders -= 1
                if self._renders == 0 and self._was_enabled:
                    gc.enable()
            gc.collect(0)


collection_deferred = _DeferredCollection()


def pdf_identifier(document: DocumentToRender) -> bytes:
    return hashlib.md5(document.header.reference.encode(), usedforsecurity=False).hexdigest().encode()


def _html(source: str) -> HTML:
    return HTML(string=source, base_url=TEMPLATES.as_uri() + "/", url_fetcher=URL_FETCHER)


def render_pdf(document: DocumentToRender) -> bytes:
    with collection_deferred():
        pdf = _html(document_html(document, inline_css=False)).write_pdf(
            font_config=FONT_CONFIG, stylesheets=[STYLESHEET], pdf_identifier=pdf_identifier(document), **PDF_OPTIONS)
    assert pdf is not None
    return pdf


def metadata_of(composed: Composed) -> DocumentMetadata:
    """What `render_pdf` reads from a document's <head>, for a document cut out of a shared layout."""
    meta = composed.meta
    return DocumentMetadata(title=composed.title, authors=[meta["author"]], created=meta["dcterms.created"],
                            modified=meta["dcterms.modified"], lang=composed.primary.code)


def _split(rendered: Document, anchors: list[str]) -> list[Document]:
    starts = []
    for anchor in anchors:
        starts.append(next(i for i, p in enumerate(rendered.pages) if anchor in p.anchors))
    ends = [*starts[1:], len(rendered.pages)]
    return [rendered.copy(rendered.pages[start:end]) for start, end in zip(starts, ends, strict=True)]


def _render_together(documents: list[DocumentToRender]) -> list[bytes]:
    anchors = [f"document-{index}" for index in range(len(documents))]
    composed = [compose(document, anchor) for document, anchor in zip(documents, anchors, strict=True)]
    rendered = _html(page(composed, inline_css=False)).render(
        font_config=FONT_CONFIG, stylesheets=[STYLESHEET], **PDF_OPTIONS)
    outputs = []
    for document, piece, pieces_composed in zip(documents, _split(rendered, anchors), composed, strict=True):
        piece.metadata = metadata_of(pieces_composed)
        pdf = piece.write_pdf(pdf_identifier=pdf_identifier(document), **PDF_OPTIONS)
        assert pdf is not None
        outputs.append(pdf)
    return outputs


def render_batch(documents: list[DocumentToRender]) -> list[bytes]:
    """Each document as its own file, in the order given; those that can share a layout are laid out in one pass
    (a family's certificates cost little more than one), then cut apart page by page."""
    together = [i for i, d in enumerate(documents) if d.header.kind not in ALONE]
    outputs: dict[int, bytes] = {}
    if len(together) > 1:
        with collection_deferred():
            outputs.update(zip(together, _render_together([documents[i] for i in together]), strict=True))
    for index, document in enumerate(documents):
        if index not in outputs:
            outputs[index] = render_pdf(document)
    return [outputs[index] for index in range(len(documents))]


def _warm() -> None:
    """Run in each new worker process: the font configuration exists from import; one tiny layout loads the fonts.
    What exists then lives as long as the process, so the collector is told never to walk it again."""
    _html("<p>.</p>").render(font_config=FONT_CONFIG, stylesheets=[STYLESHEET])
    gc.collect()
    gc.freeze()


class DocumentRenderer:
    """Renders off the event loop, in `processes` worker processes started on first use. Spawned, not forked:
    the caller is a Temporal worker whose threads a fork would copy mid-flight."""

    def __init__(self, processes: int = 2) -> None:
        if processes < 1:
            raise ValueError("processes: at least one")
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self._processes,
                                             mp_context=multiprocessing.get_context("spawn"), initializer=_warm)
        return self._pool

    async def _run(self, work: Callable[[Any], Any], argument: object) -> Any:
        pool = self._executor()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, work, argument)
        except BrokenProcessPool:
            # A worker died (out of memory, killed): this call fails and the activity retries it, on a new pool.
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise

    async def render(self, document: DocumentToRender) -> bytes:
        pdf: bytes = await self._run(render_pdf, document)
        return pdf

    async def render_batch(self, documents: list[DocumentToRender]) -> list[bytes]:
        if not documents:
            return []
        pdfs: list[bytes] = await self._run(render_batch, documents)
        return pdfs

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
