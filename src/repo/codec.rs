//! How the contract's words and identifiers are stored: as the text the
//! contract spells them with (the schema's `CHECK`s hold the same rules).
//! Reading a row parses the text back, so a value read is as trustworthy
//! as one parsed from a request.

use crate::domain::account_number::AccountNumber;
use crate::domain::counterparty::Counterparty;
use crate::domain::identity::{BrandId, Cnpj, Cpf, Document};
use crate::domain::vocabulary::{
    AccountStatus, AccountSubtype, AccountType, CreditDebit, PaymentStatus, PersonType,
    TransactionType,
};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef, Postgres};
use sqlx::{Decode, Encode, Type};

/// `Type`, `Encode`, `Decode` and arrays for types stored as `text`; each
/// has `as_str` and a `FromStr` for reading back.
macro_rules! stored_as_text {
    ($($name:ty),+ $(,)?) => {$(
        impl Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <&str as Type<Postgres>>::type_info()
            }
            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as Type<Postgres>>::compatible(ty)
            }
        }

        impl Encode<'_, Postgres> for $name {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<&str as Decode<Postgres>>::decode(value)?.parse()?)
            }
        }

        impl PgHasArrayType for $name {
            fn array_type_info() -> PgTypeInfo {
                <&str as PgHasArrayType>::array_type_info()
            }
            fn array_compatible(ty: &PgTypeInfo) -> bool {
                <&str as PgHasArrayType>::array_compatible(ty)
            }
        }
    )+};
}

stored_as_text!(
    AccountType,
    AccountSubtype,
    AccountStatus,
    PaymentStatus,
    CreditDebit,
    TransactionType,
    PersonType,
    BrandId,
    Document,
    Cpf,
    Cnpj,
);

/// A counterparty read from the `partie_*` columns of a row (flattened
/// into the rows that carry one).
impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for Counterparty {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(Counterparty {
            document: row.try_get("partie_cnpj_cpf")?,
            person_type: row.try_get("partie_person_type")?,
            compe_code: row.try_get("partie_compe_code")?,
            branch_code: row.try_get("partie_branch_code")?,
            number: row.try_get("partie_number")?,
            check_digit: row.try_get("partie_check_digit")?,
        })
    }
}

/// An account's number read from the `compe_code`, `branch_code`, `number`
/// and `check_digit` columns (flattened into the rows that show one).
impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for AccountNumber {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(AccountNumber {
            compe_code: row.try_get("compe_code")?,
            branch_code: row.try_get("branch_code")?,
            number: row.try_get("number")?,
            check_digit: row.try_get("check_digit")?,
        })
    }
}
