"""Documents a departure produces, rendered from `templates/` to PDF/A-3u in the family's and the destination's
languages; see `documents.render` (PDFs) and `documents.manifest_csv` (the manifest as a spreadsheet)."""
