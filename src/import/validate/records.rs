//! The records that define or describe an account: brands, customers,
//! accounts, balances and overdraft limits; and, for a line serde refused,
//! what it would have defined.

use super::check::Check;
use super::fields::{
    account_number, any, branch_code, brand_id, brand_name, check_digit, compe_code, currency,
    date_time, document,
};
use super::{
    Account, AccountRef, Balance, Brand, Customer, Definition, Invalid, Item, Limits, Validator,
};
use crate::domain::account_number::AccountNumber;
use crate::domain::identity::{BrandId, Document};
use crate::domain::legacy_id::LegacyId;
use crate::domain::vocabulary::{AccountStatus, AccountType};
use crate::import::record::{
    AccountRecord, BalanceRecord, BrandRecord, CustomerRecord, OverdraftLimitsRecord,
};
use std::sync::Arc;

impl Validator {
    pub(super) fn balance(&mut self, r: BalanceRecord) -> Result<Item, Invalid> {
        let mut c = Check::default();
        let account = self.account_ref(&mut c, r.brand_id, r.account_id);
        let available = c.money(&r.available_amount, "availableAmount", true);
        let blocked = c.money(&r.blocked_amount, "blockedAmount", false);
        let invested = c.money(
            &r.automatically_invested_amount,
            "automaticallyInvestedAmount",
            false,
        );
        let cur = c.text(r.currency, "currency", currency);
        let updated = c.date_time(&r.update_date_time, "updateDateTime", date_time);
        let value = (|| {
            Some(Item::Balance(Balance {
                account: account?,
                available: available?,
                blocked: blocked?,
                invested: invested?,
                currency: cur?,
                updated: updated?,
            }))
        })();
        c.finish(value, None)
    }

    pub(super) fn limits(&mut self, r: OverdraftLimitsRecord) -> Result<Item, Invalid> {
        let mut c = Check::default();
        let account = self.account_ref(&mut c, r.brand_id, r.account_id);
        let mut amount = |value: &Option<String>, field: &str| match value {
            None => Some(None),
            Some(v) => c.amount(v, field, false).map(Some),
        };
        let contracted = amount(&r.overdraft_contracted_limit, "overdraftContractedLimit");
        let used = amount(&r.overdraft_used_limit, "overdraftUsedLimit");
        let unarranged = amount(&r.unarranged_overdraft_amount, "unarrangedOverdraftAmount");
        let cur = c.text(r.currency, "currency", currency);
        let value = (|| {
            Some(Item::Limits(Limits {
                account: account?,
                contracted: contracted?,
                used: used?,
                unarranged: unarranged?,
                currency: cur?,
            }))
        })();
        c.finish(value, None)
    }
}

pub(super) fn brand(r: BrandRecord) -> Result<Item, Invalid> {
    let mut c = Check::default();
    let id: Option<BrandId> = c.identifier(r.brand_id, "brandId");
    let name = c.text(r.brand_name, "brandName", brand_name);
    let company_cnpj = c.identifier(r.company_cnpj, "companyCnpj");
    let defines = if c.errors.is_empty() {
        None
    } else {
        id.as_ref()
            .map(|id| Definition::Brand(id.as_str().to_owned()))
    };
    let value = (|| {
        Some(Item::Brand(Brand {
            brand_id: id?,
            brand_name: name?,
            company_cnpj: company_cnpj?,
        }))
    })();
    c.finish(value, defines)
}

pub(super) fn customer(r: CustomerRecord) -> Result<Item, Invalid> {
    let mut c = Check::default();
    let brand: Option<BrandId> = c.identifier(r.brand_id, "brandId");
    let doc: Option<Document> = c.identifier(r.document, "document");
    let name = c.text(r.name, "name", any);
    let defines = match (&brand, &doc) {
        (Some(b), Some(d)) if !c.errors.is_empty() => Some(Definition::Customer {
            brand_id: b.as_str().to_owned(),
            document: d.as_str().to_owned(),
        }),
        _ => None,
    };
    let value = (|| {
        Some(Item::Customer(Customer {
            brand_id: brand?,
            document: doc?,
            name: name?,
        }))
    })();
    c.finish(value, defines)
}

