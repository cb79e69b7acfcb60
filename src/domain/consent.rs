//! Who a consent lets us show data of, and what it lets us show.
//!
//! The platform has verified the consent before calling us, but we still
//! answer only with data of the consent's owner, in its brand, for the
//! resources and permissions it names.

use super::identity::{BrandId, Cnpj, Cpf, Document};
use super::vocabulary::{Permission, ResourceType};
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    BrandMismatch,
    MissingPermission(Permission),
    NotConsented,
}

/// The data a consent reaches.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The brand of `requestMeta.brandId`.
    pub brand_id: BrandId,
    /// The logged user's CPF.
    pub logged_user: Cpf,
    /// Whose accounts these are: the company's CNPJ for a business consent,
    /// else the logged user's CPF.
    pub owner: Document,
    permissions: HashSet<Permission>,
    /// Canonical keys of the consented `ACCOUNT` resources.
    consented_accounts: Vec<String>,
}

pub struct ConsentFacts<'a> {
    pub request_brand_id: &'a BrandId,
    pub consent_brand_id: &'a BrandId,
    pub logged_user_cpf: &'a Cpf,
    pub business_cnpj: Option<&'a Cnpj>,
    pub permissions: &'a [Permission],
    /// (resource type, canonical legacy key) of every consented resource.
    pub resources: Vec<(ResourceType, String)>,
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
            .filter(|(kind, _)| *kind == ResourceType::Account)
            .map(|(_, key)| key)
            .collect();
        consented_accounts.sort_unstable();
        consented_accounts.dedup();
        Ok(Self {
            brand_id: facts.request_brand_id.clone(),
            logged_user: facts.logged_user_cpf.clone(),
            owner: match facts.business_cnpj {
                Some(cnpj) => cnpj.clone().into(),
                None => facts.logged_user_cpf.clone().into(),
            },
            permissions: facts.permissions.iter().copied().collect(),
            consented_accounts,
        })
    }

    pub fn require(&self, permission: Permission) -> Result<(), ScopeError> {
        if self.permissions.contains(&permission) {
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

    struct Ids {
        brand: BrandId,
        other_brand: BrandId,
        cpf: Cpf,
        cnpj: Cnpj,
    }

    fn ids() -> Ids {
        Ids {
            brand: BrandId::parse("cbanco").unwrap(),
            other_brand: BrandId::parse("other").unwrap(),
            cpf: Cpf::parse("11111111111").unwrap(),
            cnpj: Cnpj::parse("22222222000122").unwrap(),
        }
    }

    fn facts<'a>(
        ids: &'a Ids,
        permissions: &'a [Permission],
        business: Option<&'a Cnpj>,
    ) -> ConsentFacts<'a> {
        ConsentFacts {
            request_brand_id: &ids.brand,
            consent_brand_id: &ids.brand,
            logged_user_cpf: &ids.cpf,
            business_cnpj: business,
            permissions,
            resources: vec![
                (ResourceType::Account, "k1".into()),
                (ResourceType::CreditCardAccount, "k2".into()),
                (ResourceType::Account, "k1".into()),
            ],
        }
    }

    #[test]
    fn owner_is_the_company_on_business_consents() {
        let ids = ids();
        let p = [Permission::AccountsRead];
        let person = Scope::new(facts(&ids, &p, None)).unwrap();
        assert_eq!(person.owner.as_str(), "11111111111");
        let business = Scope::new(facts(&ids, &p, Some(&ids.cnpj))).unwrap();
        assert_eq!(business.owner.as_str(), "22222222000122");
        assert_eq!(business.logged_user.as_str(), "11111111111");
    }

    #[test]
    fn only_account_resources_count() {
        let ids = ids();
        let scope = Scope::new(facts(&ids, &[], None)).unwrap();
        assert_eq!(scope.consented_accounts(), ["k1".to_string()]);
        assert!(scope.require_consented("k1").is_ok());
        assert_eq!(scope.require_consented("k2"), Err(ScopeError::NotConsented));
    }

    #[test]
    fn permissions_are_checked() {
        let ids = ids();
        let p = [Permission::AccountsRead];
        let scope = Scope::new(facts(&ids, &p, None)).unwrap();
        assert!(scope.require(Permission::AccountsRead).is_ok());
        assert_eq!(
            scope.require(Permission::AccountsBalancesRead),
            Err(ScopeError::MissingPermission(
                Permission::AccountsBalancesRead
            ))
        );
    }

    #[test]
    fn brands_must_agree() {
        let ids = ids();
        let mut f = facts(&ids, &[], None);
        f.consent_brand_id = &ids.other_brand;
        assert_eq!(Scope::new(f).unwrap_err(), ScopeError::BrandMismatch);
    }
}
