"""Every user-facing string is translated into bokmål, nynorsk and English (Babel)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("nb", "nn", "en")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "wtforms_text": None,  # WTForms' own messages (app/web/forms.py), as in the Makefile
    "wtforms_plural": (1, 2),
}
METHODS = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]


def extracted() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT, METHODS, keywords=KEYWORDS, options_map={"app/templates/**.html": {}}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(lang: str):
    with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_is_complete_and_in_step_with_the_code(lang):
    cat = catalog(lang)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in cat if m.id}
    in_code = extracted()
    assert in_code - ids == set(), f"run `make messages` and translate ({lang})"
    assert ids - in_code == set(), f"strings no longer used ({lang}): run `make messages`"
    untranslated = [
        m.id for m in cat if m.id and not (all(m.string) if m.pluralizable else m.string)
    ]
    assert untranslated == []
    fuzzy = [m.id for m in cat if m.id and m.fuzzy]
    assert fuzzy == []
    # An obsolete entry (#~) is a translation nobody sees: `make messages` drops them, so one
    # here came from a merge or by hand and hides what the code now says.
    assert list(cat.obsolete) == [], f"obsolete entries ({lang}): run `make messages`"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_survive_translation(lang):
    for message in catalog(lang):
        if not message.id:
            continue
        ids = message.id if message.pluralizable else (message.id,)
        strings = message.string if message.pluralizable else (message.string,)
        for name in re.findall(r"%\(\w+\)[sd]", " ".join(ids)):
            assert all(name in text for text in strings), (lang, message.id, name)


# docs/product.md section 9: the labels users see, in bokmål, and their nynorsk forms. In English
# the label is the msgid, except where ENGLISH says otherwise.
VOCABULARY = {
    "Log in": ("Logg inn", "Logg inn"),
    "Log in for staff": ("Logg inn for ansatte", "Logg inn for tilsette"),
    "Username": ("Brukernavn", "Brukarnamn"),
    "Password": ("Passord", "Passord"),
    "Fødselsnummer": ("Fødselsnummer", "Fødselsnummer"),
    "Log out": ("Logg ut", "Logg ut"),
    "Messages": ("Meldinger", "Meldingar"),
    "Appointments": ("Timeavtaler", "Timeavtalar"),
    "Health contacts": ("Helsekontakter", "Helsekontaktar"),
    "Profile and settings": ("Profil og innstillinger", "Profil og innstillingar"),
    "Personal information": ("Personopplysninger", "Personopplysningar"),
    "Message queue": ("Meldingskø", "Meldingskø"),
    "Administration": ("Administrasjon", "Administrasjon"),
    "Write message": ("Skriv melding", "Skriv melding"),
    "Service": ("Tjeneste", "Teneste"),
    "Subject": ("Emne", "Emne"),
    "Message": ("Melding", "Melding"),
    "Send": ("Send", "Send"),
    "Reply": ("Svar", "Svar"),
    "List": ("Liste", "Liste"),
    "Calendar": ("Kalender", "Kalender"),
    "Cancel appointment": ("Avbestill", "Avbestill"),
    "Single appointment": ("Enkeltavtale", "Enkeltavtale"),
    "Period": ("Periode", "Periode"),
    "Power of attorney": ("Fullmakter", "Fullmakter"),
    "Give new fullmakt": ("Gi ny fullmakt", "Gi ny fullmakt"),
    "End fullmakt": ("Avslutt fullmakt", "Avslutt fullmakt"),
    "All areas": ("Alle områder", "Alle område"),
    "Selected areas": ("Utvalgte områder", "Utvalde område"),
    "Usage log": ("Logg over bruk", "Logg over bruk"),
    "Normal notices": ("Normal varsling", "Normal varsling"),
    "Limited notices": ("Begrenset varsling", "Avgrensa varsling"),
    "All notices": ("Alle varsler", "Alle varsel"),
    "Contact information and notices": (
        "Kontaktinformasjon og varseloppsett",
        "Kontaktinformasjon og varseloppsett",
    ),
    "Planned": ("Planlagt", "Planlagt"),
    "Assigned": ("Tildelt", "Tildelt"),
    "Completed": ("Utført", "Utført"),
    "Cancelled": ("Avlyst", "Avlyst"),
    "Interim reply": ("Midlertidig svar", "Mellombels svar"),
    "Urgent": ("Haster", "Hastar"),
    "Assign": ("Tildel", "Tildel"),
    "Internal note": ("Intern merknad", "Intern merknad"),
    "Forward": ("Videresend", "Vidaresend"),
    "Close thread": ("Avslutt tråd", "Avslutt tråd"),
    "Journal": ("Journalfør", "Journalfør"),
    "New message": ("Ny melding", "Ny melding"),
    "Welcome message": ("Velkomstmelding", "Velkomstmelding"),
    "Planning": ("Planlegging", "Planlegging"),
    "My visits today": ("Mine besøk i dag", "Mine besøk i dag"),
    "Register as done": ("Registrer utført", "Registrer utført"),
    "Cancellations": ("Avbestillinger", "Avbestillingar"),
    "Acknowledge": ("Kvitter ut", "Kvitter ut"),
    "Assigned fullmakt": ("Tildelt fullmakt", "Tildelt fullmakt"),
    "Written by %(author)s on behalf of %(subject)s": (
        "Skrevet av %(author)s på vegne av %(subject)s",
        "Skrive av %(author)s på vegner av %(subject)s",
    ),
    "Reply expected by %(date)s": ("Svar forventet innen %(date)s", "Svar venta innan %(date)s"),
}


ENGLISH = {
    "Fødselsnummer": "National identity number",
    "Power of attorney": "Fullmakter",
}


@pytest.mark.parametrize(("msgid", "expected"), VOCABULARY.items())
def test_ui_vocabulary(msgid, expected):
    nb, nn, en = (catalog(lang).get(msgid) for lang in LANGUAGES)
    assert (nb.string, nn.string) == expected
    assert en.string == ENGLISH.get(msgid, msgid)


def translations(lang: str) -> list[tuple[str, str]]:
    """(msgid, text) for every translated text of a catalog, each plural form on its own."""
    found = []
    for message in catalog(lang):
        if not message.id:
            continue
        msgid = message.id[0] if message.pluralizable else message.id
        strings = message.string if message.pluralizable else (message.string,)
        found.extend((msgid, text) for text in strings)
    return found


# Bokmål forms that nynorsk never uses. The verbs are the a-verbs of the catalog, whose
# present tense ends in -ar in nynorsk (brukar, loggar, svarar), not in -er as in bokmål.
BOKMAL_ONLY = re.compile(
    r"\b(bruker|brukes|logger|svarer|starter|slutter|venter|handler|jobber|mangler|"
    r"formidler|virker|leter|åpner|åpne|avslutter|lagrer|ikke|hvis|hva|hvem|hvor|hvilke|"
    r"hvordan|noe|noen|jeg|nå|også|fra|selv|mye|uke|uker|tjeneste|tjenester|ansatt|ansatte|"
    r"mottar|kommer|bare|enn[åa])\b",
    re.IGNORECASE,
)


def test_nynorsk_has_no_bokmal_forms():
    found = [(msgid, text) for msgid, text in translations("nn") if BOKMAL_ONLY.search(text)]
    assert found == []


def test_english_says_fullmakt_and_explains_it_once():
    """One term: "fullmakt" (plural "fullmakter"), with "(power of attorney)" where the front
    page first names it. It is what the municipality and helsenorge.no call it, and it is
    narrower than a legal power of attorney."""
    english = translations("en")
    explained = [text for _msgid, text in english if "power of attorney" in text.lower()]
    assert len(explained) == 1
    assert "fullmakt (power of attorney)" in explained[0]
    assert sum("fullmakt" in text.lower() for _msgid, text in english) > 30


def test_english_says_national_identity_number():
    english = translations("en")
    assert [text for _msgid, text in english if "fødselsnummer" in text.lower()] == []
    assert catalog("en").get("Fødselsnummer").string == "National identity number"
    assert sum("national identity number" in text.lower() for _msgid, text in english) >= 10


def test_the_product_description_names_things_as_the_catalogs_do():
    """docs/product.md section 9, the words on the screen: each row is an entry of the
    catalogs, in bokmål, nynorsk and English (rows with a placeholder in italics aside)."""
    text = (ROOT / "docs" / "product.md").read_text(encoding="utf-8")
    table = text.split("## 9.", 1)[1]
    rows = [
        tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
        for line in table.splitlines()
        if line.startswith("| ") and "---" not in line and "*" not in line
    ][1:]  # the header
    nb, nn, en = (catalog(lang) for lang in LANGUAGES)
    entries = {
        (m.string, nn.get(m.id).string, en.get(m.id).string)
        for m in nb
        if m.id and not m.pluralizable
    }
    assert len(rows) > 50
    assert [row for row in rows if row not in entries] == []
