-- Each holder row carries what the customer-facing operations show of its
-- account: the account's key and id, kind, number, name, status, and who
-- holds it (each holder's document and name). Discovery, the account list,
-- identification and the holder check then read one customer's holder rows
-- and nothing else, and a per-account operation finds the account's id
-- there before it reads that account's balances, limits or statement.
-- On Citus, where holder rows are distributed by document and accounts by
-- id, each of those reads reaches one shard (see src/store/distribute.sql).
-- Import writes these columns with the holder rows; it rewrites an
-- account's rows whenever it writes the account, and refreshes `holders`
-- when a holder's name changes.
ALTER TABLE account_holders
    ADD COLUMN legacy_key   TEXT,
    ADD COLUMN legacy_id    JSONB,
    ADD COLUMN type         TEXT,
    ADD COLUMN subtype      TEXT,
    ADD COLUMN compe_code   TEXT,
    ADD COLUMN branch_code  TEXT,
    ADD COLUMN number       TEXT,
    ADD COLUMN check_digit  TEXT,
    ADD COLUMN currency     TEXT,
    ADD COLUMN display_name TEXT,
    ADD COLUMN status       TEXT,
    ADD COLUMN holders      JSONB;

UPDATE account_holders h
   SET legacy_key = a.legacy_key, legacy_id = a.legacy_id, type = a.type, subtype = a.subtype,
       compe_code = a.compe_code, branch_code = a.branch_code, number = a.number,
       check_digit = a.check_digit, currency = a.currency, display_name = a.display_name,
       status = a.status,
       holders = (SELECT jsonb_agg(jsonb_build_array(c.document, c.name) ORDER BY c.document)
                    FROM account_holders ah
                    JOIN customers c ON c.brand_id = ah.brand_id AND c.document = ah.document
                   WHERE ah.account_id = a.id)
  FROM accounts a
 WHERE a.id = h.account_id;

ALTER TABLE account_holders
    ALTER COLUMN legacy_key SET NOT NULL,
    ALTER COLUMN legacy_id SET NOT NULL,
    ALTER COLUMN type SET NOT NULL,
    ALTER COLUMN subtype SET NOT NULL,
    ALTER COLUMN compe_code SET NOT NULL,
    ALTER COLUMN number SET NOT NULL,
    ALTER COLUMN check_digit SET NOT NULL,
    ALTER COLUMN currency SET NOT NULL,
    ALTER COLUMN status SET NOT NULL,
    ALTER COLUMN holders SET NOT NULL;

-- A customer's account by its key: what every per-account operation starts
-- with. A key names one account in a brand, so it is unique per holder.
CREATE UNIQUE INDEX account_holders_key ON account_holders (brand_id, document, legacy_key);
