"""Realistic families for tests, dated relative to the (possibly skipped) clock of the test."""

from __future__ import annotations

from datetime import date, timedelta

from domain.case import Case, Destination, FunctionalNeed, Passport, Person, Relationship, Sex, new_opaque_id


def family(today: date, *, children: int = 1, passports: bool = False, needs: list[FunctionalNeed] | None = None,
           country: str = "CA", office: str = "office_nairobi") -> Case:
    passport_expiry = today + timedelta(days=5 * 365)
    surname = "Haidari"

    def passport() -> Passport | None:
        if not passports:
            return None
        return Passport(number=f"P{new_opaque_id('x')[-7:]}", issuing_country="AFG", expires_on=passport_expiry)

    people = [
        Person(given_name="Mariam", family_name=surname, date_of_birth=date(1986, 3, 14), sex=Sex.FEMALE,
               nationality="AFG", languages=["fa", "ps"], relationship=Relationship.PRINCIPAL, passport=passport(),
               functional_needs=needs or []),
        Person(given_name="Ahmad", family_name=surname, date_of_birth=date(1983, 11, 2), sex=Sex.MALE,
               nationality="AFG", languages=["fa"], relationship=Relationship.SPOUSE, passport=passport()),
    ]
    for n in range(children):
        people.append(
            Person(given_name=["Zahra", "Omid", "Sana"][n % 3], family_name=surname,
                   date_of_birth=date(2015 + n, 6, 1), sex=Sex.FEMALE if n % 2 == 0 else Sex.MALE, nationality="AFG",
                   languages=["fa"], relationship=Relationship.CHILD, passport=passport())
        )
    return Case(reference=f"NBO-{new_opaque_id('r')[-6:].upper()}", office_id=office,
                destination=Destination(country=country, city="Winnipeg", receiving_organisation="org_reception_mb"),
                people=people, approved_on=today - timedelta(days=30))
