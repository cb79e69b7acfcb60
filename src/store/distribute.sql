-- The schema laid out on Citus (distributed PostgreSQL): run by
-- `contas migrate` after the migrations, in one transaction, when the
-- database has the `citus` extension and `accounts` is not distributed yet.
-- The migrations themselves are the same on plain PostgreSQL and Citus;
-- this only moves their tables onto the cluster's nodes.
--
-- * By account (`accounts.id`), co-located: accounts and what belongs to
--   one account (balances, limits, statement entries with their monthly
--   partitions, tombstones). An operation on one account reaches one shard.
-- * By document, co-located: customers and account_holders, the
--   customer-to-account lookup that discovery and the holder check start
--   from. A customer's lookups reach one shard.
-- * Reference tables (a copy on every node): brands and the small tables
--   of store-wide state.
--
-- Two constraints cannot hold across shards and are dropped here (README,
-- "Scale-out", says why the guarantees still hold): accounts'
-- UNIQUE (brand_id, legacy_key) and account_holders' key to accounts.
-- Keys between tables of one group, and to reference tables, stay.
DO $$
BEGIN
    -- Citus sends DDL that follows a distribution in the same transaction
    -- over one connection per node, or it refuses to.
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);

    -- Keys to tables about to change kind go first: Citus distributes a
    -- table only when each key it has points at a table already placed.
    ALTER TABLE account_holders DROP CONSTRAINT account_holders_account_brand_fkey;
    ALTER TABLE account_holders DROP CONSTRAINT account_holders_brand_id_document_fkey;
    ALTER TABLE customers DROP CONSTRAINT customers_brand_id_fkey;
    ALTER TABLE accounts DROP CONSTRAINT accounts_brand_id_fkey;
    ALTER TABLE accounts DROP CONSTRAINT accounts_brand_id_legacy_key_key;
    ALTER TABLE brand_feeds DROP CONSTRAINT brand_feeds_brand_id_fkey;

    PERFORM create_reference_table('brands');
    PERFORM create_reference_table('brand_feeds');
    PERFORM create_reference_table('retention_horizon');
    PERFORM create_reference_table('compacted_months');
    PERFORM create_reference_table('month_id_filters');

    -- The tables keyed to accounts keep their keys: they follow accounts
    -- onto the same shards (months made later follow their parent).
    PERFORM create_distributed_table('accounts', 'id');
    PERFORM create_distributed_table('balances', 'account_id', colocate_with => 'accounts');
    PERFORM create_distributed_table('overdraft_limits', 'account_id', colocate_with => 'accounts');
    PERFORM create_distributed_table('transactions', 'account_id', colocate_with => 'accounts');
    PERFORM create_distributed_table('transaction_tombstones', 'account_id', colocate_with => 'accounts');

    PERFORM create_distributed_table('customers', 'document', colocate_with => 'none');
    PERFORM create_distributed_table('account_holders', 'document', colocate_with => 'customers');

    ALTER TABLE brand_feeds ADD CONSTRAINT brand_feeds_brand_id_fkey
        FOREIGN KEY (brand_id) REFERENCES brands ON DELETE CASCADE;
    ALTER TABLE customers ADD CONSTRAINT customers_brand_id_fkey
        FOREIGN KEY (brand_id) REFERENCES brands;
    ALTER TABLE accounts ADD CONSTRAINT accounts_brand_id_fkey
        FOREIGN KEY (brand_id) REFERENCES brands;
    ALTER TABLE account_holders ADD CONSTRAINT account_holders_brand_id_document_fkey
        FOREIGN KEY (brand_id, document) REFERENCES customers;
END $$;
