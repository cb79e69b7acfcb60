"""Schemathesis hooks for the contract tests (loaded through SCHEMATHESIS_HOOKS).

Generated consents name random people, brands and accounts, so on their own
they only ever reach refusals (403, 404, 422). `map_case` rewrites a share of
the generated cases (CONTRACT_REAL_DATA_SHARE, default 0.75) into a consistent
consent of a real customer of the seeded bank (fixtures.py writes them to
CONTRACT_FIXTURES): the brand (consent and requestMeta), the logged user or the
company (businessDocumentType), the customer's accounts as ACCOUNT resources,
all the ACCOUNTS_* permissions, an accountId among them, and a first page and
booking-date window the service can answer with data. Everything else
(creationDateTime, tpp, externalId, correlationId, other resources and
permissions, creditDebitIndicator, pagination-key, and in negative cases the
mutation itself) stays as generated, so the rewritten cases still vary and
both full 200 answers and refusals are exercised. Some rewritten cases are
deliberately off by one thing (a missing permission, a foreign or unavailable
account, only some accounts consented, pairs of a legacy id in another order).

Which cases are rewritten, and how, is drawn from a hash of the generated case,
so a run with the same --seed does the same.

`after_call` counts every request per operation and status, and how many
carried real data; the counts go to CONTRACT_COUNTS_FILE (JSON) when the run
ends, for report.py.
"""

from __future__ import annotations

import atexit
import collections
import copy
import datetime
import json
import os
import random
import threading
import zlib

import schemathesis

ACCOUNT_PERMISSIONS = [
    "ACCOUNTS_READ",
    "ACCOUNTS_BALANCES_READ",
    "ACCOUNTS_TRANSACTIONS_READ",
    "ACCOUNTS_OVERDRAFT_LIMITS_READ",
]
MAX_PERMISSIONS = 30  # consent.permissions maxItems

with open(os.environ["CONTRACT_FIXTURES"]) as _file:
    _FIXTURES = json.load(_file)
BRAND: str = _FIXTURES["brand"]
PERSONS = [c for c in _FIXTURES["customers"] if c["kind"] == "person"]
COMPANIES = [c for c in _FIXTURES["customers"] if c["kind"] == "company"]
CUSTOMERS = PERSONS + COMPANIES
REAL_DOCUMENTS = {c["document"] for c in CUSTOMERS}
SHARE = float(os.environ.get("CONTRACT_REAL_DATA_SHARE", "0.75"))
if not PERSONS:
    raise RuntimeError("the fixtures hold no person with accounts")

STATEMENTS = {"/transactions", "/transactions-current"}
PAGED = {"/accounts"} | STATEMENTS
PER_ACCOUNT = {"/find", "/balances", "/overdraft-limits"} | STATEMENTS


def _rng(case) -> random.Random:
    """A random stream that depends only on the generated case."""
    seed = repr((case.method, case.path, case.body, sorted(dict(case.headers or {}).items())))
    return random.Random(zlib.crc32(seed.encode("utf-8", "surrogatepass")))


def _today() -> datetime.date:
    """Today in Brasília (UTC-3), the service's notion of today."""
    return (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=3)).date()


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _between(rng: random.Random, first: datetime.date, last: datetime.date) -> datetime.date:
    return first + datetime.timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _legacy_id(rng: random.Random, pairs: list) -> list:
    """The same legacy id, its pairs sometimes in another order (ids are sets)."""
    pairs = copy.deepcopy(pairs)
    if len(pairs) > 1 and rng.random() < 0.2:
        pairs.reverse()
    return pairs


def _resource(rng: random.Random, account: dict) -> dict:
    return {"type": "ACCOUNT", "resourceLegacyId": _legacy_id(rng, account["accountId"])}


def _document(identification: str, rel: str) -> dict:
    return {"document": {"identification": identification, "rel": rel}}


