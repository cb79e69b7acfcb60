//! Where an account is: the bank's COMPE code, the branch, the number and
//! its check digit (the contract's `compeCode`, `branchCode`, `number`,
//! `checkDigit`), told together wherever an account is shown.

use serde::Serialize;

/// An account's place at its bank. `branch_code` is absent only for
/// prepaid payment accounts, which have no branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountNumber {
    pub compe_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_code: Option<String>,
    pub number: String,
    pub check_digit: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_the_contracts_names_and_no_branch_when_absent() {
        let prepaid = AccountNumber {
            compe_code: "001".into(),
            branch_code: None,
            number: "94088392".into(),
            check_digit: "4".into(),
        };
        assert_eq!(
            serde_json::to_value(&prepaid).unwrap(),
            serde_json::json!({"compeCode": "001", "number": "94088392", "checkDigit": "4"})
        );
        let checking = AccountNumber {
            branch_code: Some("6272".into()),
            ..prepaid
        };
        assert_eq!(
            serde_json::to_value(&checking).unwrap()["branchCode"],
            "6272"
        );
    }
}
