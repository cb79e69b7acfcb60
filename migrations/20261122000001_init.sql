-- The store behind the Accounts integration layer. Loaded by `contas import`
-- (shared import-format.md), read by the HTTP service.
--
-- Legacy identifiers (accountId, transactionId) are key/value arrays whose
-- identity is the *set* of pairs; `legacy_key` holds their canonical text
-- (sorted, deduplicated pairs) and is what lookups and uniqueness use, while
-- `legacy_id` keeps the pairs as the bank sent them, for rendering.

CREATE TABLE brands (
    brand_id     TEXT PRIMARY KEY CHECK (length(brand_id) BETWEEN 1 AND 50),
    brand_name   TEXT NOT NULL CHECK (length(brand_name) <= 80),
    company_cnpj TEXT NOT NULL CHECK (company_cnpj ~ '^\d{14}$')
);

CREATE TABLE customers (
    brand_id TEXT NOT NULL REFERENCES brands,
    document TEXT NOT NULL CHECK (document ~ '^(\d{11}|\d{14})$'),
    name     TEXT NOT NULL,
    PRIMARY KEY (brand_id, document)
);

CREATE TABLE accounts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id     TEXT NOT NULL REFERENCES brands,
    legacy_key   TEXT NOT NULL,
    legacy_id    JSONB NOT NULL,
    type         TEXT NOT NULL CHECK (type IN ('CONTA_DEPOSITO_A_VISTA', 'CONTA_POUPANCA', 'CONTA_PAGAMENTO_PRE_PAGA')),
    subtype      TEXT NOT NULL CHECK (subtype IN ('INDIVIDUAL', 'CONJUNTA_SIMPLES', 'CONJUNTA_SOLIDARIA')),
    compe_code   TEXT NOT NULL CHECK (compe_code ~ '^\d{3}$'),
    branch_code  TEXT CHECK (branch_code ~ '^\d{4}$'),
    number       TEXT NOT NULL CHECK (number ~ '^\d{8,20}$'),
    check_digit  TEXT NOT NULL CHECK (length(check_digit) = 1),
    currency     TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    display_name TEXT,
    status       TEXT NOT NULL CHECK (status IN ('AVAILABLE', 'TEMPORARILY_UNAVAILABLE', 'UNAVAILABLE')),
    UNIQUE (brand_id, legacy_key),
    CHECK (branch_code IS NOT NULL OR type = 'CONTA_PAGAMENTO_PRE_PAGA')
);

-- Who holds each account. Every scoped query starts here: "accounts of this
-- document in this brand" is an index-only range scan.
CREATE TABLE account_holders (
    brand_id   TEXT NOT NULL,
    document   TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts ON DELETE CASCADE,
    PRIMARY KEY (brand_id, document, account_id),
    FOREIGN KEY (brand_id, document) REFERENCES customers
);
CREATE INDEX account_holders_account ON account_holders (account_id);

CREATE TABLE balances (
    account_id                    BIGINT PRIMARY KEY REFERENCES accounts ON DELETE CASCADE,
    available_amount              NUMERIC(19, 4) NOT NULL,
    blocked_amount                NUMERIC(19, 4) NOT NULL CHECK (blocked_amount >= 0),
    automatically_invested_amount NUMERIC(19, 4) NOT NULL,
    currency                      TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    update_date_time              TIMESTAMPTZ NOT NULL
);

CREATE TABLE overdraft_limits (
    account_id                  BIGINT PRIMARY KEY REFERENCES accounts ON DELETE CASCADE,
    overdraft_contracted_limit  NUMERIC(19, 4) CHECK (overdraft_contracted_limit >= 0),
    overdraft_used_limit        NUMERIC(19, 4) CHECK (overdraft_used_limit >= 0),
    unarranged_overdraft_amount NUMERIC(19, 4) CHECK (unarranged_overdraft_amount >= 0),
    currency                    TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$')
);

-- Completed, processing and future entries live together: the endpoints
-- serve them as one statement. Only completed ones have unique, immutable ids.
CREATE TABLE transactions (
    id                                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id                        BIGINT NOT NULL REFERENCES accounts ON DELETE CASCADE,
    legacy_key                        TEXT NOT NULL,
    transaction_id                    JSONB NOT NULL,
    completed_authorised_payment_type TEXT NOT NULL CHECK (completed_authorised_payment_type IN ('TRANSACAO_EFETIVADA', 'LANCAMENTO_FUTURO', 'TRANSACAO_PROCESSANDO')),
    credit_debit_type                 TEXT NOT NULL CHECK (credit_debit_type IN ('CREDITO', 'DEBITO')),
    transaction_name                  TEXT NOT NULL CHECK (length(transaction_name) <= 200),
    type                              TEXT NOT NULL,
    amount                            NUMERIC(19, 4) NOT NULL CHECK (amount >= 0),
    currency                          TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    transaction_date_time             TIMESTAMPTZ NOT NULL,
    booking_date                      DATE NOT NULL,
    partie_cnpj_cpf                   TEXT,
    partie_person_type                TEXT,
    partie_compe_code                 TEXT,
    partie_branch_code                TEXT,
    partie_number                     TEXT,
    partie_check_digit                TEXT
);

-- A page of a statement is a range scan of this index in reverse: the window
-- filter is its second column and the page order (newest first, id breaking
-- ties) its remaining ones, so no page ever sorts an account's history.
CREATE INDEX transactions_statement
    ON transactions (account_id, booking_date, transaction_date_time, id);

-- A completed transaction's id is unique within its account; pending entries
-- may share provisional ids.
CREATE UNIQUE INDEX transactions_completed_id
    ON transactions (account_id, legacy_key)
    WHERE completed_authorised_payment_type = 'TRANSACAO_EFETIVADA';
