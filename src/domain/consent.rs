//! Who a consent lets us show data of, and what it lets us show.
//!
//! The platform has verified the consent before calling us, but we still
//! answer only with data of the consent's owner, in its brand, for the
//! resources and permissions it names.

use std::collections::HashSet;

/// Permissions the Accounts operations check.
pub const ACCOUNTS_READ: &str = "ACCOUNTS_READ";
pub const ACCOUNTS_BALANCES_READ: &str = "ACCOUNTS_BALANCES_READ";
pub const ACCOUNTS_TRANSACTIONS_READ: &str = "ACCOUNTS_TRANSACTIONS_READ";
pub const ACCOUNTS_OVERDRAFT_LIMITS_READ: &str = "ACCOUNTS_OVERDRAFT_LIMITS_READ";

/// The resource type of accounts in `consent.resources`.
pub const ACCOUNT_RESOURCE: &str = "ACCOUNT";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    BrandMismatch,
    MissingPermission(&'static str),
    NotConsented,
}

/// The data a consent reaches.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The brand of `requestMeta.brandId`.
    pub brand_id: String,
    /// The logged user's CPF.
    pub logged_user: String,
    /// Whose accounts these are: the company's CNPJ for a business consent,
    /// else the logged user's CPF.
    pub owner: String,
    permissions: HashSet<String>,
    /// Canonical keys of the consented `ACCOUNT` resources.
    consented_accounts: Vec<String>,
}

pub struct ConsentFacts<'a> {
    pub request_brand_id: &'a str,
    pub consent_brand_id: &'a str,
    pub logged_user_cpf: &'a str,
    pub business_cnpj: Option<&'a str>,
    pub permissions: &'a [String],
    /// (resource type, canonical legacy key) of every consented resource.
    pub resources: Vec<(&'a str, String)>,
}

impl Scope {
    pub fn new(facts: ConsentFacts<'_>) -> Result<Self, ScopeError> {
        // A consent of another brand must never reach this brand's data.
        if facts.request_brand_id != facts.consent_brand_id {
            return Err(ScopeError::BrandMismatch);
        }
        let mut consented_accounts: Vec<String> = facts
            .resources
            .into_iter()
            .filter(|(kind, _)| *kind == ACCOUNT_RESOURCE)
            .map(|(_, key)| key)
            .collect();
        consented_accounts.sort_unstable();
        consented_accounts.dedup();
        Ok(Self {
            brand_id: facts.request_brand_id.to_owned(),
            logged_user: facts.logged_user_cpf.to_owned(),
            owner: facts
                .business_cnpj
                .unwrap_or(facts.logged_user_cpf)
                .to_owned(),
            permissions: facts.permissions.iter().cloned().collect(),
            consented_accounts,
        })
    }

    pub fn require(&self, permission: &'static str) -> Result<(), ScopeError> {
        if self.permissions.contains(permission) {
            Ok(())
        } else {
            Err(ScopeError::MissingPermission(permission))
        }
    }

    /// Consented account keys, sorted and without repeats.
    pub fn consented_accounts(&self) -> &[String] {
        &self.consented_accounts
    }

    pub fn require_consented(&self, account_key: &str) -> Result<(), ScopeError> {
        if self
            .consented_accounts
            .binary_search_by(|k| k.as_str().cmp(account_key))
            .is_ok()
        {
            Ok(())
        } else {
            Err(ScopeError::NotConsented)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(permissions: &'a [String], business: Option<&'a str>) -> ConsentFacts<'a> {
        ConsentFacts {
            request_brand_id: "cbanco",
            consent_brand_id: "cbanco",
            logged_user_cpf: "11111111111",
            business_cnpj: business,
            permissions,
            resources: vec![
                ("ACCOUNT", "k1".into()),
                ("CREDIT_CARD_ACCOUNT", "k2".into()),
                ("ACCOUNT", "k1".into()),
            ],
        }
    }

    #[test]
    fn owner_is_the_company_on_business_consents() {
        let p = vec![ACCOUNTS_READ.to_string()];
        assert_eq!(Scope::new(facts(&p, None)).unwrap().owner, "11111111111");
        let business = Scope::new(facts(&p, Some("22222222000122"))).unwrap();
        assert_eq!(business.owner, "22222222000122");
        assert_eq!(business.logged_user, "11111111111");
    }

    #[test]
    fn only_account_resources_count() {
        let scope = Scope::new(facts(&[], None)).unwrap();
        assert_eq!(scope.consented_accounts(), ["k1".to_string()]);
        assert!(scope.require_consented("k1").is_ok());
        assert_eq!(scope.require_consented("k2"), Err(ScopeError::NotConsented));
    }

    #[test]
    fn permissions_are_checked() {
        let p = vec![ACCOUNTS_READ.to_string()];
        let scope = Scope::new(facts(&p, None)).unwrap();
        assert!(scope.require(ACCOUNTS_READ).is_ok());
        assert_eq!(
            scope.require(ACCOUNTS_BALANCES_READ),
            Err(ScopeError::MissingPermission(ACCOUNTS_BALANCES_READ))
        );
    }

    #[test]
    fn brands_must_agree() {
        let mut f = facts(&[], None);
        f.consent_brand_id = "other";
        assert_eq!(Scope::new(f).unwrap_err(), ScopeError::BrandMismatch);
    }
}
