"""Rendering several documents at once, and off the event loop: each comes out as its own archivable file, the same
as when rendered alone, and a renderer whose worker process died recovers on the next call."""

from __future__ import annotations

import gc
import multiprocessing
from concurrent.futures.process import BrokenProcessPool

import pytest

from documents.render import DocumentRenderer, render_batch, render_pdf
from tests.documents_fixtures import (
    assert_archivable,
    fit_to_travel,
    itinerary,
    manifest,
    normalised,
    pdf_text,
    travel_pack,
)


def test_a_batch_gives_each_document_as_its_own_file_the_same_as_alone() -> None:
    documents = [fit_to_travel(["en", "prs"], index=0), fit_to_travel(["en", "prs"], index=1),
                 fit_to_travel(["fr", "ar"], index=4), itinerary(["prs", "en"]), manifest(["en"], count=30),
                 travel_pack(["ar"], people=2)]
    batch = render_batch(documents)
    assert len(batch) == len(documents)
    for document, pdf in zip(documents, batch, strict=True):
        alone = render_pdf(document)
        assert normalised(pdf_text(pdf)) == normalised(pdf_text(alone))
        assert document.header.reference in pdf_text(pdf)
        assert_archivable(pdf, document)
    # Cut from one layout, still one person's certificate each.
    assert "Mariam Haidari" in pdf_text(batch[0]) and "Ahmad Haidari" not in pdf_text(batch[0])
    assert "Ahmad Haidari" in pdf_text(batch[1]) and "Mariam Haidari" not in pdf_text(batch[1])


async def test_the_process_pool_renders_the_same_bytes_and_recovers_from_a_dead_worker() -> None:
    others = set(multiprocessing.active_children())
    renderer = DocumentRenderer(processes=1)
    try:
        document = fit_to_travel(["en", "prs"])
        assert await renderer.render(document) == render_pdf(document)
        assert await renderer.render_batch([]) == []
        for worker in set(multiprocessing.active_children()) - others:
            worker.kill()
            worker.join()
        with pytest.raises(BrokenProcessPool):
            await renderer.render(document)
        # The activity's retry gets a new pool.
        assert await renderer.render_batch([document]) == [render_pdf(document)]
    finally:
        renderer.close()


@pytest.mark.parametrize("enabled", [True, False])
def test_rendering_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    # Paused while a render runs; a process left without a collector would grow without bound.
    (gc.enable if enabled else gc.disable)()
    try:
        render_pdf(fit_to_travel(["en"]))
        assert gc.isenabled() is enabled
        with pytest.raises(Exception):  # noqa: B017 - any failure inside WeasyPrint
            render_batch([fit_to_travel(["en"]), fit_to_travel(["fr"]).model_copy(update={"content": None})])
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
