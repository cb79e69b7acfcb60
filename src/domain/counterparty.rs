//! The other side of a statement entry: the contract's six `partie*`
//! fields, each optional (a card purchase names a shop's CNPJ and no
//! account; a PIX names a whole account).

use super::vocabulary::PersonType;
use serde::Serialize;

/// The counterparty of a statement entry, as the bank knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counterparty {
    #[serde(rename = "partieCnpjCpf", skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(rename = "partiePersonType", skip_serializing_if = "Option::is_none")]
    pub person_type: Option<PersonType>,
    #[serde(rename = "partieCompeCode", skip_serializing_if = "Option::is_none")]
    pub compe_code: Option<String>,
    #[serde(rename = "partieBranchCode", skip_serializing_if = "Option::is_none")]
    pub branch_code: Option<String>,
    #[serde(rename = "partieNumber", skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(rename = "partieCheckDigit", skip_serializing_if = "Option::is_none")]
    pub check_digit: Option<String>,
}

impl Counterparty {
    /// Each field as the contract names it and as text, in the contract's
    /// order: what import compares, digests and copies.
    pub fn fields(&self) -> [(&'static str, Option<&str>); 6] {
        [
            ("partieCnpjCpf", self.document.as_deref()),
            ("partiePersonType", self.person_type.map(PersonType::as_str)),
            ("partieCompeCode", self.compe_code.as_deref()),
            ("partieBranchCode", self.branch_code.as_deref()),
            ("partieNumber", self.number.as_deref()),
            ("partieCheckDigit", self.check_digit.as_deref()),
        ]
    }

    /// The fields' names in which `other` differs from this one.
    pub fn differences(&self, other: &Counterparty) -> Vec<&'static str> {
        self.fields()
            .into_iter()
            .zip(other.fields())
            .filter(|((_, mine), (_, theirs))| mine != theirs)
            .map(|((name, _), _)| name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pix_sender() -> Counterparty {
        Counterparty {
            document: Some("43908445778".into()),
            person_type: Some(PersonType::Natural),
            compe_code: Some("001".into()),
            branch_code: Some("6272".into()),
            number: Some("67890854360".into()),
            check_digit: Some("4".into()),
        }
    }

    #[test]
    fn serializes_with_the_contracts_names_and_leaves_absent_fields_out() {
        let shop = Counterparty {
            document: Some("50685362000135".into()),
            person_type: Some(PersonType::Legal),
            ..Counterparty::default()
        };
        assert_eq!(
            serde_json::to_value(&shop).unwrap(),
            serde_json::json!({"partieCnpjCpf": "50685362000135", "partiePersonType": "PESSOA_JURIDICA"})
        );
        let names: Vec<&str> = pix_sender().fields().iter().map(|(n, _)| *n).collect();
        let serialized = serde_json::to_value(pix_sender()).unwrap();
        let keys: Vec<&str> = serialized
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted, "fields() names what serde writes");
    }

    #[test]
    fn differences_name_each_field_that_differs() {
        let sender = pix_sender();
        assert!(sender.differences(&sender.clone()).is_empty());
        let other = Counterparty {
            person_type: Some(PersonType::Legal),
            check_digit: None,
            ..pix_sender()
        };
        assert_eq!(
            sender.differences(&other),
            ["partiePersonType", "partieCheckDigit"]
        );
    }
}