def _inject_consent(rng: random.Random, path: str, body: dict) -> None:
    consent = body.get("consent")
    if not isinstance(consent, dict):
        return  # a negative case whose consent is not even an object
    meta = body.get("requestMeta")
    if isinstance(meta, dict):
        meta["brandId"] = BRAND
    consent["brandId"] = BRAND

    # Whose consent: a person, or a company with a person logged in for it.
    customer = rng.choice(COMPANIES if COMPANIES and rng.random() < 0.3 else PERSONS)
    if customer["kind"] == "person":
        consent["loggedUser"] = _document(customer["document"], "CPF")
        consent.pop("businessDocumentType", None)
    else:
        consent["loggedUser"] = _document(rng.choice(PERSONS)["document"], "CPF")
        consent["businessDocumentType"] = _document(customer["document"], "CNPJ")

    # Which accounts: all of the customer's, or some of them, sometimes with
    # someone else's account among them, sometimes after generated resources.
    accounts = customer["accounts"]
    roll = rng.random()
    if roll < 0.7 or len(accounts) == 1:
        consented = list(accounts)
    else:
        consented = rng.sample(accounts, rng.randint(1, len(accounts) - 1))
    foreign = None
    if rng.random() < 0.1:
        other = rng.choice([c for c in CUSTOMERS if c is not customer] or [customer])
        foreign = rng.choice(other["accounts"])
    resources = [_resource(rng, a) for a in consented + ([foreign] if foreign else [])]
    generated = consent.get("resources")
    if isinstance(generated, list) and rng.random() < 0.3:
        resources = generated[:20] + resources
    rng.shuffle(resources)
    consent["resources"] = resources

    # What it grants: every ACCOUNTS_* permission (now and then all but one),
    # besides the generated ones.
    granted = list(ACCOUNT_PERMISSIONS)
    if rng.random() < 0.08:
        granted.remove(rng.choice(granted))
    generated = consent.get("permissions")
    extra = [p for p in generated if isinstance(p, str) and p not in ACCOUNT_PERMISSIONS] if isinstance(generated, list) else []
    consent["permissions"] = granted + extra[: MAX_PERMISSIONS - len(granted)]

    if path in PER_ACCOUNT:
        roll = rng.random()
        available = [a for a in consented if a["status"] == "AVAILABLE"]
        if roll < 0.8 and available:
            body["accountId"] = _legacy_id(rng, rng.choice(available)["accountId"])
        elif roll < 0.9:
            body["accountId"] = _legacy_id(rng, (foreign or rng.choice(consented))["accountId"])
        # else: the generated accountId (not consented: 403).

    if path in PAGED and rng.random() < 0.7:
        body["page"] = rng.choice([1, 1, 1, 2])
        size = rng.random()
        if size < 0.4:
            body.pop("pageSize", None)
        else:
            body["pageSize"] = rng.randint(1, 50) if size < 0.8 else rng.randint(1, 1000)
    if path == "/accounts" and rng.random() < 0.5:
        body.pop("accountType", None)

    if path in STATEMENTS and rng.random() < 0.75:
        _set_window(rng, path, body)


def _set_window(rng: random.Random, path: str, body: dict) -> None:
    """A booking-date window within the operation's limits (or none: today)."""
    names = [("fromBookingDate", "toBookingDate"), ("fromBookingDateMaxLimited", "toBookingDateMaxLimited")]
    for pair in names:
        for name in pair:
            body.pop(name, None)
    if rng.random() < 0.2:
        return
    today = _today()
    if path == "/transactions":
        # One day of margin on each side in case the run crosses midnight.
        earliest = _add_months(today, -12) + datetime.timedelta(days=1)
        latest = _add_months(today, 12) - datetime.timedelta(days=1)
        start = _between(rng, earliest, today)
        end = _between(rng, start, min(latest, start + datetime.timedelta(days=rng.choice([7, 31, 120, 400]))))
        from_name, to_name = names[0]
    else:
        start = _between(rng, today - datetime.timedelta(days=5), today)
        end = _between(rng, start, today + datetime.timedelta(days=rng.choice([0, 7, 60])))
        from_name, to_name = rng.choice(names)
    body[from_name] = start.isoformat()
    body[to_name] = end.isoformat()


