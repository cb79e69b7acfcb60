//! How the contract's words and identifiers are stored: as the text the
//! contract spells them with (the schema's `CHECK`s hold the same rules).
//! Reading a row parses the text back, so a value read is as trustworthy
//! as one parsed from a request.

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