pub(super) fn account(r: AccountRecord) -> Result<Item, Invalid> {
    let mut c = Check::default();
    let prepaid = AccountType::PrepaidPaymentAccount;
    let needs_branch =
        r.branch_code.is_none() && r.account_type.as_deref() != Some(prepaid.as_str());
    let brand = c.text(r.brand_id, "brandId", brand_id);
    let id = c.legacy(&r.account_id, "accountId");
    let account_type = c.choice(&r.account_type, "type");
    let subtype = c.choice(&r.subtype, "subtype");
    let compe = c.text(r.compe_code, "compeCode", compe_code);
    let branch = c.optional(r.branch_code, "branchCode", branch_code);
    if needs_branch {
        c.fail(
            "branchCode",
            format!("is required unless type is {prepaid}"),
        );
    }
    let number = c.text(r.number, "number", account_number);
    let check = c.text(r.check_digit, "checkDigit", check_digit);
    let display_name = c.optional(r.display_name, "displayName", any);
    let cur = c.text(r.currency, "currency", currency);
    let status = match &r.status {
        None => Some(AccountStatus::Available),
        Some(s) => c.one_of(s, "status"),
    };
    let holders = holders(&mut c, r.holders);
    let defines = match (&brand, &id) {
        (Some(b), Some((key, _))) if !c.errors.is_empty() => {
            Some(Definition::Account(AccountRef {
                brand: Arc::from(b.as_str()),
                key: Arc::from(key.as_str()),
            }))
        }
        _ => None,
    };
    let value = (|| {
        let (key, legacy_json) = id?;
        Some(Item::Account(Account {
            account: AccountRef {
                brand: Arc::from(brand?.as_str()),
                key: Arc::from(key),
            },
            legacy_json,
            account_type: account_type?,
            subtype: subtype?,
            number: AccountNumber {
                compe_code: compe?,
                branch_code: branch?,
                number: number?,
                check_digit: check?,
            },
            currency: cur?,
            holders: holders?,
            display_name: display_name?,
            status: status?,
        }))
    })();
    c.finish(value, defines)
}

/// An account's holders: at least one customer document, none twice.
fn holders(c: &mut Check, value: Option<Vec<String>>) -> Option<Vec<String>> {
    match value {
        None => {
            c.fail("holders", "is required");
            None
        }
        Some(list) if list.is_empty() => {
            c.fail("holders", "must list at least one customer document");
            None
        }
        Some(list) => {
            let mut ok = true;
            for (i, h) in list.iter().enumerate() {
                if let Err(reason) = document(h) {
                    c.fail(&format!("holders[{i}]"), reason);
                    ok = false;
                } else if list[..i].contains(h) {
                    c.fail(&format!("holders[{i}]"), "is listed twice");
                    ok = false;
                }
            }
            ok.then_some(list)
        }
    }
}

