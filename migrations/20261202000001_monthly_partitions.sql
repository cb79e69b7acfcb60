-- Statement entries by booking month.
--
-- Open Finance serves 12 months back and 12 ahead, and the store must keep
-- no more than that: with one partition per booking month, a statement
-- page reads only the months of its window, and retention drops whole
-- months (no row deletes, no vacuum, no bloat).
--
-- The primary key is the statement order: account, booking date, time,
-- then id (load order). A page is a range scan of it read backwards, month
-- by month newest first, and the page's rows are then read by the same key.
-- It carries credit_debit_type so that a page filtered by it still skips
-- only index entries (the service runs generic plans, where the filter's
-- column is always needed). Every key holds account_id, the column a
-- distributed store (Citus) would shard by, and booking_date, the
-- partition key, as PostgreSQL requires of keys on a partitioned table.

-- A month's partition, made without blocking anyone: `CREATE TABLE ...
-- PARTITION OF` would take an ACCESS EXCLUSIVE lock on `transactions`
-- (queued behind any import, and every reader queued behind it); a
-- standalone table attached with its bound already checked takes only a
-- SHARE UPDATE EXCLUSIVE lock, which readers and writers never wait for.
-- Returns whether it created the month. Callers creating the same month
-- wait for each other.
CREATE FUNCTION transactions_ensure_month(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    first_day date := date_trunc('month', day)::date;
    next_first_day date := (date_trunc('month', day) + interval '1 month')::date;
    partition text := 'transactions_' || to_char(first_day, 'YYYY_MM');
BEGIN
    IF to_regclass(partition) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- 'contas' in ASCII, then 2: creators of months, one at a time.
    PERFORM pg_advisory_xact_lock(7165066978299936770);
    IF to_regclass(partition) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE transactions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   partition);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (booking_date >= %L AND booking_date < %L)',
                   partition, partition || '_bound', first_day, next_first_day);
    EXECUTE format('ALTER TABLE transactions ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   partition, first_day, next_first_day);
    -- The bound spared ATTACH its scan; the partition's own bound holds now.
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', partition, partition || '_bound');
    RETURN true;
END $$;

ALTER TABLE transactions RENAME TO transactions_unpartitioned;
ALTER SEQUENCE transactions_id_seq RENAME TO transactions_unpartitioned_id_seq;
-- Its indexes' and checks' names go to the new table.
DROP INDEX transactions_statement, transactions_completed_id, transactions_pending;
ALTER TABLE transactions_unpartitioned RENAME CONSTRAINT transactions_pkey TO transactions_unpartitioned_pkey;
ALTER TABLE transactions_unpartitioned
    DROP CONSTRAINT transactions_completed_authorised_payment_type_check,
    DROP CONSTRAINT transactions_credit_debit_type_check,
    DROP CONSTRAINT transactions_transaction_name_check,
    DROP CONSTRAINT transactions_amount_check,
    DROP CONSTRAINT transactions_currency_check;

CREATE SEQUENCE transactions_id_seq AS bigint;
SELECT setval('transactions_id_seq', coalesce(max(id), 0) + 1, false) FROM transactions_unpartitioned;

CREATE TABLE transactions (
    id                                BIGINT NOT NULL DEFAULT nextval('transactions_id_seq'),
    account_id                        BIGINT NOT NULL,
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
) PARTITION BY RANGE (booking_date);
ALTER SEQUENCE transactions_id_seq OWNED BY transactions.id;

-- Every month the data reaches, and the 12 months either side of this one.
SELECT transactions_ensure_month(month::date)
  FROM (SELECT DISTINCT date_trunc('month', booking_date) AS month FROM transactions_unpartitioned
         UNION
        SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'America/Sao_Paulo') - interval '12 months',
                               date_trunc('month', now() AT TIME ZONE 'America/Sao_Paulo') + interval '12 months',
                               interval '1 month')) AS months
 ORDER BY month;

-- Every row, with its id (ids order entries booked at the same instant).
INSERT INTO transactions
SELECT id, account_id, legacy_key, transaction_id, completed_authorised_payment_type, credit_debit_type,
       transaction_name, type, amount, currency, transaction_date_time, booking_date, partie_cnpj_cpf,
       partie_person_type, partie_compe_code, partie_branch_code, partie_number, partie_check_digit
  FROM transactions_unpartitioned;
DROP TABLE transactions_unpartitioned;

-- Keys and indexes last: built in bulk, month by month.
ALTER TABLE transactions ADD CONSTRAINT transactions_pkey
    PRIMARY KEY (account_id, booking_date, transaction_date_time, id) INCLUDE (credit_debit_type);
ALTER TABLE transactions ADD CONSTRAINT transactions_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES accounts ON DELETE CASCADE;
-- A completed transaction's id is unique within its account. A unique
-- index on a partitioned table must hold the partition key, so this one
-- holds the rule within each month; import checks every month.
CREATE UNIQUE INDEX transactions_completed_id
    ON transactions (account_id, legacy_key, booking_date)
    WHERE completed_authorised_payment_type = 'TRANSACAO_EFETIVADA';
-- An account's pending entries, which each snapshot replaces.
CREATE INDEX transactions_pending
    ON transactions (account_id, legacy_key)
    WHERE completed_authorised_payment_type <> 'TRANSACAO_EFETIVADA';
