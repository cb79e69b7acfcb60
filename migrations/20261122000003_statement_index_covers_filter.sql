-- The service runs its statements on generic plans (one plan per query,
-- whatever the parameters). The statement page's filter
-- `($4 IS NULL OR credit_debit_type = $4)` then needs credit_debit_type even
-- when no filter is asked for, and without it in the index every page read
-- the table rows of all the entries it skipped (a deep page: thousands).
-- Carried in the index, every page, filtered or not, skips index entries
-- only.
DROP INDEX transactions_statement;
CREATE INDEX transactions_statement
    ON transactions (account_id, booking_date, transaction_date_time, id)
    INCLUDE (credit_debit_type);
