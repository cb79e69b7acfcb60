-- Import replaces an account's pending entries and checks that none reuses a
-- completed id; this finds an account's pending entries without reading its
-- whole history.
CREATE INDEX transactions_pending
    ON transactions (account_id, legacy_key)
    WHERE completed_authorised_payment_type <> 'TRANSACAO_EFETIVADA';
