-- A holder row's brand is its account's brand. Discovery and the holder
-- check reach accounts through holder rows (by brand and document), so a
-- row tying a customer of one brand to another brand's account would show
-- that account under the wrong brand. The key makes that impossible for any
-- write path, present or future; it replaces the key on account_id alone.
-- A store that already holds such a row fails here, naming the constraint:
-- that row was exposing an account and must be corrected first.
ALTER TABLE accounts ADD CONSTRAINT accounts_id_brand_key UNIQUE (id, brand_id);
ALTER TABLE account_holders
    ADD CONSTRAINT account_holders_account_brand_fkey
        FOREIGN KEY (account_id, brand_id) REFERENCES accounts (id, brand_id) ON DELETE CASCADE,
    DROP CONSTRAINT account_holders_account_id_fkey;