def _inject_holder(rng: random.Random, case, body: dict) -> None:
    """`/check-account-holder`: a real CPF, or a real company with a CPF, of the brand."""
    if "requestBody" in body:  # commons 4.0.0-rc.3
        wrapper = body["requestBody"]
        data = wrapper.get("data") if isinstance(wrapper, dict) else None
        meta = body.get("requestMeta")
        if isinstance(meta, dict):
            meta["brandId"] = BRAND
    else:  # commons 1.0.0: the brand is a header
        data = body.get("data")
        if case.headers is not None:
            case.headers["x-brand-id"] = BRAND
    if not isinstance(data, dict):
        return
    data["loggedUserDocument"] = rng.choice(PERSONS)["document"]
    roll = rng.random()
    if roll < 0.6 or not COMPANIES:
        data.pop("businessEntityDocument", None)
    elif roll < 0.9:
        data["businessEntityDocument"] = rng.choice(COMPANIES)["document"]
    # else: the generated CNPJ, if any.


# Brands that are valid for the contract (1 to 50 characters) but awkward for
# a store: NUL (PostgreSQL text cannot hold it), 50 multi-byte characters,
# blanks, a near miss of the real brand.
ODD_BRANDS = ["\u0000", f"{BRAND}\u0000", "ç" * 50, "😀" * 50, " ", f"{BRAND} ", BRAND.upper()]


def _same_generated_brand(rng: random.Random, body: dict) -> None:
    """Makes requestMeta.brandId equal consent.brandId (as generated, or an odd
    one), so that a generated brand gets past the brand check to the store."""
    consent, meta = body.get("consent"), body.get("requestMeta")
    if isinstance(consent, dict) and isinstance(meta, dict):
        if rng.random() < 0.2:
            consent["brandId"] = rng.choice(ODD_BRANDS)
        meta["brandId"] = consent.get("brandId")


def _odd_holder_brand(rng: random.Random, body: dict) -> None:
    """Commons 4.0.0-rc.3 takes the brand from the body (1.0.0 from a header,
    which cannot carry these)."""
    meta = body.get("requestMeta")
    if isinstance(meta, dict):
        meta["brandId"] = rng.choice(ODD_BRANDS)


@schemathesis.hook
def map_case(context, case):
    if not isinstance(case.body, dict):
        return case
    rng = _rng(case)
    # Examples may share their objects with the schema: never edit in place.
    body = copy.deepcopy(case.body)
    if rng.random() >= SHARE:
        # Not a real customer. Half of these are left as generated; the other
        # half get a brand that reaches the store.
        if rng.random() < 0.5:
            return case
        if case.path == "/check-account-holder":
            _odd_holder_brand(rng, body)
        else:
            _same_generated_brand(rng, body)
    elif case.path == "/check-account-holder":
        _inject_holder(rng, case, body)
    else:
        _inject_consent(rng, case.path, body)
    case.body = body
    return case


# ---- counting ------------------------------------------------------------------

_LOCK = threading.Lock()
_COUNTS: dict = collections.defaultdict(lambda: {"requests": 0, "real": 0, "statuses": collections.Counter(),
                                                   "real_statuses": collections.Counter()})


def _is_real_document(value) -> bool:
    return isinstance(value, str) and value in REAL_DOCUMENTS


def _is_real(case) -> bool:
    body = case.body
    if not isinstance(body, dict):
        return False
    consent = body.get("consent")
    if isinstance(consent, dict):
        documents = []
        for field in ("loggedUser", "businessDocumentType"):
            try:
                documents.append(consent[field]["document"]["identification"])
            except (KeyError, TypeError):
                pass
        return consent.get("brandId") == BRAND and any(_is_real_document(d) for d in documents)
    data = body.get("data")
    if "requestBody" in body and isinstance(body["requestBody"], dict):
        data = body["requestBody"].get("data")
    return isinstance(data, dict) and _is_real_document(data.get("loggedUserDocument"))


@schemathesis.hook
def after_call(context, case, response):
    key = f"{case.method.upper()} {case.path}"
    status = str(response.status_code)
    real = _is_real(case)
    with _LOCK:
        entry = _COUNTS[key]
        entry["requests"] += 1
        entry["statuses"][status] += 1
        if real:
            entry["real"] += 1
            entry["real_statuses"][status] += 1


def _dump() -> None:
    path = os.environ.get("CONTRACT_COUNTS_FILE")
    if not path:
        return
    with _LOCK, open(path, "w") as out:
        json.dump(_COUNTS, out, indent=1, sort_keys=True)


atexit.register(_dump)
