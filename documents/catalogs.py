"""Keeping the catalogs in step with the templates (documents and web pages) and the code that names messages.

`python -m documents.catalogs` finds every message the templates and `documents/` use and brings each language's
.po file up to date: new messages are added untranslated, messages no longer used are dropped, translations kept.
A test fails while any language other than English lacks a translation, so nothing prints half in English."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from documents.i18n import BABEL_LOCALES, DOMAIN, catalog_path
from domain.documents import SUPPORTED_LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "N_": None}
LANGUAGE_NAMES = {"en": "English", "fr": "French", "ar": "Arabic", "prs": "Dari (Afghan Persian, Persian script)"}
HEADER = """# {language} wording of the predeparture documents.
# Message ids are the English text. After changing a template, run `python -m documents.catalogs` to add or drop
# messages here, then translate every new msgstr: a test fails while one is missing (English excepted)."""


def used_messages() -> dict[str, list[tuple[str, int]]]:
    """Message id -> where it is used (file relative to the project, line)."""
    found: dict[str, list[tuple[str, int]]] = {}
    sources = [
        (ROOT / "templates", [("**.html", "jinja2")], {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                                       "lstrip_blocks": "true"}),
        (ROOT / "documents", [("**.py", "python")], {}),
        (ROOT / "api" / "web", [("**.py", "python")], {}),  # the pages' own messages (nav, errors, form rules)
    ]
    for folder, method_map, options in sources:
        options_map = {pattern: options for pattern, _ in method_map}
        for filename, line, message, _comments, _context in extract_from_dir(
                folder, method_map, options_map, keywords=KEYWORDS):
            if isinstance(message, str) and message:
                place = (str((folder / filename).relative_to(ROOT)), line)
                found.setdefault(message, []).append(place)
    return dict(sorted(found.items()))


def read_catalog(code: str) -> Catalog:
    with catalog_path(code).open("rb") as source:
        return read_po(source, locale=BABEL_LOCALES[code], domain=DOMAIN)


def update(code: str, messages: dict[str, list[tuple[str, int]]]) -> Catalog:
    path = catalog_path(code)
    old = read_catalog(code) if path.exists() else Catalog(locale=BABEL_LOCALES[code], domain=DOMAIN)
    new = Catalog(locale=BABEL_LOCALES[code], domain=DOMAIN, project="predeparture documents",
                  language_team=old.language_team, creation_date=old.creation_date, revision_date=old.revision_date,
                  header_comment=HEADER.format(language=LANGUAGE_NAMES[code]), fuzzy=False)
    for message, places in messages.items():
        kept = old.get(message)
        new.add(message, kept.string if kept else "", locations=places)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as target:
        write_po(target, new, width=116, sort_output=True, omit_header=False, include_previous=False)
    return new


def main() -> None:
    messages = used_messages()
    for code in SUPPORTED_LANGUAGES:
        catalog = update(code, messages)
        missing = sum(1 for m in catalog if m.id and not m.string)
        print(f"{code}: {len(messages)} messages, {missing} untranslated")


if __name__ == "__main__":
    main()
