-- When each brand's feed last arrived, for data-freshness monitoring: a
-- bank must see a stalled feed before a customer sees yesterday's balance.
-- `contas import` is a short-lived command, so each successful import
-- records here, inside its own transaction, the brands its file named and
-- the newest balance time it stored; `/metrics` reads one small row per
-- brand instead of scanning balances at every scrape. A store upgraded
-- from an earlier version has no row until its next import.
CREATE TABLE brand_feeds (
    brand_id          text PRIMARY KEY REFERENCES brands (brand_id) ON DELETE CASCADE,
    last_import_at    timestamptz NOT NULL,
    newest_balance_at timestamptz
);
