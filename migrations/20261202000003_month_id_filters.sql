-- A Bloom filter of the completed transaction ids of each month (account
-- and canonical id, hashed), built by `contas retention` (a closed month
-- once; an open one at every run, sized for what it will hold). Completed
-- ids are unique within an account across all months, but an index of a
-- partitioned table covers one month: import would probe every month for
-- every new id. With these, it probes a month only when it has no filter or
-- its filter cannot rule the id out. Import adds the ids it writes into a
-- filtered month to its filter in the same transaction, so a filter never
-- misses an id of its month.
CREATE TABLE month_id_filters (
    month    DATE PRIMARY KEY CHECK (month = date_trunc('month', month)),
    ids      BIGINT NOT NULL,
    filter   BYTEA NOT NULL,
    built_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
