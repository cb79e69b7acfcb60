"""Real customers and accounts for the contract tests.

The hooks (hooks.py) put these into generated requests so that consents reach
real data. The file this writes looks like:

    {"brand": "cbanco",
     "customers": [{"document": "38519462782", "kind": "person",
                    "accounts": [{"accountId": [{"key": "branch", "value": "0001"}, ...],
                                  "status": "AVAILABLE"}, ...]},
                   {"document": "45781923000166", "kind": "company", "accounts": [...]}]}

Two sources:
  - a database (`--database-url`): read with psql, a sample of the brand's
    customers that hold accounts, with every account they hold (any status);
  - a running service (`--base-url`): the accounts `/account-discovery` lists
    for the given CPF and, optionally, a company CNPJ (only AVAILABLE accounts
    are discoverable). Defaults are the demo customer that every `contas seed`
    and the embedded demo bank contain.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.request
import uuid

# The demo customer of src/seed/mod.rs (DEMO_BRAND, DEMO_CPF, DEMO_COMPANY_CNPJ).
DEMO_BRAND = "cbanco"
DEMO_CPF = "38519462782"
DEMO_COMPANY_CNPJ = "45781923000166"

# A sample, not the whole bank: enough variety (persons, companies, joint,
# prepaid and unavailable accounts) while keeping the file small. Half of each
# kind are the customers with the most recent entries (so that statements,
# /transactions-current's 7 days included, come back with data), half an
# arbitrary but stable (md5) choice; the demo customer and company always.
QUERY = """
WITH brand AS (
    SELECT coalesce(nullif(:'brand', ''), (SELECT min(brand_id) FROM brands)) AS brand_id
),
activity AS (
    SELECT account_id, count(*) AS entries
    FROM transactions
    WHERE booking_date >= current_date - 30
    GROUP BY account_id
),
holders AS (
    SELECT h.document,
           jsonb_agg(jsonb_build_object('accountId', a.legacy_id, 'status', a.status) ORDER BY a.id) AS accounts,
           coalesce(sum(activity.entries), 0) AS recent
    FROM account_holders h
    JOIN accounts a ON a.id = h.account_id
    LEFT JOIN activity ON activity.account_id = a.id
    WHERE h.brand_id = (SELECT brand_id FROM brand)
    GROUP BY h.document
),
sample AS (
    (SELECT * FROM holders WHERE length(document) = 11 ORDER BY recent DESC, document LIMIT :persons / 2)
    UNION
    (SELECT * FROM holders WHERE length(document) = 11 ORDER BY md5(document) LIMIT :persons - :persons / 2)
    UNION
    (SELECT * FROM holders WHERE length(document) = 14 ORDER BY recent DESC, document LIMIT :companies / 2)
    UNION
    (SELECT * FROM holders WHERE length(document) = 14 ORDER BY md5(document) LIMIT :companies - :companies / 2)
    UNION
    (SELECT * FROM holders WHERE document IN (:'demo_cpf', :'demo_cnpj'))
)
SELECT jsonb_build_object(
    'brand', (SELECT brand_id FROM brand),
    'customers', coalesce(jsonb_agg(jsonb_build_object(
        'document', document,
        'kind', CASE WHEN length(document) = 11 THEN 'person' ELSE 'company' END,
        'accounts', accounts) ORDER BY document), '[]'))
FROM sample;
"""


def from_database(url: str, brand: str | None, persons: int, companies: int) -> dict:
    command = [
        "psql", url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
        "-v", f"brand={brand or ''}", "-v", f"persons={persons}", "-v", f"companies={companies}",
        "-v", f"demo_cpf={DEMO_CPF}", "-v", f"demo_cnpj={DEMO_COMPANY_CNPJ}",
    ]
    result = subprocess.run(command, input=QUERY, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"fixtures: reading customers from the database failed:\n{result.stderr}")
    return json.loads(result.stdout)


def discover(base_url: str, brand: str, cpf: str, cnpj: str | None) -> list[dict]:
    """The available accounts of cpf (or of cnpj, with cpf as the logged user)."""
    consent = {
        "brandId": brand,
        "creationDateTime": "2024-01-01T00:00:00Z",
        "tpp": {"name": "contract tests"},
        "externalId": "contract-tests",
        "loggedUser": {"document": {"identification": cpf, "rel": "CPF"}},
        "permissions": ["RESOURCES_READ"],
    }
    if cnpj:
        consent["businessDocumentType"] = {"document": {"identification": cnpj, "rel": "CNPJ"}}
    body = {"consent": consent, "requestMeta": {"correlationId": str(uuid.uuid4()), "brandId": brand}}
    request = urllib.request.Request(
        base_url.rstrip("/") + "/account-discovery",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        resources = json.load(response)["data"]["resources"]
    return [{"accountId": r["resourceLegacyId"], "status": "AVAILABLE"} for r in resources]


def from_service(base_url: str, brand: str, cpf: str, cnpj: str | None) -> dict:
    customers = [{"document": cpf, "kind": "person", "accounts": discover(base_url, brand, cpf, None)}]
    if cnpj:
        customers.append({"document": cnpj, "kind": "company", "accounts": discover(base_url, brand, cpf, cnpj)})
    return {"brand": brand, "customers": customers}


def write(fixtures: dict, path: str) -> str:
    """Writes the customers that hold accounts; returns a one-line summary."""
    customers = sorted((c for c in fixtures["customers"] if c["accounts"]), key=lambda c: c["document"])
    if not customers:
        sys.exit(f"fixtures: no customer with accounts in brand {fixtures['brand']!r} to build consents from")
    with open(path, "w") as out:
        json.dump({"brand": fixtures["brand"], "customers": customers}, out, indent=1)
    accounts = sum(len(c["accounts"]) for c in customers)
    return f"brand {fixtures['brand']}: {len(customers)} customers with {accounts} accounts"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--database-url", help="read customers from this database (psql)")
    source.add_argument("--base-url", help="discover the accounts of --cpf / --cnpj through this service")
    parser.add_argument("--brand", help=f"brand (default: the database's first brand, or {DEMO_BRAND})")
    parser.add_argument("--cpf", default=DEMO_CPF, help="with --base-url: a customer's CPF (default: the demo one)")
    parser.add_argument("--cnpj", default=DEMO_COMPANY_CNPJ,
                        help="with --base-url: a company's CNPJ, '' for none (default: the demo company)")
    parser.add_argument("--persons", type=int, default=40, help="with --database-url: persons to sample")
    parser.add_argument("--companies", type=int, default=15, help="with --database-url: companies to sample")
    parser.add_argument("--output", required=True, help="JSON file to write")
    args = parser.parse_args()

    if args.database_url:
        fixtures = from_database(args.database_url, args.brand, args.persons, args.companies)
    else:
        fixtures = from_service(args.base_url, args.brand or DEMO_BRAND, args.cpf, args.cnpj or None)
    print(f"fixtures: {write(fixtures, args.output)} -> {args.output}")


if __name__ == "__main__":
    main()
