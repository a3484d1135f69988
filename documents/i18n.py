"""The languages documents are printed in: gettext catalogs read from the .po files at run time, and dates, countries
and directions as each language writes them.

Only the .po files are kept in the repository: a compiled .mo that drifts from its source would print yesterday's
wording, so each catalog is compiled in memory once per process."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from domain.documents import RIGHT_TO_LEFT, SUPPORTED_LANGUAGES

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "documents"

# Babel has no "prs" locale; Afghan Persian (fa_AF) writes months and countries the way Dari readers do.
BABEL_LOCALES = {"en": "en", "fr": "fr", "ar": "ar", "prs": "fa_AF"}


class UnknownLanguage(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no catalog for language {code!r}; we print {', '.join(SUPPORTED_LANGUAGES)}")


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(code: str) -> Translations:
    if code not in SUPPORTED_LANGUAGES:
        raise UnknownLanguage(code)
    with catalog_path(code).open("rb") as source:
        catalog = read_po(source, locale=BABEL_LOCALES[code], domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True)
class Language:
    """One language of a document, with what a template needs to write in it."""

    code: str

    @property
    def locale(self) -> str:
        return BABEL_LOCALES[self.code]

    @property
    def direction(self) -> str:
        return "rtl" if self.code in RIGHT_TO_LEFT else "ltr"

    @property
    def rtl(self) -> bool:
        return self.code in RIGHT_TO_LEFT

    def gettext(self, message: str, **variables: object) -> str:
        text = translations(self.code).gettext(message)
        return text % variables if variables else text

    def date(self, day: date | None) -> str:
        return format_date(day, "long", locale=self.locale) if day is not None else "—"

    def datetime(self, moment: datetime) -> str:
        """Date and clock time in UTC, said so: flights cross time zones and we hold no airport's zone."""
        in_utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        return f"{self.date(in_utc.date())}{self.gettext(', ')}{self.time(in_utc)}"

    def time(self, moment: datetime) -> str:
        in_utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        return f"{format_datetime(in_utc, 'HH:mm', tzinfo=UTC, locale=self.locale)} UTC"

    def language_name(self, code: str) -> str:
        names = Locale.parse(self.locale).languages
        return names.get(code) or names.get(code.split("-")[0].lower()) or code

    def country(self, alpha2: str) -> str:
        return Locale.parse(self.locale).territories.get(alpha2.upper(), alpha2.upper())


def languages(codes: list[str]) -> list[Language]:
    for code in codes:
        if code not in SUPPORTED_LANGUAGES:
            raise UnknownLanguage(code)
    return [Language(code) for code in codes]