/// For a line serde refused: what it would have defined, read leniently.
pub(crate) fn definition_hint(line: &[u8]) -> Option<Definition> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let text = |name: &str| value.get(name)?.as_str().map(str::to_owned);
    let brand = text("brandId").filter(|b| brand_id(b).is_ok())?;
    match value.get("record")?.as_str()? {
        "brand" => Some(Definition::Brand(brand)),
        "customer" => {
            let document = text("document").filter(|d| document(d).is_ok())?;
            Some(Definition::Customer {
                brand_id: brand,
                document,
            })
        }
        "account" => {
            let id: LegacyId = serde_json::from_value(value.get("accountId")?.clone()).ok()?;
            id.validate().ok()?;
            Some(Definition::Account(AccountRef {
                brand: Arc::from(brand),
                key: Arc::from(id.canonical_key()),
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::definition_hint;
    use crate::import::record::*;
    use crate::import::validate::testing::{fields, lid, s};
    use crate::import::validate::{Definition, Item, validate};

    fn account_record() -> AccountRecord {
        AccountRecord {
            brand_id: s("cbanco"),
            account_id: Some(lid(&[("branch", "0001"), ("number", "12345678")])),
            account_type: s("CONTA_DEPOSITO_A_VISTA"),
            subtype: s("INDIVIDUAL"),
            compe_code: s("001"),
            branch_code: s("0001"),
            number: s("12345678"),
            check_digit: s("9"),
            currency: s("BRL"),
            holders: Some(vec!["11111111111".into()]),
            display_name: None,
            status: None,
        }
    }

    #[test]
    fn valid_account_and_defaults() {
        let Ok(Item::Account(a)) = validate(Record::Account(account_record())) else {
            panic!()
        };
        assert_eq!(
            a.status,
            crate::domain::vocabulary::AccountStatus::Available
        );
        assert_eq!(
            &*a.account.key,
            r#"[["branch","0001"],["number","12345678"]]"#
        );
        assert_eq!(
            a.legacy_json,
            r#"[{"key":"branch","value":"0001"},{"key":"number","value":"12345678"}]"#
        );
    }

    #[test]
    fn account_fields() {
        let mut r = account_record();
        r.branch_code = None;
        assert_eq!(fields(validate(Record::Account(r.clone()))), ["branchCode"]);
        r.account_type = s("CONTA_PAGAMENTO_PRE_PAGA");
        assert!(
            validate(Record::Account(r)).is_ok(),
            "prepaid accounts need no branch"
        );

        let mut r = account_record();
        r.account_type = s("CONTA_SALARIO");
        r.subtype = s("CONJUNTA");
        r.compe_code = s("1");
        r.number = s("123");
        r.check_digit = s("");
        r.currency = s("real");
        r.status = s("CLOSED");
        r.holders = Some(vec![
            "11111111111".into(),
            "123".into(),
            "11111111111".into(),
        ]);
        assert_eq!(
            fields(validate(Record::Account(r))),
            [
                "type",
                "subtype",
                "compeCode",
                "number",
                "checkDigit",
                "currency",
                "status",
                "holders[1]",
                "holders[2]"
            ]
        );

        let mut r = account_record();
        r.holders = Some(vec![]);
        r.account_id = Some(lid(&[]));
        let (errs, defines) = validate(Record::Account(r)).unwrap_err();
        assert_eq!(
            errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["accountId", "holders"]
        );
        assert!(defines.is_none());

        let r = AccountRecord::default();
        assert_eq!(
            fields(validate(Record::Account(r))),
            [
                "brandId",
                "accountId",
                "type",
                "subtype",
                "compeCode",
                "branchCode",
                "number",
                "checkDigit",
                "currency",
                "holders"
            ]
        );
    }

    #[test]
    fn a_bad_definition_still_defines_its_identity() {
        let mut r = account_record();
        r.compe_code = s("1");
        let (_, defines) = validate(Record::Account(r)).unwrap_err();
        assert!(matches!(defines, Some(Definition::Account(_))));
        let (_, defines) = validate(Record::Customer(CustomerRecord {
            brand_id: s("b"),
            document: s("11111111111"),
            name: None,
        }))
        .unwrap_err();
        assert!(matches!(defines, Some(Definition::Customer { .. })));
        assert!(matches!(
            definition_hint(br#"{"record":"account","brandId":"b","accountId":[{"key":"n","value":"1"}],"x":1}"#),
            Some(Definition::Account(_))
        ));
    }

    #[test]
    fn brand_and_customer_fields() {
        let r = BrandRecord {
            brand_id: s(""),
            brand_name: s(&"n".repeat(81)),
            company_cnpj: s("123"),
        };
        assert_eq!(
            fields(validate(Record::Brand(r))),
            ["brandId", "brandName", "companyCnpj"]
        );
        let r = CustomerRecord {
            brand_id: s("b"),
            document: s("123.456.789-01"),
            name: None,
        };
        assert_eq!(fields(validate(Record::Customer(r))), ["document", "name"]);
    }

    #[test]
    fn money_fields() {
        let r = BalanceRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            available_amount: s("-10.00"),
            blocked_amount: s("-1.00"),
            automatically_invested_amount: s("1"),
            currency: s("BRL"),
            update_date_time: s("yesterday"),
        };
        assert_eq!(
            fields(validate(Record::Balance(r))),
            [
                "blockedAmount",
                "automaticallyInvestedAmount",
                "updateDateTime"
            ]
        );
        let r = OverdraftLimitsRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            overdraft_contracted_limit: None,
            overdraft_used_limit: s("-5.00"),
            unarranged_overdraft_amount: None,
            currency: s("BRL"),
        };
        assert_eq!(
            fields(validate(Record::OverdraftLimits(r))),
            ["overdraftUsedLimit"]
        );
        let r = OverdraftLimitsRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            currency: s("BRL"),
            ..Default::default()
        };
        let Ok(Item::Limits(l)) = validate(Record::OverdraftLimits(r)) else {
            panic!()
        };
        assert_eq!((l.contracted, l.used, l.unarranged), (None, None, None));
    }
}
