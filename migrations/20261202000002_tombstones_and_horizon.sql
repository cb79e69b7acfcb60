-- Removed transactions leave a tombstone, so that a replayed file changes
-- nothing: its removal finds the tombstone (a no-op), and its transaction
-- record, the removed content again, is skipped, while one with other
-- content is refused: a removed entry never comes back. No content is kept,
-- only its digest (SHA-256 of the fields import compares). booking_date is
-- the removed entry's: retention forgets a tombstone with its month.
CREATE TABLE transaction_tombstones (
    account_id     BIGINT NOT NULL REFERENCES accounts ON DELETE CASCADE,
    legacy_key     TEXT NOT NULL,
    reason         TEXT,
    removed_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    booking_date   DATE NOT NULL,
    content_digest BYTEA NOT NULL CHECK (length(content_digest) = 32),
    PRIMARY KEY (account_id, legacy_key)
);
CREATE INDEX transaction_tombstones_booking_date ON transaction_tombstones (booking_date);

-- The oldest booking date the store keeps, set by `contas retention`: import
-- skips entries booked before it, so a replayed old file cannot bring back
-- what retention dropped. No row: nothing was dropped yet.
CREATE TABLE retention_horizon (
    only_row            BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
    oldest_booking_date DATE NOT NULL,
    set_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Closed months `contas retention` has rewritten in statement order (each
-- account's entries together), and when.
CREATE TABLE compacted_months (
    month        DATE PRIMARY KEY CHECK (month = date_trunc('month', month)),
    rows         BIGINT NOT NULL,
    compacted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
