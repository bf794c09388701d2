"""Demo data: customers with services and installation jobs, tickets in every state with their timelines,
offers, ad hoc discounts, and one demo user per role.

Two uses: the small set the desktop loads on its first launch (`load_small_demo`), and stress sets such as
`agentdesk demo-data --customers 100000 --tickets 1000000`. Every row comes from one seeded random
generator (same seed and day, same data). Rows are written as COPY text to temporary files and loaded with
COPY in one transaction. During the load the tables' own triggers (who/when stamps, state guards, change
notifications) are switched off, so a million tickets send no NOTIFY; the generator writes the stamps
itself and keeps the rules those triggers enforce, following the services' workflow step by step (event
kinds, state moves, offers answered by the ticket's agent, discounts only from accepted offers, four-eyes
approvals, retained only after accounting's billing item records). CHECK constraints stay on; a big load
sets foreign keys and non-unique indexes aside while it COPYs (on a second thread, while the next chunk is
generated) and rebuilds them, with the same names and definitions, before it commits.

Open tickets and the newest closed ones carry their whole history. In big sets older closed tickets are
summarised: two events (opened, closed); a retained one still has its offer, discount and records.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import hashlib
import itertools
import json
import logging
import queue
import random
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from agentdesk.bootstrap import Database
from agentdesk.db.migrate import OWNER_ROLE
from agentdesk.db.models.base import TICKET_STATES
from agentdesk.demo.reference import load_reference_data, routing_rules
from agentdesk.domain.errors import AgentDeskError, ValidationError
from agentdesk.services import users as user_service

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------------
# Sizes and people
# ----------------------------------------------------------------------------------------------------

SMALL_CUSTOMERS = 300
SMALL_TICKETS = 200
SMALL_SEED = 2015  # the year of the CRM.COM scenarios
MAX_CUSTOMERS = 5_000_000
MAX_TICKETS = 50_000_000
MAX_TICKETS_PER_CUSTOMER = 1_000
DETAILED_LIMIT = 5_000  # up to this many tickets, every ticket gets a full history
DETAILED_CLOSED = 2_000  # in bigger sets, only this many of the newest closed tickets do
BULK_ROWS = 50_000  # from this many customers + tickets, foreign keys and indexes are rebuilt after the load
CHUNK_TICKETS = 50_000  # in a bulk load, tickets and their history go to the loader in chunks this big

DEMO_PASSWORD = "agentdesk-demo"


@dataclass(frozen=True)
class DemoUser:
    name: str
    display_name: str
    role: str
    units: tuple[str, ...]


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("anna.csr", "Anna Christodoulou", "csr", ("retention",)),
    DemoUser("nikos.csr", "Nikos Papadopoulos", "csr", ("retention",)),
    DemoUser("eleni.senior", "Eleni Georgiou", "csr", ("senior_save",)),
    DemoUser("mark.manager", "Mark Ioannou", "manager", ("customer_care_managers", "retention", "senior_save")),
    DemoUser("alice.accounting", "Alice Demetriou", "accounting", ("accounting",)),
    DemoUser("adam.admin", "Adam Constantinou", "admin", ()),
)
_DISPLAY = {u.name: u.display_name for u in DEMO_USERS}
_FRONT_LINE = ("anna.csr", "nikos.csr")
_SENIOR = ("eleni.senior",)
_MANAGER = "mark.manager"
_ACCOUNTING = "alice.accounting"


class DemoDataError(AgentDeskError):
    """Demo data cannot be loaded here (already loaded, or the database is not ready)."""


@dataclass(frozen=True)
class DemoSummary:
    customers: int
    subscriptions: int
    jobs: int
    billing_items: int
    tickets: int
    ticket_events: int
    offers: int
    adhoc_discounts: int
    tickets_by_state: dict[str, int]
    users_created: tuple[str, ...]
    seconds: float


def check_sizes(customers: int, tickets: int) -> None:
    """Refuse sizes that make no sense, in one line naming the option."""
    if customers < 0:
        raise ValidationError("customers", f"--customers must be 0 or more, not {customers}")
    if tickets < 0:
        raise ValidationError("tickets", f"--tickets must be 0 or more, not {tickets}")
    if customers > MAX_CUSTOMERS:
        raise ValidationError("customers", f"--customers {customers} is too many: at most {MAX_CUSTOMERS:,}")
    if tickets > MAX_TICKETS:
        raise ValidationError("tickets", f"--tickets {tickets} is too many: at most {MAX_TICKETS:,}")
    if customers == 0 and tickets > 0:
        raise ValidationError("customers", "Tickets need customers: give --customers 1 or more")
    if customers > 0 and tickets < len(TICKET_STATES):
        raise ValidationError(
            "tickets", f"--tickets must be at least {len(TICKET_STATES)} (one per ticket state), not {tickets}"
        )
    if tickets > customers * MAX_TICKETS_PER_CUSTOMER:
        raise ValidationError(
            "tickets",
            f"{tickets} tickets for {customers} customers is absurd: at most {MAX_TICKETS_PER_CUSTOMER} per customer",
        )


# ----------------------------------------------------------------------------------------------------
# Name, address and text pools
# ----------------------------------------------------------------------------------------------------

# (Greek, Latin) pairs: Cypriot and Greek people are written either way.
_GREEK_MALE = (
    ("Ανδρέας", "Andreas"), ("Γιώργος", "Giorgos"), ("Κώστας", "Kostas"), ("Νίκος", "Nikos"),
    ("Χρίστος", "Christos"), ("Μιχάλης", "Michalis"), ("Παναγιώτης", "Panagiotis"), ("Σάββας", "Savvas"),
    ("Στέλιος", "Stelios"), ("Μάριος", "Marios"), ("Δημήτρης", "Dimitris"), ("Γιάννης", "Giannis"),
    ("Λοΐζος", "Loizos"), ("Χαράλαμπος", "Charalambos"), ("Πέτρος", "Petros"), ("Σωτήρης", "Sotiris"),
    ("Φοίβος", "Foivos"), ("Ευάγγελος", "Evangelos"), ("Θεόδωρος", "Theodoros"), ("Κυριάκος", "Kyriakos"),
)
_GREEK_FEMALE = (
    ("Μαρία", "Maria"), ("Ελένη", "Eleni"), ("Άννα", "Anna"), ("Χριστίνα", "Christina"),
    ("Κατερίνα", "Katerina"), ("Σοφία", "Sofia"), ("Γεωργία", "Georgia"), ("Αντιγόνη", "Antigoni"),
    ("Ραφαέλλα", "Rafaella"), ("Στέλλα", "Stella"), ("Παναγιώτα", "Panagiota"), ("Δέσποινα", "Despoina"),
    ("Ειρήνη", "Eirini"), ("Χρυσταλλένη", "Chrystalleni"), ("Αθηνά", "Athina"), ("Ζωή", "Zoi"),
    ("Μυρτώ", "Myrto"), ("Φωτεινή", "Foteini"),
)
# Genitive surnames, the same for women and men (the usual Cypriot form).
_GREEK_SURNAMES = (
    ("Γεωργίου", "Georgiou"), ("Ιωάννου", "Ioannou"), ("Χριστοδούλου", "Christodoulou"),
    ("Κωνσταντίνου", "Konstantinou"), ("Ανδρέου", "Andreou"), ("Δημητρίου", "Dimitriou"),
    ("Νικολάου", "Nikolaou"), ("Χαραλάμπους", "Charalambous"), ("Παναγιώτου", "Panagiotou"),
    ("Αντωνίου", "Antoniou"), ("Σάββα", "Savva"), ("Κυριάκου", "Kyriakou"),
    ("Χατζηγεωργίου", "Chatzigeorgiou"), ("Λοΐζου", "Loizou"), ("Θεοδώρου", "Theodorou"),
    ("Στυλιανού", "Stylianou"), ("Ευαγγέλου", "Evangelou"), ("Πέτρου", "Petrou"), ("Ζαχαρίου", "Zachariou"),
    ("Σωτηρίου", "Sotiriou"), ("Φιλίππου", "Filippou"), ("Ηλία", "Ilia"), ("Χριστοφόρου", "Christoforou"),
    ("Περικλέους", "Perikleous"), ("Αθανασίου", "Athanasiou"), ("Οικονόμου", "Oikonomou"),
    ("Βασιλείου", "Vasileiou"), ("Παπαδοπούλου", "Papadopoulou"),
)

# Europeans: first names, surnames, company suffix, VAT prefix and digits, phone prefix, places.
_EUROPE: dict[str, dict[str, Any]] = {
    "DE": {
        "first": ("Jürgen", "Jörg", "Günther", "Björn", "Käthe", "Bärbel", "Sönke", "Lena", "Matthias", "Anja"),
        "last": ("Müller", "Schäfer", "Köhler", "Weiß", "Groß", "Böhm", "Krüger", "Schröder", "Hoffmann", "Wagner"),
        "company": "GmbH", "vat": ("DE", 9), "phone": ("+49 151", 8),
        "places": (("Berlin", "10115", "Friedrichstraße {n}"), ("München", "80331", "Maximilianstraße {n}"),
                   ("Köln", "50667", "Hohe Straße {n}"), ("Düsseldorf", "40212", "Königsallee {n}")),
    },
    "FR": {
        "first": ("François", "Hélène", "Élodie", "Jérôme", "Noël", "Chloé", "Gaëlle", "Loïc", "Cécile", "Benoît"),
        "last": ("Lefèvre", "Dubois", "Girard", "Lemaître", "Bérenger", "Fournier", "Mercier", "Rousseau", "Crépin"),
        "company": "SARL", "vat": ("FR", 11), "phone": ("+33 6", 8),
        "places": (("Paris", "75008", "{n} rue du Faubourg Saint-Honoré"), ("Lyon", "69002", "{n} rue de la République"),
                   ("Marseille", "13001", "{n} La Canebière"), ("Nice", "06000", "{n} promenade des Anglais")),
    },
    "ES": {
        "first": ("José", "María José", "Iñaki", "Begoña", "Álvaro", "Inés", "Raúl", "Lucía", "Martín", "Núria"),
        "last": ("Ibáñez", "Muñoz", "Núñez", "Gómez", "Fernández", "Peña", "Sáez", "Rodríguez", "Castaño", "López"),
        "company": "S.L.", "vat": ("ES", 9), "phone": ("+34 6", 8),
        "places": (("Madrid", "28013", "Calle Mayor {n}"), ("Barcelona", "08002", "Carrer de Ferran {n}"),
                   ("Sevilla", "41004", "Avenida de la Constitución {n}"), ("Málaga", "29005", "Calle Larios {n}")),
    },
    "PL": {
        "first": ("Łukasz", "Małgorzata", "Paweł", "Zofia", "Wojciech", "Agnieszka", "Michał", "Józef"),
        "last": ("Wójcik", "Nowak", "Woźniak", "Kołodziej", "Mazur", "Sęk", "Kowalczyk", "Król"),
        "company": "Sp. z o.o.", "vat": ("PL", 10), "phone": ("+48 601", 6),
        "places": (("Kraków", "31-042", "ul. Floriańska {n}"), ("Warszawa", "00-001", "ul. Nowy Świat {n}"),
                   ("Gdańsk", "80-831", "ul. Długa {n}"), ("Wrocław", "50-106", "ul. Świdnicka {n}")),
    },
    "DK": {
        "first": ("Søren", "Åse", "Bjørn", "Mette", "Jørgen", "Sørine", "Frederik", "Ida"),
        "last": ("Østergaard", "Sørensen", "Kjærgaard", "Møller", "Nørgaard", "Lindqvist", "Bæk"),
        "company": "ApS", "vat": ("DK", 8), "phone": ("+45 2", 7),
        "places": (("København K", "1160", "Strøget {n}"), ("Aarhus C", "8000", "Søndergade {n}"),
                   ("Odense C", "5000", "Vestergade {n}")),
    },
    "IT": {
        "first": ("Niccolò", "Francesca", "Lucia", "Giosuè", "Andrea", "Mattia", "Chiara", "Nicolò"),
        "last": ("Rossi", "Bianchi", "Caruso", "Esposito", "Ricci", "Gallo", "De Luca", "D'Amico"),
        "company": "S.r.l.", "vat": ("IT", 11), "phone": ("+39 347", 7),
        "places": (("Milano", "20121", "Via Manzoni {n}"), ("Roma", "00186", "Via del Corso {n}"),
                   ("Napoli", "80132", "Via Toledo {n}"), ("Torino", "10123", "Via Roma {n}")),
    },
    "PT": {
        "first": ("João", "Conceição", "Gonçalo", "Inês", "Sebastião", "Matilde"),
        "last": ("Gonçalves", "Simões", "Magalhães", "Araújo", "Conceição", "Guimarães"),
        "company": "Lda.", "vat": ("PT", 9), "phone": ("+351 91", 7),
        "places": (("Lisboa", "1100-148", "Rua Augusta {n}"), ("Porto", "4000-322", "Rua de Santa Catarina {n}")),
    },
    "GB": {
        "first": ("Oliver", "Charlotte", "James", "Emily", "Siobhán", "Seán"),
        "last": ("Smith", "O'Brien", "Taylor", "Walsh", "Hughes", "McKenzie"),
        "company": "Ltd", "vat": ("GB", 9), "phone": ("+44 7700", 6),
        "places": (("London", "SW1A 1AA", "{n} Whitehall"), ("Manchester", "M1 1AE", "{n} Piccadilly")),
    },
}
_EU_COUNTRIES = ("DE", "FR", "ES", "PL", "DK", "IT", "PT")
_EU_WEIGHTS = (25, 20, 15, 10, 8, 14, 8)

# Cyprus: city, postal code range, landline area code, streets (Latin and Greek spellings).
_CYPRUS: tuple[tuple[str, tuple[int, int], str, tuple[str, ...]], ...] = (
    ("Nicosia", (1010, 2900), "22", ("Makariou III Avenue", "Stasinou Street", "Ledras Street", "Griva Digeni Avenue",
                                      "Λεωφόρος Ευαγόρου", "Οδός Αγίου Παύλου", "Athalassis Avenue", "Kennedy Avenue")),
    ("Limassol", (3010, 4700), "25", ("Anexartisias Street", "Spyrou Kyprianou Avenue", "Georgiou A' Street",
                                       "Λεωφόρος Μακαρίου Γ'", "Agiou Andreou Street", "Archiepiskopou Leontiou A'")),
    ("Larnaca", (6010, 7700), "24", ("Athinon Avenue", "Zinonos Kitieos Street", "Λεωφόρος Γρίβα Διγενή",
                                      "Ermou Street", "Leoforos Artemidos")),
    ("Paphos", (8010, 8900), "26", ("Poseidonos Avenue", "Apostolou Pavlou Avenue", "Οδός Τάφων των Βασιλέων",
                                     "Gladstonos Street")),
    ("Paralimni", (5280, 5390), "23", ("Protaras Avenue", "Λεωφόρος Πρωταρά", "Kennedy Street")),
)
_CYPRUS_WEIGHTS = (38, 30, 16, 11, 5)
_GREECE: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Athens", ("105 57", "106 71", "115 21", "104 34"), ("Ermou", "Panepistimiou", "Ακαδημίας", "Σταδίου")),
    ("Thessaloniki", ("546 24", "546 31", "546 22"), ("Tsimiski", "Egnatia", "Αριστοτέλους")),
    ("Patras", ("262 21", "262 22"), ("Maizonos", "Κορίνθου")),
    ("Heraklion", ("712 02", "712 01"), ("25is Avgoustou", "Καλοκαιρινού")),
)
_BUSINESS_KINDS_CY = ("Trading Ltd", "Holdings Ltd", "& Sons Ltd", "Consulting Ltd", "Estates Ltd", "Pharmacy Ltd")
_BUSINESS_KINDS_GR_SCRIPT = ("Λτδ", "Ο.Ε.", "Α.Ε.", "& Υιοί Λτδ")
_MAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "post.example.org")

_LATIN_FIXES = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "'": ""})

_CALL_TYPES = ("cancellation", "price", "competitor", "complaint", "billing_dispute", "moving", "late_installation")
_CALL_WEIGHTS = (45, 12, 10, 10, 8, 7, 8)
_CHANNELS = ("phone", "email", "web")
_CHANNEL_WEIGHTS = (75, 15, 10)
_REASONS: dict[str, tuple[str, ...]] = {
    "cancellation": (
        "Wants to cancel: says the service is too expensive for what she uses",
        "Cancelling: the internet drops every evening between 20:00 and 23:00",
        "Wants to end the contract at the end of the month",
        "Customer asks to cancel; unhappy with the speed in the upstairs rooms",
        "Cancellation request after the price rise in the last invoice",
    ),
    "price": (
        "Asks why the monthly price went up by 3.00",
        "Finds the package too expensive now that the children moved out",
        "Wants a cheaper package or a loyalty price",
    ),
    "competitor": (
        "Has an offer from a competitor: fibre 500 for 29.90 a month",
        "Neighbour pays less with another provider; will switch unless we match",
        "Competitor offers six months free; wants to know what we can do",
    ),
    "complaint": (
        "Technician did not come on the agreed day",
        "Router restarts several times a day",
        "Sports channels freeze during live matches",
        "Was charged twice for the same month",
    ),
    "billing_dispute": (
        "Disputes the activation fee on the last invoice",
        "Invoice shows the old package after the downgrade",
        "Paid by bank transfer but the payment is not shown",
    ),
    "moving": (
        "Moving to Limassol next month; asks whether the service can move too",
        "Moving abroad for work; wants to end the contract",
        "Moving in with family who already have a connection",
    ),
    "late_installation": (
        "Installation took more than three weeks instead of two",
        "Installation finished much later than promised; asks for compensation",
    ),
}
_NOTES = (
    "Customer prefers to be called back after 17:00.",
    "Explained the loyalty offers; customer will discuss with the family.",
    "Checked the line remotely: no faults in the last 7 days.",
    "Customer was polite but firm about leaving.",
    "Asked for the offer in writing by e-mail.",
    "Promised a technician visit if the drops continue.",
    "Πελάτης ζήτησε επικοινωνία στα ελληνικά.",
)
_DECLINES = (
    "Customer prefers the competitor's price",
    "Moving abroad, no offer helps",
    "Wants a bigger discount than we can give",
    "Not interested in any offer",
)
_CANCEL_REASONS = (
    "Customer already received a credit this quarter",
    "The complaint was not confirmed by the technical team",
    "Amount too high for the customer's value",
)
_ACCEPT_CHANNELS = ("phone", "email", "web", "reference")


class _Weighted:
    """A weighted choice that costs one random number and one bisect (random.choices is slow in a loop)."""

    def __init__(self, values: Sequence[Any], weights: Sequence[float]) -> None:
        self.values = tuple(values)
        self.cumulative = tuple(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.total)]


_SEGMENT = _Weighted(("platinum", "gold", "silver", "bronze"), (4, 14, 34, 48))
_CARD = {seg: _Weighted(("premium", "standard", "none"), w) for seg, w in {
    "platinum": (70, 30, 0), "gold": (35, 55, 10), "silver": (5, 60, 35), "bronze": (0, 40, 60)}.items()}
_LATE = {seg: _Weighted(range(7), w) for seg, w in {
    "platinum": (92, 8, 0, 0, 0, 0, 0), "gold": (80, 15, 5, 0, 0, 0, 0),
    "silver": (65, 20, 10, 5, 0, 0, 0), "bronze": (50, 20, 12, 8, 5, 3, 2)}.items()}
_COUNTRY = _Weighted(("CY", "GR", "EU"), (70, 15, 15))
_SUB_COUNT = _Weighted((1, 2, 3), (80, 17, 3))
_FREQUENCY = _Weighted(("monthly", "quarterly", "annual"), (70, 15, 15))
_MAIN_PACKAGE = {seg: _Weighted(("FIBRE-100", "FIBRE-500", "FIBRE-1000", "TV-BASIC"), w) for seg, w in {
    "platinum": (10, 30, 50, 10), "gold": (25, 40, 20, 15), "silver": (45, 25, 8, 22), "bronze": (45, 25, 8, 22)}.items()}
_ADDON_COUNT = _Weighted((0, 1, 2, 3), (40, 35, 18, 7))
_EU_ORIGIN = _Weighted(_EU_COUNTRIES, _EU_WEIGHTS)
_CYPRUS_PLACE = _Weighted(_CYPRUS, _CYPRUS_WEIGHTS)
_CALL_TYPE = _Weighted(_CALL_TYPES, _CALL_WEIGHTS)
_CHANNEL = _Weighted(_CHANNELS, _CHANNEL_WEIGHTS)


def _latin(value: str) -> str:
    """ASCII letters for e-mail addresses: 'Müller' -> 'muller', 'Łukasz' -> 'lukasz'."""
    plain = unicodedata.normalize("NFKD", value.translate(_LATIN_FIXES))
    return "".join(c for c in plain if c.isascii() and (c.isalnum() or c in ".-")).lower()


# ----------------------------------------------------------------------------------------------------
# COPY text helpers (fields are tab separated, \N is NULL)
# ----------------------------------------------------------------------------------------------------

_NULL = "\\N"
_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _t(value: str | None) -> str:
    if value is None:
        return _NULL
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_TEXT_ESCAPES)
    return value


def _money(cents: int | None) -> str:
    if cents is None:
        return _NULL
    return f"{cents // 100}.{cents % 100:02d}"


_DAY_TEXT: dict[int, str] = {}
_CLOCK_TEXT: dict[int, str] = {}


def _ts(seconds: float | None) -> str:
    """A UTC timestamp from Unix seconds (whole seconds), cheaply: date and clock texts are cached."""
    if seconds is None:
        return _NULL
    day, rest = divmod(int(seconds), 86_400)
    date_text = _DAY_TEXT.get(day)
    if date_text is None:
        date_text = _DAY_TEXT[day] = dt.date.fromordinal(day + 719_163).isoformat()
    clock = _CLOCK_TEXT.get(rest)
    if clock is None:
        clock = _CLOCK_TEXT[rest] = f" {rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}+00"
    return date_text + clock


def _day(ordinal: int | None) -> str:
    return _NULL if ordinal is None else dt.date.fromordinal(ordinal).isoformat()


_JSON_TEXT: dict[tuple[tuple[str, Any], ...], str] = {}


def _json(value: dict[str, Any] | None) -> str:
    """JSON for COPY; the small event payloads repeat, so their text is cached."""
    if value is None:
        return _NULL
    try:
        key = tuple(value.items())
        cached = _JSON_TEXT.get(key)
    except TypeError:  # unhashable values (lists): not worth caching
        key, cached = (), None
    if cached is None:
        cached = _t(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        if key and len(_JSON_TEXT) < 10_000:
            _JSON_TEXT[key] = cached
    return cached


def _opt(value: object) -> str:
    return _NULL if value is None else str(value)


def _array(values: Iterable[object]) -> str:
    return "{" + ",".join(str(v) for v in values) + "}"


class _Table:
    """Rows for one table, spooled as COPY text to temporary files. `seal()` hands over what was written
    so far (a chunk) and starts a new file, so a loader can COPY while the generator goes on."""

    def __init__(self, name: str, columns: str) -> None:
        self.name = name
        self.columns = columns
        self.rows = 0
        self._buffer: list[str] = []
        self._file: IO[str] | None = None
        self._sealed: list[IO[str]] = []

    def add(self, *fields: str) -> None:
        self._buffer.append("\t".join(fields) + "\n")
        self.rows += 1
        if len(self._buffer) >= 20_000:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            # Open until copied or discarded: a spool outlives any one block.
            self._file = tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._file.writelines(self._buffer)
        self._buffer.clear()

    def seal(self) -> _Chunk | None:
        """The rows written since the last seal, ready to COPY (None if there are none)."""
        if self._buffer:
            self._spill()
        chunk_file, self._file = self._file, None
        if chunk_file is None:
            return None
        chunk_file.flush()
        chunk_file.seek(0)
        self._sealed.append(chunk_file)
        return _Chunk(self.name, self.columns, chunk_file)

    def discard(self) -> None:
        for f in self._sealed:
            f.close()
        if self._file is not None:
            self._file.close()


@dataclass(frozen=True)
class _Chunk:
    table: str
    columns: str
    file: IO[str]

    def copy_into(self, conn: Connection) -> None:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur: Any = raw.cursor()
        try:
            cur.copy_expert(f"COPY {self.table} ({self.columns}) FROM STDIN", self.file, size=1 << 20)
        finally:
            cur.close()
            self.file.close()


class _Loader(threading.Thread):
    """COPYs chunks on the load's connection while the generator (this process) writes the next ones:
    PostgreSQL parses and stores on one core while Python generates on the other."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(name="demo-data-loader", daemon=True)
        self.conn = conn
        self.chunks: queue.Queue[_Chunk | None] = queue.Queue()
        self.error: BaseException | None = None
        self.seconds = 0.0

    def put(self, chunk: _Chunk | None) -> None:
        if chunk is not None:
            self.chunks.put(chunk)

    def run(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            if self.error is not None:
                continue  # drain; the transaction is lost anyway
            started = time.perf_counter()
            try:
                chunk.copy_into(self.conn)
            except BaseException as exc:  # handed to the main thread, which rolls back
                self.error = exc
            self.seconds += time.perf_counter() - started

    def finish(self, *, abandon: bool = False) -> None:
        """Wait for the queued chunks (or skip them if `abandon`); re-raise a failed COPY."""
        if abandon and self.error is None:
            self.error = DemoDataError("abandoned")
        self.chunks.put(None)
        self.join()
        if self.error is not None and not abandon:
            raise self.error


# ----------------------------------------------------------------------------------------------------
# In-memory records while generating
# ----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Customer:
    id: int
    segment: str
    card_segment: str
    since: int  # date ordinal
    late: int
    value_cents: int
    name: str
    has_email: bool
    subs: list[_Sub] = field(default_factory=list)


@dataclass(slots=True)
class _Item:
    id: int
    code: str
    product_type: str
    is_main: bool
    unit_price_cents: int
    description: str


@dataclass(slots=True)
class _Sub:
    id: int
    customer: _Customer
    frequency: str
    start: int
    end: int | None = None
    items: list[_Item] = field(default_factory=list)


@dataclass(slots=True)
class _Job:
    id: int
    customer: _Customer
    order: int
    expected: int
    actual: int | None
    state: str
    items: list[_Item] = field(default_factory=list)

    @property
    def late(self) -> bool:
        return self.actual is not None and self.actual > self.expected


@dataclass(frozen=True, slots=True)
class _Def:
    id: int
    code: str
    version: int
    name: str
    value_kind: str
    percentage: str | None
    amount_cents: int | None
    min_cents: int | None
    max_cents: int | None
    free_periods: int | None
    billing_frequency: str | None
    duration_kind: str
    duration_periods: int | None
    duration_until: int | None
    max_applications: int | None
    window_months: int
    approval: str
    approval_unit_id: int | None
    product_types: tuple[str, ...]
    product_codes: tuple[str, ...]
    main_service_only: bool
    customer_segments: tuple[str, ...]
    card_segments: tuple[str, ...]
    call_types: tuple[str, ...]
    max_late_payments: int | None
    min_tenure_months: int | None
    jobs_late_only: bool
    edifice_type: str
    multiplier: str
    step_cap_cents: int | None
    effective: int
    expiration: int | None

    @property
    def for_jobs(self) -> bool:
        return self.jobs_late_only or "installation_fee" in self.product_types or "INSTALL" in self.product_codes


def _cents(value: Any) -> int | None:
    return None if value is None else int(round(value * 100))


@dataclass(frozen=True)
class _Reference:
    units: dict[str, int]
    products: dict[str, tuple[int, str, str, int]]  # code -> id, name, type, monthly price cents
    definitions: tuple[_Def, ...]
    company: dict[str, Any]

    @classmethod
    def read(cls, conn: Connection) -> _Reference:
        units = {code: uid for code, uid in conn.execute(text("SELECT code, id FROM unit")).all()}
        products = {
            code: (pid, name, ptype, int(round(price * 100)))
            for pid, code, name, ptype, price in conn.execute(
                text("SELECT id, code, name, type, price FROM product WHERE active")
            ).all()
        }
        rows = conn.execute(
            text(
                "SELECT id, code, version, name, value_kind, percentage, amount, amount_min, amount_max, free_periods,"
                " billing_frequency, duration_kind, duration_periods, duration_until, max_applications,"
                " applications_window_months, approval, approval_unit_id, product_types, product_codes,"
                " main_service_only, customer_segments, card_segments, call_types, max_late_payments,"
                " min_tenure_months, jobs_late_only, edifice_type, multiplier, step_cap, effective_date,"
                " expiration_date FROM discount_definition"
                " WHERE active AND NOT auto_apply AND edifice_type = 'trade' ORDER BY code"
            )
        ).mappings().all()
        definitions = tuple(
            _Def(
                id=r["id"], code=r["code"], version=r["version"], name=r["name"], value_kind=r["value_kind"],
                percentage=None if r["percentage"] is None else f"{r['percentage']:.2f}",
                amount_cents=_cents(r["amount"]), min_cents=_cents(r["amount_min"]),
                max_cents=_cents(r["amount_max"]), free_periods=r["free_periods"],
                billing_frequency=r["billing_frequency"], duration_kind=r["duration_kind"],
                duration_periods=r["duration_periods"],
                duration_until=r["duration_until"].toordinal() if r["duration_until"] else None,
                max_applications=r["max_applications"], window_months=r["applications_window_months"],
                approval=r["approval"], approval_unit_id=r["approval_unit_id"],
                product_types=tuple(r["product_types"] or ()), product_codes=tuple(r["product_codes"] or ()),
                main_service_only=r["main_service_only"], customer_segments=tuple(r["customer_segments"] or ()),
                card_segments=tuple(r["card_segments"] or ()), call_types=tuple(r["call_types"] or ()),
                max_late_payments=r["max_late_payments"], min_tenure_months=r["min_tenure_months"],
                jobs_late_only=r["jobs_late_only"], edifice_type=r["edifice_type"],
                multiplier=str(r["multiplier"]), step_cap_cents=_cents(r["step_cap"]),
                effective=r["effective_date"].toordinal(),
                expiration=r["expiration_date"].toordinal() if r["expiration_date"] else None,
            )
            for r in rows
        )
        missing = [c for c in ("retention", "senior_save", "customer_care_managers") if c not in units]
        if missing or "INSTALL" not in products:
            raise DemoDataError("The reference data is incomplete (units or products missing): run 'agentdesk db upgrade'")
        company = conn.execute(
            text("SELECT currency, offer_validity_days FROM company_settings WHERE id = 1")).mappings().first()
        if company is None:
            raise DemoDataError("The company settings are missing: run 'agentdesk db upgrade'")
        return cls(units=units, products=products, definitions=definitions, company=dict(company))


# ----------------------------------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------------------------------

_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
_DAY = 86_400
_UNIX_EPOCH = 719_163  # date(1970, 1, 1).toordinal(): Unix days + this = date ordinal
_OPEN_STATES = ("queued", "in_progress", "offer_pending", "pending_approval", "accounting")


@dataclass
class _Step:
    kind: str
    actor: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    wait: str  # "click" (minutes), "wait" for the customer or a colleague (hours), "lapse" (the offer expired)
    at: float = 0.0


@dataclass
class _Counters:
    ids: dict[str, int]

    def take(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value


class _Generator:
    """Writes every demo row for one load into `_Table` spools, deterministically from `rng`."""

    def __init__(self, rng: random.Random, today: dt.date, ref: _Reference, ids: dict[str, int],
                 n_customers: int, n_tickets: int) -> None:
        self.rng = rng
        self.today = today.toordinal()
        self.anchor = dt.datetime.combine(today, dt.time(0, 0), dt.UTC).timestamp()
        self.ref = ref
        self.ids = _Counters(dict(ids))
        self.n_customers = n_customers
        self.n_tickets = n_tickets
        self.customers: list[_Customer] = []
        self.subs: list[_Sub] = []
        self.jobs: list[_Job] = []
        self.late_jobs: list[_Job] = []
        self.usage: dict[tuple[int, str], list[int]] = {}
        self.open_keys: set[tuple[str, int]] = set()
        self.state_counts = dict.fromkeys(TICKET_STATES, 0)
        self.rules = routing_rules()
        self.validity = int(ref.company["offer_validity_days"]) * _DAY
        self.chunk_done: Callable[[], None] | None = None  # called every CHUNK_TICKETS tickets
        t = _Table
        self.t_customer = t("customer", "id, account_number, name, email, phone, address_line1, address_line2,"
                            " postal_code, city, country, vat_id, segment, card_segment, customer_since,"
                            " late_payments_12m, lifetime_value, created_at")
        self.t_subscription = t("subscription", "id, number, customer_id, billing_frequency, state, start_date,"
                                " end_date, created_at")
        self.t_job = t("job", "id, number, customer_id, description, order_date, expected_completion,"
                       " actual_completion, state, created_at")
        self.t_item = t("billing_item", "id, subscription_id, job_id, product_id, is_main, quantity, unit_price,"
                        " description")
        self.t_ticket = t("ticket", "id, number, customer_id, subscription_id, job_id, channel, call_type, reason,"
                          " state, resolution, queue_unit_id, priority, customer_value, assigned_to, due_at,"
                          " verified_at, verified_by, requested_end_date, version, created_by, created_at,"
                          " updated_by, updated_at, closed_at")
        self.t_event = t("ticket_event", "id, ticket_id, at, actor, kind, summary, before, after")
        self.t_note = t("ticket_note", "id, ticket_id, author, body, created_at")
        self.t_offer = t("offer", "id, ticket_id, definition_id, rank, state, amount, percentage, free_periods,"
                         " billing_item_ids, terms, terms_hash, acceptance_ref, expires_at, made_by, made_at,"
                         " accepted_at, accepted_channel, accepted_recorded_by, declined_at, decline_reason")
        self.t_discount = t("adhoc_discount", "id, customer_id, subscription_id, job_id, ticket_id, offer_id,"
                            " definition_id, definition_code, state, approval_method, approval_unit_id, value_kind,"
                            " percentage, amount, free_periods, edifice_type, multiplier, step_cap, effective_date,"
                            " expiration_date, periods_total, periods_used, provided_by, provided_on, approved_by,"
                            " approved_on, cancelled_by, cancelled_on, cancel_reason, version")
        self.t_discount_item = t("adhoc_discount_item", "discount_id, billing_item_id")
        self.t_record = t("billing_item_record", "id, ticket_id, discount_id, billing_item_id, service_description,"
                          " service_frequency, service_cost, approved_discount, discount_frequency,"
                          " discount_percent, approved_by, approved_at")

    # -- order of loading (parents first) -----------------------------------------------------------
    def tables(self) -> list[_Table]:
        return [self.t_customer, self.t_subscription, self.t_job, self.t_item, self.t_ticket, self.t_offer,
                self.t_discount, self.t_discount_item, self.t_record, self.t_event, self.t_note]

    def ticket_tables(self) -> list[_Table]:
        """The tables the ticket loop writes (everything but customers and services)."""
        return [self.t_ticket, self.t_offer, self.t_discount, self.t_discount_item, self.t_record, self.t_event,
                self.t_note]

    def generate(self) -> None:
        self.customers_and_services()
        self.tickets()
        self.write_services()

    # -- customers and their services -------------------------------------------------------------
    def customers_and_services(self) -> None:
        rng = self.rng
        for _ in range(self.n_customers):
            self._customer()
        # The first customer is always a monthly subscriber, so every ticket state can be shown even
        # in tiny sets (a Pending Approval needs a manually approved offer).
        if self.customers:
            first = self.customers[0].subs[0]
            if first.frequency != "monthly":
                first.frequency = "monthly"
                self._price_items(first)
        # A few services ended before the ticket history starts: churned customers.
        history_start = self.today - self._window_days()
        for sub in self.subs[1:]:
            if sub.start < history_start - 60 and rng.random() < 0.03:
                sub.end = rng.randint(sub.start + 30, history_start - 1)

    def _window_days(self) -> int:
        return 90 if self.n_tickets <= DETAILED_LIMIT else 730

    def _customer(self) -> None:
        rng = self.rng
        cid = self.ids.take("customer")
        segment = _SEGMENT.pick(rng)
        years = {"platinum": (3, 15), "gold": (2, 12), "silver": (0.5, 10), "bronze": (0.1, 8)}[segment]
        tenure_days = int(rng.uniform(*years) * 365.25)
        since = self.today - max(tenure_days, 30)
        card = _CARD[segment].pick(rng)
        late = _LATE[segment].pick(rng)
        low, high = {"platinum": (5000_00, 25000_00), "gold": (2000_00, 4999_99),
                     "silver": (600_00, 1999_99), "bronze": (0, 599_99)}[segment]
        tenure_share = min(1.0, tenure_days / (years[1] * 365.25))
        value = low + int((high - low) * (0.35 * rng.random() + 0.65 * tenure_share))

        country = _COUNTRY.pick(rng)
        business = rng.random() < 0.12
        name, email_local, phone, address, vat = self._identity(country, business)
        line1, line2, postal, city, cc = address
        email = None if rng.random() < 0.08 else f"{email_local}@{rng.choice(_MAIL_DOMAINS)}"
        customer = _Customer(cid, segment, card, since, late, value, name, email is not None)
        self.customers.append(customer)
        self.t_customer.add(
            str(cid), f"A{cid:07d}", _t(name), _t(email), _t(phone), _t(line1), _t(line2), _t(postal), _t(city),
            cc, _t(vat), segment, card, _day(since), str(late), _money(value),
            _ts(dt.datetime.combine(dt.date.fromordinal(since), dt.time(9), dt.UTC).timestamp()),
        )
        count = _SUB_COUNT.pick(rng)
        for n in range(count):
            start = since if n == 0 else rng.randint(since, max(since, self.today - 7))
            self._subscription(customer, start, business)

    def _identity(self, country: str, business: bool) -> tuple[str, str, str, tuple[str, str | None, str, str, str], str | None]:
        rng = self.rng
        n = rng.randint(1, 180)
        if country == "CY" and rng.random() < 0.85 or country == "GR":
            first_g, first_l = rng.choice(_GREEK_FEMALE if rng.random() < 0.5 else _GREEK_MALE)
            last_g, last_l = rng.choice(_GREEK_SURNAMES)
            greek_script = rng.random() < 0.45
            first, last = (first_g, last_g) if greek_script else (first_l, last_l)
            if business:
                name = (f"{last} {rng.choice(_BUSINESS_KINDS_GR_SCRIPT)}" if greek_script
                        else f"{last} {rng.choice(_BUSINESS_KINDS_CY)}")
                local = f"accounts.{_latin(last_l)}{n}"
            else:
                name = f"{first} {last}"
                local = f"{_latin(first_l)}.{_latin(last_l)}{n}"
        else:
            origin = "GB" if country == "CY" and rng.random() < 0.5 else (
                rng.choice(_EU_COUNTRIES) if country == "CY" else _EU_ORIGIN.pick(rng))
            pool = _EUROPE[origin]
            first, last = rng.choice(pool["first"]), rng.choice(pool["last"])
            # A company registered in Cyprus is a "Ltd", whoever owns it.
            company = "Ltd" if country == "CY" else pool["company"]
            name = f"{last} {company}" if business else f"{first} {last}"
            local = f"info.{_latin(last)}{n}" if business else f"{_latin(first)}.{_latin(last)}{n}"
            if country == "EU":
                country = origin
        if country == "CY":
            city, (lo, hi), area, streets = _CYPRUS_PLACE.pick(rng)
            street = rng.choice(streets)
            line1 = f"{street} {n}"
            postal = str(rng.randint(lo, hi))
            phone = (f"+357 9{rng.choice('4569')} {rng.randint(100000, 999999)}" if rng.random() < 0.75
                     else f"+357 {area} {rng.randint(100000, 999999)}")
            vat = f"CY{rng.randint(10000000, 99999999)}{rng.choice('ABCDEFGHKLMNPRSTUXYZ')}" if business else None
        elif country == "GR":
            city, codes, streets = rng.choice(_GREECE)
            line1 = f"{rng.choice(streets)} {n}"
            postal = rng.choice(codes)
            phone = f"+30 69{rng.randint(0, 9)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
            vat = f"EL{rng.randint(100000000, 999999999)}" if business else None
        else:
            pool = _EUROPE[country]
            city, postal, pattern = rng.choice(pool["places"])
            line1 = pattern.format(n=n)
            prefix, digits = pool["phone"]
            phone = f"{prefix} {rng.randint(10 ** (digits - 1), 10 ** digits - 1)}"
            vat_prefix, vat_digits = pool["vat"]
            vat = f"{vat_prefix}{rng.randint(10 ** (vat_digits - 1), 10 ** vat_digits - 1)}" if business else None
        line2 = None
        roll = rng.random()
        if roll < 0.25:
            line2 = f"Flat {rng.randint(1, 40)}"
        elif roll < 0.32:
            line2 = rng.choice(("2nd floor", "Ground floor", "Διαμέρισμα 3", "c/o reception"))
        return name, local, phone, (line1, line2, postal, city, country), vat

    def _subscription(self, customer: _Customer, start: int, business: bool) -> None:
        rng = self.rng
        sub = _Sub(self.ids.take("subscription"), customer,
                   _FREQUENCY.pick(rng), start)
        main = _MAIN_PACKAGE[customer.segment].pick(rng)
        codes = [main]
        addon_count = _ADDON_COUNT.pick(rng)
        addons = ["TV-SPORTS", "STATIC-IP" if business else "ROUTER-RENT", "ROUTER-RENT" if business else "STATIC-IP"]
        codes.extend(rng.sample(addons, addon_count))
        for code in codes:
            pid, pname, ptype, _price = self.ref.products[code]
            sub.items.append(_Item(self.ids.take("billing_item"), code, ptype, code == main, 0, pname))
        self._price_items(sub)
        customer.subs.append(sub)
        self.subs.append(sub)
        # Recent subscriptions came with an installation job (CRM.COM: jobs carry the installation fee).
        if start > self.today - 3 * 365 and rng.random() < 0.6:
            self._job(customer, start)

    def _price_items(self, sub: _Sub) -> None:
        months = _MONTHS[sub.frequency]
        for item in sub.items:
            monthly = self.ref.products[item.code][3]
            # A billing item's price is per period; a year costs ten months.
            item.unit_price_cents = monthly * (10 if months == 12 else months)

    def _job(self, customer: _Customer, start: int) -> None:
        rng = self.rng
        order = start - rng.randint(14, 24)
        expected = order + 14  # two working weeks
        late = rng.random() < 0.3
        actual: int | None = order + (rng.randint(16, 45) if late else rng.randint(4, 14))
        state = "billed"
        assert actual is not None
        if actual > self.today:
            actual, state = None, "open"
        elif actual > self.today - 20:
            state = "completed"
        if rng.random() < 0.02:
            actual, state = None, "cancelled"
        job = _Job(self.ids.take("job"), customer, order, expected, actual, state)
        for code in ("INSTALL", "ACTIVATION") if rng.random() < 0.5 else ("INSTALL",):
            pid, pname, ptype, price = self.ref.products[code]
            job.items.append(_Item(self.ids.take("billing_item"), code, ptype, False, price, pname))
        self.jobs.append(job)
        if job.late:
            self.late_jobs.append(job)

    def write_services(self) -> None:
        """Subscriptions, jobs and items, written after the tickets decided which services ended."""
        products = self.ref.products
        for sub in self.subs:
            # As the cancellation service does it: Cancelled at once, end_date the first day without service.
            state = "active" if sub.end is None else "cancelled"
            self.t_subscription.add(
                str(sub.id), f"S{sub.id:07d}", str(sub.customer.id), sub.frequency, state, _day(sub.start),
                _day(sub.end), _ts(self._noon(sub.start)),
            )
            for item in sub.items:
                self.t_item.add(str(item.id), str(sub.id), _NULL, str(products[item.code][0]),
                                "t" if item.is_main else "f", "1", _money(item.unit_price_cents), _t(item.description))
        for job in self.jobs:
            self.t_job.add(
                str(job.id), f"J{job.id:07d}", str(job.customer.id), "New installation",
                _day(job.order), _day(job.expected), _day(job.actual), job.state, _ts(self._noon(job.order)),
            )
            for item in job.items:
                self.t_item.add(str(item.id), _NULL, str(job.id), str(products[item.code][0]), "f", "1",
                                _money(item.unit_price_cents), _t(item.description))

    @staticmethod
    def _noon(ordinal: int) -> float:
        return dt.datetime.combine(dt.date.fromordinal(ordinal), dt.time(12), dt.UTC).timestamp()

    # -- eligibility (the reference definitions' criteria, enough to make offers that make sense) --------
    def _eligible(self, customer: _Customer, sub: _Sub | None, job: _Job | None, call_type: str,
                  day: int, manual_only: bool = False) -> list[tuple[_Def, list[_Item]]]:
        out: list[tuple[_Def, list[_Item]]] = []
        for d in self.ref.definitions:
            if manual_only and d.approval != "manual":
                continue
            if d.expiration is not None and day > d.expiration:
                continue
            if d.for_jobs != (job is not None):
                continue
            if job is not None and d.jobs_late_only and not job.late:
                continue
            if d.billing_frequency and (sub is None or sub.frequency != d.billing_frequency):
                continue
            if d.customer_segments and customer.segment not in d.customer_segments:
                continue
            if d.card_segments and customer.card_segment not in d.card_segments:
                continue
            if d.call_types and call_type not in d.call_types:
                continue
            if d.max_late_payments is not None and customer.late > d.max_late_payments:
                continue
            if d.min_tenure_months is not None and (day - customer.since) < d.min_tenure_months * 30.44:
                continue
            if d.max_applications is not None:
                used = self.usage.get((customer.id, d.code), ())
                window_start = day - int(d.window_months * 30.44)
                if sum(1 for u in used if u >= window_start) >= d.max_applications:
                    continue
            if d.duration_kind == "until_date" and d.duration_until is not None and sub is not None \
                    and _period_start_after(sub.start, _MONTHS[sub.frequency], day) >= d.duration_until:
                continue  # it would end before the next billing period starts: nothing to give
            items = self._eligible_items(d, sub, job)
            if items:
                out.append((d, items))
        return out

    # -- tickets ----------------------------------------------------------------------------------------
    def tickets(self) -> None:
        n = self.n_tickets
        if n == 0:
            return
        open_share = 0.35 if n <= DETAILED_LIMIT else 0.08
        n_open = min(n - 1, max(len(_OPEN_STATES), round(n * open_share)))
        n_closed = n - n_open
        window = self._window_days() * _DAY
        # Open tickets are from the last days; their offers are still valid tomorrow.
        open_span = max(_DAY, self.validity - _DAY)
        closed_start = self.anchor - window
        closed_span = window - open_span
        detailed_from = 0 if n <= DETAILED_LIMIT else max(0, n_closed - DETAILED_CLOSED)
        # Cancellations end subscriptions, so there cannot be many more than there are subscriptions.
        p_cancel = min(0.3, 0.2 * len(self.subs) / max(1, n_closed))
        p_retained = 0.45 if n <= DETAILED_LIMIT else 0.35
        rng = self.rng
        hook = self.chunk_done
        for i in range(n):
            if hook is not None and i and i % CHUNK_TICKETS == 0:
                hook()
            if i < n_closed:
                created = closed_start + (i + rng.random()) * closed_span / n_closed
                self._ticket(created, "closed", detailed=i >= detailed_from, p_cancel=p_cancel,
                             p_retained=p_retained)
            else:
                j = i - n_closed
                created = self.anchor - open_span + (j + rng.random()) * open_span / n_open
                # The newest open tickets show one of each open state, however small the set.
                forced = n - 1 - i
                state = _OPEN_STATES[forced] if forced < len(_OPEN_STATES) else self._open_state(created)
                self._ticket(created, state, detailed=True, p_cancel=p_cancel, p_retained=p_retained)

    def _open_state(self, created: float) -> str:
        age = (self.anchor - created) / _DAY
        if age < 1:
            weights = (60, 25, 10, 4, 1)
        elif age < 4:
            weights = (30, 15, 33, 12, 10)
        else:
            weights = (12, 5, 50, 15, 18)  # queued this long: overdue
        return _Weighted(_OPEN_STATES, weights).pick(self.rng)

    def _route(self, customer: _Customer, call_type: str, channel: str) -> tuple[str, int, int, str]:
        """(unit code, priority, due minutes, rule name) from the routing rules, first match wins."""
        for rule in self.rules:
            if rule.get("segment") and rule["segment"] != customer.segment:
                continue
            if rule.get("call_type") and rule["call_type"] != call_type:
                continue
            if rule.get("channel") and rule["channel"] != channel:
                continue
            if rule.get("min_lifetime_value") is not None and customer.value_cents < rule["min_lifetime_value"] * 100:
                continue
            return rule["unit"], rule["priority"], rule["due_minutes"], rule["name"]
        return "retention", 3, 480, "Everything else"

    def _pick_service(self, day: int, call_type: str, is_open: bool,
                      ) -> tuple[_Customer, _Sub | None, _Job | None] | None:
        rng = self.rng
        customers = self.customers
        for _attempt in range(40):
            if call_type == "late_installation":
                if not self.late_jobs:
                    return None
                job = rng.choice(self.late_jobs)
                if job.actual is None or job.actual > day:
                    continue
                if is_open and ("j", job.id) in self.open_keys:
                    continue
                return job.customer, None, job
            customer = customers[rng.randrange(len(customers))]
            subs = [s for s in customer.subs if s.start <= day and s.end is None]
            if not subs:
                continue
            sub = subs[0] if len(subs) == 1 else rng.choice(subs)
            if is_open and ("s", sub.id) in self.open_keys:
                continue
            return customer, sub, None
        return None

    def _ticket(self, created: float, state: str, *, detailed: bool, p_cancel: float, p_retained: float) -> None:
        rng = self.rng
        day = int(created // _DAY) + _UNIX_EPOCH
        call_type = _CALL_TYPE.pick(rng)
        is_open = state != "closed"
        picked = self._pick_service(day, call_type, is_open)
        if picked is None and call_type == "late_installation":
            call_type = "complaint"
            picked = self._pick_service(day, call_type, is_open)
        if picked is None:
            # Everyone's services have ended by now: fall back to the first customer's first service.
            first = self.customers[0]
            picked = (first, first.subs[0], None)
            is_open, state = False, "closed"
        customer, sub, job = picked
        channel = _CHANNEL.pick(rng)
        unit, priority, due_minutes, rule = self._route(customer, call_type, channel)
        tid = self.ids.take("ticket")
        requested_end: int | None = None
        if call_type in ("cancellation", "moving", "competitor") and sub is not None:
            requested_end = day + 30
        ctx = _TicketContext(self, tid, created, day, customer, sub, job, call_type, channel, unit, rule, priority)

        resolution: str | None = None
        if state == "closed":
            roll = rng.random()
            resolution = ("cancelled" if roll < p_cancel else "merged" if roll < p_cancel + 0.04
                          else "retained" if roll < p_cancel + 0.04 + p_retained else "withdrawn")
        if detailed or resolution == "retained":
            # Retained means accounting recorded the discount: even a summarised ticket keeps that chain.
            ctx.summarised = not detailed
            state = ctx.full_history(state, resolution, requested_end)
            ctx.write_offers()
        else:
            ctx.short_history(resolution or "withdrawn", requested_end)
        if state != "closed":
            self.open_keys.add(("s", sub.id) if sub is not None else ("j", job.id) if job is not None else ("t", tid))
        resolution = ctx.resolution
        self.state_counts[state] += 1
        if ctx.ends_on is not None and sub is not None:
            sub.end = ctx.ends_on

        steps = ctx.steps
        last = steps[-1]
        self.t_ticket.add(
            str(tid), _ticket_number(tid), str(customer.id), _opt(sub.id if sub else None),
            _opt(job.id if job else None), channel, call_type, _t(rng.choice(_REASONS[call_type])), state,
            _opt(resolution), str(self.ref.units[unit]), str(priority), _money(customer.value_cents),
            _opt(ctx.assigned_to if state != "queued" else None), _ts(created + due_minutes * 60),
            _ts(ctx.verified_at), _opt(ctx.verified_by), _day(requested_end), str(len(steps)), steps[0].actor,
            _ts(created), last.actor, _ts(last.at), _ts(ctx.closed_at),
        )
        for step in (steps[0], steps[-1]) if ctx.summarised else steps:
            self.t_event.add(str(self.ids.take("ticket_event")), str(tid), _ts(step.at), step.actor, step.kind,
                             _t(step.summary), _json(step.before), _json(step.after))
        for author, body, at in ctx.notes:
            self.t_note.add(str(self.ids.take("ticket_note")), str(tid), author, _t(body), _ts(at))

    @staticmethod
    def _eligible_items(d: _Def, sub: _Sub | None, job: _Job | None) -> list[_Item]:
        pool = job.items if job is not None else sub.items if sub is not None else []
        return [i for i in pool if (not d.product_types or i.product_type in d.product_types)
                and (not d.product_codes or i.code in d.product_codes) and (not d.main_service_only or i.is_main)]

    def _pick_amount(self, d: _Def) -> int | None:
        if d.value_kind == "amount_range" and d.min_cents is not None and d.max_cents is not None:
            steps = (d.max_cents - d.min_cents) // 50
            return d.min_cents + 50 * self.rng.randint(0, steps)
        if d.value_kind == "amount":
            return d.amount_cents
        return None

    def discount(self, *, customer: _Customer, sub: _Sub | None, job: _Job | None, ticket_id: int | None,
                 offer_id: int | None, d: _Def, items: list[_Item], amount_cents: int | None, state: str,
                 provider: str, provided_at: float, decided_by: str, decided_at: float,
                 recorded_at: float | None = None, cancel_reason: str | None = None) -> int:
        """One ad hoc discount (+ its items, + billing item records once accounting approved it), with the
        fields the database guard would have set: the route from the definition, four-eyes approval."""
        did = self.ids.take("adhoc_discount")
        day = int(provided_at // _DAY) + _UNIX_EPOCH
        span = _Span.of(d, sub, day)
        approved_by = approved_on = cancelled_by = cancelled_on = None
        if state == "approved":
            automatic = d.approval == "automatic"
            approved_by = provider if automatic else decided_by
            approved_on = provided_at if automatic else decided_at
        elif state == "cancelled":
            cancelled_by, cancelled_on = decided_by, decided_at
        else:
            cancel_reason = None
        self.t_discount.add(
            str(did), str(customer.id), _opt(sub.id if sub else None), _opt(job.id if job else None),
            _opt(ticket_id), _opt(offer_id), str(d.id), d.code, state, d.approval, _opt(d.approval_unit_id),
            d.value_kind, _opt(d.percentage), _money(amount_cents), _opt(d.free_periods), d.edifice_type,
            d.multiplier, _money(d.step_cap_cents), _day(span.effective), _day(span.expiration),
            _opt(span.periods_total), "0", provider, _ts(provided_at), _opt(approved_by), _ts(approved_on),
            _opt(cancelled_by), _ts(cancelled_on), _t(cancel_reason), "1" if state == "pending_approval" else "2",
        )
        for item in items:
            self.t_discount_item.add(str(did), str(item.id))
        self.usage.setdefault((customer.id, d.code), []).append(day)
        if recorded_at is not None and state == "approved":
            frequency = sub.frequency if sub is not None else None
            if frequency is None:
                how_often = "once"
            elif span.expiration is not None:
                how_often = f"{frequency} until {_dmy(span.expiration)}"
            else:
                n = span.periods_total or 1
                how_often = f"{frequency} for {n} period{'s' if n != 1 else ''}"
            for item, taken in zip(items, _discount_shares(d, items, amount_cents), strict=True):
                percent = taken * 100 / item.unit_price_cents if item.unit_price_cents else 0
                self.t_record.add(
                    str(self.ids.take("billing_item_record")), _opt(ticket_id), str(did), str(item.id),
                    _t(item.description), frequency or "once", _money(item.unit_price_cents), _money(taken),
                    _t(how_often), f"{percent:.2f}", _ACCOUNTING, _ts(recorded_at),
                )
        return did


@dataclass(frozen=True)
class _Span:
    """When a discount applies (as agentdesk.domain.billing_math.span_from_definition decides it)."""

    effective: int
    expiration: int | None
    periods_total: int | None
    periods: int  # billing periods it covers, for the offer's total saving

    @classmethod
    def of(cls, d: _Def, sub: _Sub | None, day: int) -> _Span:
        # A subscription's discount starts with its next billing period; a job's at once.
        months = _MONTHS[sub.frequency] if sub is not None else 0
        start = _period_start_after(sub.start, months, day) if sub is not None else day
        if d.value_kind == "free_period":
            n = d.free_periods or 1
            return cls(start, None, n, n)
        if d.duration_kind == "periods" and d.duration_periods:
            return cls(start, None, d.duration_periods, d.duration_periods)
        if d.duration_kind == "until_date" and d.duration_until is not None:
            periods = 1
            if months and d.duration_until > start:  # period starts from `start` up to the end date
                a, b = dt.date.fromordinal(start), dt.date.fromordinal(d.duration_until)
                periods = ((b.year - a.year) * 12 + b.month - a.month) // months + 1
            until = d.duration_until if d.duration_until > start else _add_months(start, max(months, 1))
            return cls(start, until, None, periods)
        return cls(start, None, 1, 1)


def _period_start_after(start: int, months: int, day: int) -> int:
    """The first day of the first billing period that begins after `day` (billing periods are calendar
    months counted from the month the service started, as agentdesk.services.eligibility has it)."""
    first = dt.date.fromordinal(start).replace(day=1)
    if first.toordinal() > day:
        return first.toordinal()
    today = dt.date.fromordinal(day)
    elapsed = (today.year - first.year) * 12 + today.month - first.month
    return _add_months(first.toordinal(), (elapsed // months + 1) * months)


def _discount_shares(d: _Def, items: list[_Item], amount_cents: int | None) -> list[int]:
    """What one period of the discount takes off each item (cents), as the billing maths does it:
    percentages per line, a fixed amount shared in proportion to the lines, a step cap over them all."""
    prices = [i.unit_price_cents for i in items]
    total = sum(prices)
    if d.value_kind == "free_period":
        return prices
    if d.value_kind == "percentage" and d.percentage is not None:
        rate = float(d.percentage) / 100
        shares = [int(p * rate + 0.5) for p in prices]
    elif amount_cents is not None and total:
        amount = min(amount_cents, total)
        shares = [amount * p // total for p in prices]
        shares[0] += amount - sum(shares)
    else:
        return [0 for _ in prices]
    if d.step_cap_cents is not None and sum(shares) > d.step_cap_cents:
        capped = [d.step_cap_cents * s // sum(shares) for s in shares]
        capped[0] += d.step_cap_cents - sum(capped)
        shares = capped
    return shares


def _add_months(ordinal: int, months: int) -> int:
    day = dt.date.fromordinal(ordinal)
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last)).toordinal()


def _dmy(ordinal: int) -> str:
    day = dt.date.fromordinal(ordinal)
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def _ticket_number(tid: int) -> str:
    """As the database numbers tickets (ticket_number() in 20_tickets.sql): T-000123."""
    return f"T-{tid:06d}" if tid < 1_000_000 else f"T-{tid}"


_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # as agentdesk.services.offers: no 0/O, 1/I/L
_REF_SPACE = len(_REF_ALPHABET) ** 10


def _acceptance_ref(offer_id: int) -> str:
    """A reference that looks random but is unique per offer id (a bijection of the id), "AB-CDEF-GHJK"."""
    value = (offer_id * 982_451_653 + 7_919) % _REF_SPACE
    chars = []
    for _ in range(10):
        value, digit = divmod(value, len(_REF_ALPHABET))
        chars.append(_REF_ALPHABET[digit])
    return f"{''.join(chars[:2])}-{''.join(chars[2:6])}-{''.join(chars[6:])}"


def _canonical(terms: dict[str, Any]) -> str:
    """The canonical JSON whose SHA-256 agentdesk.services.offers checks on acceptance."""
    return json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_VERIFY_METHODS = ("date of birth and account number", "security question", "one-time code sent by SMS")
_PER = {"monthly": "month", "quarterly": "quarter", "annual": "year"}


@dataclass
class _Offer:
    d: _Def
    items: list[_Item]
    amount_cents: int | None
    made: _Step
    state: str = "proposed"
    answered: _Step | None = None  # accepted, declined or lapsed
    channel: str | None = None
    decline_reason: str | None = None
    discount_state: str | None = None  # the ad hoc discount the acceptance created
    discount_decided: _Step | None = None
    recorded: _Step | None = None
    cancel_reason: str | None = None


class _TicketContext:
    """The history of one ticket, step by step as the services write it (event kinds, state moves), with
    its offers, discounts and notes, consistent with the state it ends in."""

    def __init__(self, gen: _Generator, tid: int, created: float, day: int, customer: _Customer,
                 sub: _Sub | None, job: _Job | None, call_type: str, channel: str, unit: str, rule: str,
                 priority: int) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.tid = tid
        self.number = _ticket_number(tid)
        self.created = created
        self.day = day
        self.customer = customer
        self.sub = sub
        self.job = job
        self.call_type = call_type
        self.channel = channel
        self.unit = unit
        self.rule = rule
        self.priority = priority
        self.assigned_to = self.rng.choice(_SENIOR if unit == "senior_save" else _FRONT_LINE)
        self.intake_by = self.assigned_to if channel == "phone" else self.rng.choice(_FRONT_LINE)
        self.steps: list[_Step] = []
        self.notes: list[tuple[str, str, float]] = []
        self.offers: list[_Offer] = []
        self.verified_at: float | None = None
        self.verified_by: str | None = None
        self.closed_at: float | None = None
        self.resolution: str | None = None
        self.ends_on: int | None = None  # the cancelled subscription's end date
        self.requested_end: int | None = None
        self.state: str | None = None
        self.summarised = False  # older history in big sets: only the first and last events are kept

    # -- steps ---------------------------------------------------------------------------------------
    def _step(self, kind: str, actor: str, summary: str, *, to: str | None = None, wait: str = "click",
              before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> _Step:
        """One event; `to` moves the ticket (recorded as before/after state unless given explicitly)."""
        if to is not None:
            if before is None and self.state is not None:
                before = {"state": self.state}
            after = {"state": to} | (after or {})
            self.state = to
        step = _Step(kind, actor, summary, before, after, wait)
        self.steps.append(step)
        return step

    def _timeline(self) -> None:
        """Spread the steps after `created`: clicks minutes apart, waits hours apart, a lapse when the
        offer expired; all before the data's 'now'."""
        rng = self.rng
        fixed = [0.0] * len(self.steps)
        gaps = [0.0] * len(self.steps)
        for i, s in enumerate(self.steps[1:], start=1):
            if s.wait == "lapse":
                fixed[i] = self.gen.validity + rng.uniform(600, 3 * 3600)
            else:
                gaps[i] = rng.uniform(3600, 30 * 3600) if s.wait == "wait" else rng.uniform(60, 20 * 60)
        room = max(60.0, (self.gen.anchor - self.created) * 0.95 - sum(fixed))
        total = sum(gaps)
        scale = min(1.0, room / total) if total else 1.0
        at = self.created
        for step, gap, lapse in zip(self.steps, gaps, fixed, strict=True):
            at += gap * scale + lapse
            step.at = at

    def _created(self) -> None:
        service = (f"subscription S{self.sub.id:07d}" if self.sub is not None
                   else f"job J{self.job.id:07d}" if self.job is not None else "the customer")
        self._step("created", self.intake_by,
                   f"{self.call_type.replace('_', ' ').capitalize()} request for {service} by {self.channel}; "
                   f"routed to {self.unit} by rule '{self.rule}' (priority {self.priority})",
                   to="queued", after={"call_type": self.call_type, "channel": self.channel, "queue": self.unit,
                                       "priority": self.priority, "rule": self.rule})

    def _close(self, resolution: str, actor: str) -> None:
        self._step("closed", actor, f"Ticket {self.number} closed: {resolution}" if resolution == "retained"
                   else f"Ticket closed: {resolution}", to="closed", wait="wait", after={"resolution": resolution})
        self.resolution = resolution

    def _finish(self) -> None:
        self._timeline()
        if self.verified_by is not None:
            verify = next(s for s in self.steps if s.kind == "caller verified")
            self.verified_at = verify.at
        if self.state == "closed":
            self.closed_at = self.steps[-1].at
        else:
            self.resolution = None
        self.notes = [(a, b, self.steps[min(1, len(self.steps) - 1)].at + 45) for a, b, _ in self.notes]
        self._end_service()

    def _end_service(self) -> None:
        """A cancelled subscription ends on the day asked for, else when its current billing period ends."""
        if self.resolution != "cancelled" or self.sub is None or self.closed_at is None:
            return
        closed_day = int(self.closed_at // _DAY) + _UNIX_EPOCH
        if self.requested_end is not None and self.requested_end >= closed_day:
            self.ends_on = self.requested_end
        else:
            self.ends_on = max(_period_start_after(self.sub.start, _MONTHS[self.sub.frequency], closed_day),
                               self.sub.start + 1)

    def short_history(self, resolution: str, requested_end: int | None) -> None:
        """Older closed tickets in big sets: opened and closed, the steps between summarised away."""
        self._created()
        self.state = "in_progress"
        actor = _ACCOUNTING if resolution == "retained" else self.assigned_to
        self._close(resolution, actor)
        self._timeline()
        self.verified_at, self.verified_by = self.created + 120, self.assigned_to
        self.closed_at = self.steps[-1].at
        self.requested_end = requested_end
        self._end_service()

    def full_history(self, state: str, resolution: str | None, requested_end: int | None) -> str:
        """Every step up to `state`; returns the state reached (lower if no offer fits this customer)."""
        rng = self.rng
        who = self.assigned_to
        self.requested_end = requested_end
        self._created()
        if state == "queued":
            self._finish()
            return state
        queue_name = "Senior save team" if self.unit == "senior_save" else "Retention desk"
        self._step("claimed", who, f"Taken from the {queue_name} queue", to="in_progress", wait="wait",
                   after={"assigned_to": who})
        if state != "in_progress" or rng.random() < 0.7:
            method = rng.choice(_VERIFY_METHODS)
            self._step("caller verified", who, f"Caller verified as the account holder: {method}",
                       before={"verified_at": None}, after={"method": method})
            self.verified_by = who
        if rng.random() < 0.35 and not self.summarised:
            self.notes.append((who, rng.choice(_NOTES), 0.0))
        if resolution == "merged":
            self._close("merged", who)
            self._finish()
            return state

        manual = state == "pending_approval"
        choices = [] if self.verified_by is None else self.gen._eligible(
            self.customer, self.sub, self.job, self.call_type, self.day, manual_only=manual)
        rng.shuffle(choices)
        if not choices and state in ("offer_pending", "pending_approval", "accounting"):
            state = "in_progress"
        if not choices and resolution == "retained":
            resolution = "withdrawn"

        # An earlier offer the customer turned down, for some.
        if choices and len(choices) > 1 and not self.summarised and (state == "in_progress" or rng.random() < 0.15):
            self._offer(*choices.pop())
            self._decline(self.offers[-1])
        if state == "in_progress":
            self._finish()
            return state
        if state == "offer_pending":
            self._offer(*choices[0]).state = "sent" if rng.random() < 0.85 else "proposed"
            self._finish()
            return state

        assert state in ("pending_approval", "accounting", "closed")
        if state == "closed" and resolution in ("cancelled", "withdrawn"):
            if choices and rng.random() < 0.6:
                offer = self._offer(*choices[0])
                roll = rng.random()
                if offer.d.approval == "manual" and roll < 0.3:
                    self._accept(offer)
                    if resolution == "withdrawn" or rng.random() < 0.5:
                        # The manager refused it; the customer then withdrew, or left.
                        offer.discount_state = "cancelled"
                        offer.cancel_reason = rng.choice(_CANCEL_REASONS)
                        offer.discount_decided = self._step(
                            "discount cancelled", _MANAGER, f"{offer.d.name} not approved: {offer.cancel_reason}",
                            to="in_progress", wait="wait", before={"discount_state": "pending_approval"},
                            after={"discount_state": "cancelled"})
                    # else accepted, then the customer left before a manager decided
                elif resolution == "withdrawn" and roll < 0.5 and self.gen.anchor - self.created > 20 * _DAY:
                    offer.state = "lapsed"
                    offer.answered = self._step("offer lapsed", who, "Offer lapsed: the customer did not answer",
                                                to="in_progress", wait="lapse")
                else:
                    self._decline(offer)
            if resolution == "cancelled":
                self._cancellation()
            else:
                self._close("withdrawn", who)
            self._finish()
            return state

        offer = self._offer(*choices[0])
        self._accept(offer)
        if state == "pending_approval":
            self._finish()
            return state
        if offer.d.approval == "manual":
            offer.discount_state = "approved"
            offer.discount_decided = self._step(
                "discount approved", _MANAGER,
                f"{offer.d.name} approved by {_MANAGER}; the agent confirms the assignment",
                to="in_progress", wait="wait", before={"discount_state": "pending_approval"},
                after={"discount_state": "approved"})
        self._step("assignment confirmed", who,
                   f"Discount {offer.d.code} on billing item(s) {', '.join(str(i.id) for i in offer.items)} "
                   "confirmed; sent to the accounting queue", to="accounting")
        if state == "accounting":
            self._finish()
            return state
        offer.recorded = self._step("accounting approved", _ACCOUNTING,
                                    "Accounting approved the discount assignment; billing item records written",
                                    wait="wait", before={"state": "accounting"})
        self._close("retained", _ACCOUNTING)
        self._finish()
        return state

    def _offer(self, d: _Def, items: list[_Item]) -> _Offer:
        offer = _Offer(d, items, self.gen._pick_amount(d), made=self._step(
            "offer made", self.assigned_to, f"Offered {d.name} ({d.code})", to="offer_pending"))
        self.offers.append(offer)
        return offer

    def _decline(self, offer: _Offer) -> None:
        offer.state = "declined"
        offer.decline_reason = self.rng.choice(_DECLINES)
        offer.answered = self._step("offer declined", self.assigned_to,
                                    f"Customer declined {offer.d.name}: {offer.decline_reason}",
                                    to="in_progress", wait="wait")

    def _accept(self, offer: _Offer) -> None:
        offer.state = "accepted"
        offer.channel = self.rng.choice(_ACCEPT_CHANNELS)
        offer.answered = self._step("offer accepted", self.assigned_to,
                                    f"Customer accepted {offer.d.name} by {offer.channel}; terms checked against "
                                    "their hash", to="in_progress", wait="wait", after={"channel": offer.channel})
        automatic = offer.d.approval == "automatic"
        offer.discount_state = "approved" if automatic else "pending_approval"
        offer.discount_decided = offer.answered
        self._step("discount assigned", self.assigned_to,
                   f"{offer.d.name} assigned: " + ("approved automatically; confirm the assignment" if automatic
                                                   else "pending approval by a manager"),
                   to=None if automatic else "pending_approval")

    def _cancellation(self) -> None:
        """The customer leaves: open offers withdrawn, pending discounts cancelled, the service ends."""
        who = self.assigned_to
        step = self._step("cancellation", who, "Cancellation: the customer leaves", wait="wait",
                          before={"state": self.state})
        for offer in self.offers:
            if offer.discount_state == "pending_approval":  # cancelled with the service, by the agent
                offer.discount_state = "cancelled"
                offer.cancel_reason = "The customer cancelled the service"
                offer.discount_decided = step
        self._close("cancelled", who)

    def write_offers(self) -> None:
        gen = self.gen
        company = gen.ref.company
        for offer in self.offers:
            d, items, made = offer.d, offer.items, offer.made
            oid = gen.ids.take("offer")
            ref = _acceptance_ref(oid)
            expires = made.at + self.gen.validity
            made_day = int(made.at // _DAY) + _UNIX_EPOCH
            span = _Span.of(d, self.sub, made_day)
            terms = self._terms(offer, ref, oid, expires, span, company)
            # One text for both the row and its hash: JSONB does not keep key order, so sorted keys are fine.
            canonical = _canonical(terms)
            made.after = (made.after or {}) | {"offer_id": oid, "acceptance_ref": ref}
            accepted = offer.state == "accepted"
            answered = offer.answered
            gen.t_offer.add(
                str(oid), str(self.tid), str(d.id), str(self.offers.index(offer) + 1), offer.state,
                _money(offer.amount_cents), _opt(d.percentage), _opt(d.free_periods), _array(i.id for i in items),
                _t(canonical), hashlib.sha256(canonical.encode("utf-8")).hexdigest(), ref, _ts(expires), made.actor, _ts(made.at),
                _ts(answered.at if accepted and answered else None), _opt(offer.channel),
                _opt(answered.actor if accepted and answered else None),
                _ts(answered.at if offer.state == "declined" and answered else None), _t(offer.decline_reason),
            )
            if offer.discount_state is not None and answered is not None:
                decided = offer.discount_decided or answered
                gen.discount(
                    customer=self.customer, sub=self.sub, job=self.job, ticket_id=self.tid, offer_id=oid, d=d,
                    items=items, amount_cents=offer.amount_cents, state=offer.discount_state,
                    provider=answered.actor, provided_at=answered.at, decided_by=decided.actor,
                    decided_at=decided.at, recorded_at=offer.recorded.at if offer.recorded else None,
                    cancel_reason=offer.cancel_reason,
                )

    def _terms(self, offer: _Offer, ref: str, oid: int, expires: float, span: _Span,
               company: dict[str, Any]) -> dict[str, Any]:
        """The frozen terms, in the shape agentdesk.services.offers writes them."""
        d, items, sub = offer.d, offer.items, self.sub
        per = _PER[sub.frequency] if sub is not None else "job"
        months = _MONTHS[sub.frequency] if sub is not None else 1
        service_items = sub.items if sub is not None else self.job.items if self.job is not None else items
        before = sum(i.unit_price_cents for i in service_items)
        saving = sum(_discount_shares(d, items, offer.amount_cents))
        total = saving * span.periods
        if d.value_kind == "percentage" and d.percentage is not None:
            value_text = f"{d.percentage}%"
        elif d.value_kind == "free_period":
            n = d.free_periods or 1
            value_text = f"{n} free {per}" + ("s" if n != 1 else "")
        else:
            value_text = f"{_money(offer.amount_cents)} per {per}"
        start = _dmy(span.effective)
        if d.value_kind == "free_period" or d.duration_kind == "periods":
            duration_text = f"for {span.periods} {per}{'s' if span.periods != 1 else ''} from {start}"
        elif span.expiration is not None:
            duration_text = f"from {start} until {_dmy(span.expiration)} ({span.periods} {per}s)"
        else:
            duration_text = "once" if per == "job" else f"once, on the {per} starting {start}"
        customer = self.customer
        return {
            "acceptance_ref": ref,
            "ticket": self.number,
            "customer": {"account": f"A{customer.id:07d}", "name": customer.name},
            "definition": {"id": d.id, "code": d.code, "version": d.version, "name": d.name},
            "value": {"kind": d.value_kind, "amount": _money(offer.amount_cents) if offer.amount_cents else None,
                      "percentage": d.percentage, "free_periods": d.free_periods, "text": value_text},
            "edifice_type": d.edifice_type,
            "approval": d.approval,
            "service": {"kind": "subscription" if sub is not None else "job",
                        "number": f"S{sub.id:07d}" if sub is not None else f"J{self.job.id:07d}" if self.job else "",
                        "billing_frequency": sub.frequency if sub is not None else None, "per": per},
            "items": [{"id": i.id, "product": i.code, "description": i.description,
                       "price": _money(i.unit_price_cents), "quantity": "1"} for i in items],
            "duration": {"kind": "periods" if d.value_kind == "free_period" else d.duration_kind,
                         "effective": dt.date.fromordinal(span.effective).isoformat(),
                         "until": dt.date.fromordinal(span.expiration).isoformat() if span.expiration else None,
                         "periods": span.periods, "text": duration_text},
            "cost_before": _money(before),
            "cost_after": _money(before - saving),
            "monthly_cost_before": _money(int(before / months + 0.5)),
            "monthly_cost_after": _money(int((before - saving) / months + 0.5)),
            "saving_per_period": _money(saving),
            "total_saving": _money(total),
            "saving_percent": f"{saving * 100 / before:.2f}" if before else "0.00",
            "currency": company["currency"],
            "valid_until": dt.datetime.fromtimestamp(int(expires), dt.UTC).isoformat(),
            "valid_until_text": _dmy(int(expires // _DAY) + _UNIX_EPOCH),
            "notify_by": "email" if customer.has_email and self.rng.random() < 0.6 else "letter",
        }


# ----------------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------------

_ID_TABLES = ("customer", "subscription", "job", "billing_item", "ticket", "ticket_event", "ticket_note", "offer",
              "adhoc_discount", "billing_item_record")
_LOADED_TABLES = _ID_TABLES + ("adhoc_discount_item",)


def ensure_demo_users(db: Database) -> tuple[str, ...]:
    """Create the demo users that are missing (password DEMO_PASSWORD); returns the names created.

    A login role is cluster-wide: if one of these names already exists on the server (demo data loaded into
    another database) but is not a user of this database, it is registered here with its units, keeping its
    password.
    """
    created: list[str] = []
    for user in DEMO_USERS:
        with db.session() as s:
            in_app = s.execute(text("SELECT 1 FROM app_user WHERE role_name = :n"), {"n": user.name}).scalar()
            in_cluster = s.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": user.name}).scalar()
        if in_app:
            continue
        if not in_cluster:
            user_service.add_user(db, user.name, role=user.role, password=DEMO_PASSWORD,
                                  display_name=user.display_name, units=user.units)
            created.append(user.name)
            continue
        with db.session() as s:
            s.execute(text(f"SET LOCAL ROLE {OWNER_ROLE}"))
            uid = s.execute(
                text("INSERT INTO app_user (role_name, display_name, role) VALUES (:n, :d, :r) RETURNING id"),
                {"n": user.name, "d": user.display_name, "r": user.role},
            ).scalar_one()
            s.execute(
                text("INSERT INTO user_unit (user_id, unit_id) SELECT :u, id FROM unit WHERE code = ANY(:c)"),
                {"u": uid, "c": list(user.units)},
            )
            s.execute(text(f'GRANT agentdesk_{user.role} TO "{user.name}"'))
        created.append(user.name)
    return tuple(created)


def _enabled_user_triggers(conn: Connection, tables: Sequence[str]) -> list[tuple[str, str]]:
    rows = conn.execute(
        text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relname = ANY(:tables)"
            " AND c.relnamespace = 'public'::regnamespace ORDER BY 1, 2"
        ),
        {"tables": list(tables)},
    ).all()
    return [(r[0], r[1]) for r in rows]


@dataclass(frozen=True)
class _Deferred:
    """Foreign keys and non-unique indexes set aside during a big load and rebuilt after it.

    PostgreSQL's advice for bulk loads: checking a foreign key once for the whole table (one join) and
    building an index in one sort are far cheaper than doing both row by row. Same names, same
    definitions: the schema afterwards is exactly what the migrations made.
    """

    constraints: tuple[tuple[str, str, str], ...]  # table, constraint name, definition (FOREIGN KEY, UNIQUE)
    indexes: tuple[tuple[str, str], ...]  # index name, CREATE INDEX statement

    @classmethod
    def set_aside(cls, conn: Connection, tables: Sequence[str]) -> _Deferred:
        where = "relname = ANY(:tables) AND r.relnamespace = 'public'::regnamespace"
        # Foreign keys first when dropping (they may use a unique index), unique constraints last; a
        # unique constraint that a foreign key elsewhere relies on stays.
        constraints = conn.execute(
            text(
                "SELECT r.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
                f" JOIN pg_class r ON r.oid = c.conrelid WHERE r.{where} AND (c.contype = 'f' OR (c.contype = 'u'"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)))"
                " ORDER BY c.contype = 'u', 1, 2"
            ),
            {"tables": list(tables)},
        ).all()
        indexes = conn.execute(
            text(
                "SELECT x.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                " JOIN pg_class r ON r.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid"
                f" WHERE r.{where} AND NOT i.indisunique AND NOT i.indisprimary"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1"
            ),
            {"tables": list(tables)},
        ).all()
        deferred = cls(tuple((t, n, d) for t, n, d in constraints), tuple((n, d) for n, d in indexes))
        for table, name, _definition in deferred.constraints:
            conn.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
        for name, _statement in deferred.indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        return deferred

    def restore_indexes(self, conn: Connection) -> None:
        """Unique constraints (a duplicate fails here) and plain indexes, each built in one sort."""
        for table, name, definition in self.constraints:
            if not definition.startswith("FOREIGN KEY"):
                conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'))
        for _name, statement in self.indexes:
            conn.execute(text(statement))

    def restore_foreign_keys(self, conn: Connection) -> None:
        """Each foreign key checked once, for the whole table (one join; run after ANALYZE)."""
        for table, name, definition in self.constraints:
            if definition.startswith("FOREIGN KEY"):
                conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'))


def _bulk_load(conn: Connection, gen: _Generator, say: Callable[[str], None]) -> None:
    """A big load: foreign keys and indexes set aside, chunks COPYed while the next ones are generated."""
    conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    conn.execute(text("SET LOCAL work_mem = '128MB'"))  # hash joins for the foreign key checks
    deferred = _Deferred.set_aside(conn, _LOADED_TABLES)
    loader = _Loader(conn)
    loader.start()
    try:
        def hand_over_tickets() -> None:
            for spool in gen.ticket_tables():
                loader.put(spool.seal())

        gen.chunk_done = hand_over_tickets
        gen.customers_and_services()
        loader.put(gen.t_customer.seal())
        gen.tickets()
        gen.write_services()
        for spool in gen.tables():
            loader.put(spool.seal())
    except BaseException:
        loader.finish(abandon=True)
        raise
    loader.finish()  # waits for the last chunk; re-raises a failed COPY
    say(f"  COPY busy {loader.seconds:.1f} s: " + ", ".join(f"{t.name} {t.rows:,}" for t in gen.tables()))
    t1 = time.perf_counter()
    deferred.restore_indexes(conn)
    say(f"  indexes built in {time.perf_counter() - t1:.1f} s")
    t2 = time.perf_counter()
    conn.execute(text(f"ANALYZE {', '.join(_LOADED_TABLES)}"))
    say(f"  analyzed in {time.perf_counter() - t2:.1f} s")
    t3 = time.perf_counter()
    deferred.restore_foreign_keys(conn)
    say(f"  foreign keys checked in {time.perf_counter() - t3:.1f} s")


def _load_in_one_transaction(db: Database, rng: random.Random, today: dt.date, customers: int, tickets: int,
                             append: bool, say: Callable[[str], None]) -> _Generator:
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text(f"SET LOCAL ROLE {OWNER_ROLE}"))
        # Triggers off for the load (ALTER TABLE also locks the tables until commit: no one else writes).
        triggers = _enabled_user_triggers(conn, _LOADED_TABLES)
        for table, trigger in triggers:
            conn.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"'))
        for table in _LOADED_TABLES:
            conn.execute(text(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE'))
        if not append and conn.execute(text("SELECT EXISTS (SELECT 1 FROM customer)")).scalar():
            raise DemoDataError("This database already has customers: demo data was loaded before (use --append)")
        ids = {
            table: int(conn.execute(text(f'SELECT coalesce(max(id), 0) + 1 FROM "{table}"')).scalar_one())
            for table in _ID_TABLES
        }
        gen = _Generator(rng, today, _Reference.read(conn), ids, customers, tickets)
        bulk = customers + tickets >= BULK_ROWS
        t0 = time.perf_counter()
        gc_was_enabled = gc.isenabled()
        # The generator makes millions of short-lived objects and no garbage cycles: the cyclic collector
        # would only rescan the live customers over and over (3x slower).
        gc.disable()
        try:
            if bulk:
                _bulk_load(conn, gen, say)
            else:
                gen.generate()
                for spool in gen.tables():  # parents first: foreign keys are checked row by row
                    chunk = spool.seal()
                    if chunk is not None:
                        chunk.copy_into(conn)
        finally:
            if gc_was_enabled:
                gc.enable()
            for spool in gen.tables():
                spool.discard()
        say(f"generated and loaded {sum(t.rows for t in gen.tables()):,} rows in {time.perf_counter() - t0:.1f} s")
        for table in _ID_TABLES:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f' greatest((SELECT coalesce(max(id), 0) FROM "{table}"), 1))'
                )
            )
        for table, trigger in triggers:
            conn.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"'))
        if not bulk:
            conn.execute(text(f"ANALYZE {', '.join(_LOADED_TABLES)}"))
        conn.execute(text("RESET ROLE"))
    return gen


def load_demo_data(
    db: Database,
    *,
    customers: int,
    tickets: int,
    seed: int = 1,
    today: dt.date | None = None,
    append: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Fill the database behind `db` (an installer connection) with demo data.

    Refuses if there are customers already, unless `append`. Reference data and demo users first (both
    idempotent), then every demo row in one transaction: if anything fails, none of them stays.
    """
    check_sizes(customers, tickets)
    say = progress or (lambda message: log.info("%s", message))
    today = today or dt.date.today()
    started = time.perf_counter()

    with db.session() as s:
        existing = s.execute(text("SELECT count(*) FROM (SELECT 1 FROM customer LIMIT 1) c")).scalar_one()
    if existing and not append:
        raise DemoDataError("This database already has customers: demo data was loaded before (use --append to add more)")

    with db.session() as s:
        load_reference_data(s, today)
    users_created = ensure_demo_users(db)
    if users_created:
        say(f"demo users created: {', '.join(users_created)} (password {DEMO_PASSWORD})")

    try:
        gen = _load_in_one_transaction(db, random.Random(seed), today, customers, tickets, append, say)
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DemoDataError(f"Loading demo data failed and was rolled back: {first}") from exc
    return DemoSummary(
        customers=gen.t_customer.rows, subscriptions=gen.t_subscription.rows, jobs=gen.t_job.rows,
        billing_items=gen.t_item.rows, tickets=gen.t_ticket.rows, ticket_events=gen.t_event.rows,
        offers=gen.t_offer.rows, adhoc_discounts=gen.t_discount.rows, tickets_by_state=dict(gen.state_counts),
        users_created=users_created, seconds=time.perf_counter() - started,
    )


def load_small_demo(installer_db: Database, today: dt.date | None = None) -> DemoSummary | None:
    """The desktop's first launch on the embedded server: a few hundred customers, about 200 tickets.

    Does nothing (returns None) when the database already has customers.
    """
    with installer_db.session() as s:
        if s.execute(text("SELECT EXISTS (SELECT 1 FROM customer)")).scalar():
            return None
    return load_demo_data(installer_db, customers=SMALL_CUSTOMERS, tickets=SMALL_TICKETS, seed=SMALL_SEED,
                          today=today)
