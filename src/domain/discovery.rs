//! What the consent screen shows of each account a customer may share: its
//! captions and who may authorise sharing it.

use super::identity::{Cpf, Document};
use super::vocabulary::AccountType;

/// Whether `person` holds the account whose holders are `holders`.
pub fn holds(holders: &[(Document, String)], person: &Cpf) -> bool {
    holders
        .iter()
        .any(|(document, _)| document.as_str() == person.as_str())
}

/// Who may authorise sharing an account: the people among its holders (a
/// company acts through people), by document, and always the logged user,
/// first when not a holder (a company's representative holds none of the
/// company's accounts in person).
pub fn authorizers(
    holders: &[(Document, String)],
    logged_user: &Cpf,
    logged_user_name: &str,
) -> Vec<(Cpf, String)> {
    let mut people: Vec<(Cpf, String)> = holders
        .iter()
        .filter_map(|(document, name)| Some((document.cpf()?, name.clone())))
        .collect();
    if !holds(holders, logged_user) {
        people.insert(0, (logged_user.clone(), logged_user_name.to_owned()));
    }
    people
}

/// The account as the consent screen names it: `(key, value)` captions,
/// its display name first (else its type and number).
pub fn captions(
    account_type: AccountType,
    display_name: Option<String>,
    branch_code: Option<String>,
    number: &str,
    check_digit: &str,
) -> Vec<(&'static str, String)> {
    let number = format!("{number}-{check_digit}");
    let label = account_type.caption();
    let mut captions = vec![
        (
            "name",
            display_name.unwrap_or_else(|| format!("{label} {number}")),
        ),
        ("accountType", label.to_owned()),
    ];
    if let Some(branch) = branch_code {
        captions.push(("branch", branch));
    }
    captions.push(("number", number));
    captions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(document: &str, name: &str) -> (Document, String) {
        (Document::parse(document).unwrap(), name.to_owned())
    }

    #[test]
    fn authorizers_are_the_people_holding_the_account() {
        let ana = Cpf::parse("11111111111").unwrap();
        let holders = [
            holder("45781923000166", "Empresa"),
            holder("11111111111", "Ana"),
            holder("22222222222", "Bia"),
        ];
        let people = authorizers(&holders, &ana, "ignored");
        let names: Vec<&str> = people.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["Ana", "Bia"]);
    }

    #[test]
    fn a_representative_comes_first_though_no_holder() {
        let rep = Cpf::parse("33333333333").unwrap();
        let holders = [holder("45781923000166", "Empresa")];
        let people = authorizers(&holders, &rep, "Rep");
        assert_eq!(people, [(rep, "Rep".to_owned())]);
    }

    #[test]
    fn captions_name_the_account() {
        let named = captions(
            AccountType::CheckingAccount,
            None,
            Some("0001".into()),
            "12345678",
            "9",
        );
        assert_eq!(
            named,
            [
                ("name", "Conta corrente 12345678-9".to_owned()),
                ("accountType", "Conta corrente".to_owned()),
                ("branch", "0001".to_owned()),
                ("number", "12345678-9".to_owned()),
            ]
        );
        let prepaid = captions(
            AccountType::PrepaidPaymentAccount,
            Some("Carteira".into()),
            None,
            "87654321",
            "0",
        );
        assert_eq!(prepaid[0], ("name", "Carteira".to_owned()));
        assert!(prepaid.iter().all(|(key, _)| *key != "branch"));
    }
}
