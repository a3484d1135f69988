"""Demo families: the kind of cases a resettlement office really handles, drawn from a seed.

The same seed and date give the same families (nationalities, sizes, ages, relationships, passports, needs,
destinations); only the opaque ids are new each time, so a demo can run twice against one store. Every name is
synthetic; names live only inside the case and never reach logs, ids or output.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from domain.case import Case, Destination, FunctionalNeed, Passport, Person, Relationship, Sex

ADULT = 18


@dataclass(frozen=True)
class Origin:
    nationality: str  # ISO 3166-1 alpha-3
    office_id: str  # the office processing this population, where it lives in exile
    office_code: str
    languages: tuple[tuple[str, ...], ...]  # language sets a person may speak, preferred first
    family_names: tuple[str, ...]
    female_names: tuple[str, ...]
    male_names: tuple[str, ...]
    passport_share: float  # how many adults still hold a national passport
    weight: int


ORIGINS = (
    Origin("AFG", "office_islamabad", "ISB", (("fa",), ("ps",), ("fa", "ps"), ("ps", "fa")),
           ("Ahmadi", "Haidari", "Rahimi", "Sultani", "Noori", "Karimi", "Hashimi", "Popal", "Wardak"),
           ("Mariam", "Zahra", "Fatima", "Shabnam", "Nargis", "Parwana", "Freshta", "Madina"),
           ("Ahmad", "Mohammad", "Omid", "Farhad", "Jawad", "Naveed", "Habib", "Sayed"), 0.35, 5),
    Origin("SYR", "office_amman", "AMM", (("ar",),),
           ("Al-Hassan", "Khalil", "Haddad", "Darwish", "Mansour", "Al-Ali", "Suleiman", "Hamdan"),
           ("Rania", "Lina", "Huda", "Nour", "Yasmin", "Amal", "Reem", "Salma"),
           ("Omar", "Khaled", "Yousef", "Samer", "Ahmad", "Bassel", "Tarek", "Hussam"), 0.55, 4),
    Origin("SDN", "office_cairo", "CAI", (("ar",), ("ar", "en")),
           ("Abdelrahman", "Osman", "Elhassan", "Adam", "Ibrahim", "Babiker", "Hamid", "Yousif"),
           ("Amna", "Hawa", "Sara", "Mariam", "Fatima", "Nafisa", "Zainab", "Asha"),
           ("Abdalla", "Mohamed", "Osman", "Yasir", "Adam", "Mustafa", "Hassan", "Khalid"), 0.25, 3),
    Origin("COD", "office_kampala", "KLA", (("fr", "sw"), ("sw", "fr"), ("ln", "fr"), ("sw",), ("ln",)),
           ("Mukendi", "Ilunga", "Mbuyi", "Tshibangu", "Kasongo", "Lukusa", "Bahati", "Mwamba"),
           ("Esther", "Grace", "Mireille", "Nadine", "Chantal", "Ruth", "Furaha", "Neema"),
           ("Jean", "Patrick", "Emmanuel", "Olivier", "Pascal", "Blaise", "Espoir", "Amani"), 0.1, 4),
    Origin("MMR", "office_dhaka", "DAC", (("rhg",), ("rhg", "my")),
           ("Begum", "Khatun", "Ullah", "Hossain", "Alam", "Rahman", "Islam", "Bibi"),
           ("Hamida", "Rahima", "Sanjida", "Hasina", "Nur Kaida", "Rokeya", "Setara", "Jamalida"),
           ("Mohammed", "Nur", "Abdul", "Rashid", "Kamal", "Yasin", "Anwar", "Sadek"), 0.0, 3),  # stateless
    Origin("ERI", "office_addis_ababa", "ADD", (("ti",), ("ti", "am")),
           ("Tesfay", "Haile", "Gebremedhin", "Tekle", "Berhane", "Ghebremariam", "Kidane", "Woldu"),
           ("Senait", "Helen", "Selam", "Yodit", "Mebrat", "Saba", "Luwam", "Rahwa"),
           ("Yonas", "Dawit", "Samuel", "Filmon", "Robel", "Natnael", "Mussie", "Aron"), 0.05, 3),
    Origin("VEN", "office_bogota", "BOG", (("es",),),
           ("González", "Rodríguez", "Pérez", "Hernández", "Martínez", "García", "Rojas", "Mendoza"),
           ("María", "Daniela", "Andreína", "Yulimar", "Carolina", "Génesis", "Valentina", "Rosa"),
           ("José", "Luis", "Carlos", "Jesús", "Miguel", "Yonathan", "Ángel", "Rafael"), 0.6, 3),
)

DESTINATIONS: dict[str, tuple[str, ...]] = {
    "CA": ("Toronto", "Winnipeg", "Calgary", "Halifax", "Ottawa"),
    "US": ("Houston", "Buffalo", "Boise", "Phoenix", "Sacramento"),
    "DE": ("Berlin", "Hamburg", "Leipzig", "Hannover"),
    "FR": ("Lyon", "Toulouse", "Strasbourg", "Rennes"),
    "SE": ("Malmö", "Uppsala", "Umeå", "Göteborg"),
    "AU": ("Sydney", "Melbourne", "Brisbane", "Adelaide"),
}
DESTINATION_WEIGHTS = {"CA": 4, "US": 4, "DE": 3, "FR": 2, "SE": 2, "AU": 2}

FAMILY_SIZES = (1, 2, 3, 4, 5, 6, 7)
FAMILY_SIZE_WEIGHTS = (12, 14, 18, 20, 16, 12, 8)
UNACCOMPANIED_MINOR_SHARE = 0.25  # of single-person cases
PASSPORT_EXPIRED_SHARE = 0.3  # of the passports a family still holds


def demo_families(count: int, seed: int, today: date) -> list[Case]:
    """`count` families approved for resettlement before `today`."""
    rng = random.Random(seed)
    return [_family(rng, today, number) for number in range(1, count + 1)]


def _family(rng: random.Random, today: date, number: int) -> Case:
    origin = rng.choices(ORIGINS, weights=[o.weight for o in ORIGINS])[0]
    family_name = rng.choice(origin.family_names)
    size = rng.choices(FAMILY_SIZES, weights=FAMILY_SIZE_WEIGHTS)[0]
    approved_on = today - timedelta(days=rng.randint(20, 400))
    if size == 1 and rng.random() < UNACCOMPANIED_MINOR_SHARE:
        people = [_person(rng, origin, family_name, Relationship.PRINCIPAL, rng.randint(14, 16), approved_on,
                          needs=[FunctionalNeed.UNACCOMPANIED_MINOR])]
    else:
        people = _household(rng, origin, family_name, size, approved_on)
    _give_passports(rng, origin, people, today)
    _add_functional_needs(rng, people, today)
    country = rng.choices(list(DESTINATION_WEIGHTS), weights=list(DESTINATION_WEIGHTS.values()))[0]
    city = rng.choice(DESTINATIONS[country])
    return Case(
        reference=f"{origin.office_code}-{approved_on:%y}-{rng.randint(10_000, 99_999)}-{number:03d}",
        office_id=origin.office_id,
        destination=Destination(country=country, city=city,
                                receiving_organisation=f"org_{country.lower()}_{rng.randint(1, 40):02d}"),
        people=people,
        priority=rng.choices((1, 2, 3, 4, 5), weights=(1, 2, 6, 2, 1))[0],
        approved_on=approved_on,
    )


def _household(rng: random.Random, origin: Origin, family_name: str, size: int, on: date) -> list[Person]:
    """Ages are as of `on`, the approval date, so nobody is born after the case was approved."""
    principal_age = rng.randint(24, 58) if size > 1 else rng.randint(19, 70)
    principal_sex = rng.choice((Sex.FEMALE, Sex.MALE)) if size > 1 else rng.choice((Sex.FEMALE, Sex.MALE, Sex.MALE))
    people = [_person(rng, origin, family_name, Relationship.PRINCIPAL, principal_age, on, sex=principal_sex)]
    if size >= 2 and rng.random() < 0.8:
        spouse_sex = Sex.MALE if principal_sex is Sex.FEMALE else Sex.FEMALE
        spouse_age = max(ADULT, principal_age + rng.randint(-8, 6))
        people.append(_person(rng, origin, family_name, Relationship.SPOUSE, spouse_age, on, sex=spouse_sex,
                              like=people[0]))
    if len(people) < size and size >= 4 and rng.random() < 0.3:
        people.append(_person(rng, origin, family_name, Relationship.PARENT,
                              min(88, principal_age + rng.randint(20, 30)), on, like=people[0]))
    if len(people) < size and rng.random() < 0.1:
        people.append(_person(rng, origin, family_name, Relationship.SIBLING,
                              max(ADULT, principal_age + rng.randint(-10, 10)), on, like=people[0]))
    # Children are born while the principal is 17 to 45.
    oldest_child = max(0, min(ADULT - 1, principal_age - 17))
    youngest_child = min(oldest_child, max(0, principal_age - 45))
    while len(people) < size:
        if oldest_child == 0 or (principal_age >= 50 and rng.random() < 0.3):
            people.append(_person(rng, origin, family_name, Relationship.GRANDCHILD, rng.randint(0, 8), on,
                                  like=people[0]))
        else:
            people.append(_person(rng, origin, family_name, Relationship.CHILD,
                                  rng.randint(youngest_child, oldest_child), on, like=people[0]))
    return people


def _person(rng: random.Random, origin: Origin, family_name: str, relationship: Relationship, age: int, on: date,
            sex: Sex | None = None, needs: list[FunctionalNeed] | None = None,
            like: Person | None = None) -> Person:
    """`like`: the principal, whose languages a relative most often shares."""
    sex = sex or rng.choice((Sex.FEMALE, Sex.MALE))
    languages = like.languages if like is not None and rng.random() < 0.7 else list(rng.choice(origin.languages))
    given = rng.choice(origin.female_names if sex is Sex.FEMALE else origin.male_names)
    born = on - timedelta(days=age * 365 + rng.randint(30, 330))
    return Person(
        given_name=given,
        family_name=family_name,
        date_of_birth=born,
        sex=sex,
        nationality=origin.nationality,
        languages=list(languages),
        relationship=relationship,
        functional_needs=list(needs or []),
    )


def _give_passports(rng: random.Random, origin: Origin, people: list[Person], today: date) -> None:
    """Passports are a family matter: either the family kept them, or (most often) it has none that will do."""
    if rng.random() >= origin.passport_share:
        return
    for person in people:
        if rng.random() < 0.15:
            continue  # a child never registered, a passport lost on the way
        expired = rng.random() < PASSPORT_EXPIRED_SHARE
        expires_on = today - timedelta(days=rng.randint(30, 900)) if expired else \
            today + timedelta(days=rng.randint(300, 3000))
        number = f"{origin.nationality[0]}{rng.randint(10_000_000, 99_999_999)}"
        person.passport = Passport(number=number, issuing_country=origin.nationality, expires_on=expires_on)


def _add_functional_needs(rng: random.Random, people: list[Person], today: date) -> None:
    """Needs known before the medical: an older parent who uses a wheelchair, a lung condition needing oxygen."""
    for person in people:
        age = person.age_on(today)
        if age >= 60 and rng.random() < 0.35:
            person.functional_needs.append(FunctionalNeed.WHEELCHAIR)
            if rng.random() < 0.3:
                person.functional_needs.append(FunctionalNeed.OXYGEN)
        elif rng.random() < 0.02:
            person.functional_needs.append(FunctionalNeed.WHEELCHAIR)
        if rng.random() < 0.015:
            person.functional_needs.append(FunctionalNeed.MEDICAL_ESCORT)
