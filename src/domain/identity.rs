//! Who and where: the contract's identifiers of people, companies and
//! brands, each checked once with the contract's pattern and length.
//!
//! A value of these types is known to be well formed: code that receives
//! one never checks it again. Each has one rule and one message, shared by
//! the API and the import.

use std::fmt;

/// Why a text is not a valid identifier; the message completes
/// "`field`: …".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityError {
    NotCpf,
    NotCnpj,
    NotDocument,
    BrandLength,
    ControlCharacter(char),
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotCpf => f.write_str("must be a CPF of 11 digits"),
            Self::NotCnpj => f.write_str("must be a CNPJ of 14 digits"),
            Self::NotDocument => f.write_str("must be a CPF of 11 digits or a CNPJ of 14 digits"),
            Self::BrandLength => f.write_str("must be 1 to 50 characters long"),
            Self::ControlCharacter(c) => write!(
                f,
                "must not contain control characters (U+0000 to U+001F): holds U+{:04X}",
                *c as u32
            ),
        }
    }
}

impl std::error::Error for IdentityError {}

fn is_digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

/// The first control character (U+0000 to U+001F) of a text, if any: no
/// identifier means one, and PostgreSQL's text cannot even hold U+0000.
pub fn control_character(text: &str) -> Option<char> {
    text.chars().find(|c| *c < ' ')
}

/// Declares a text identifier: a newtype over `String` that only its
/// `check` admits, readable as `&str`, parsed the same way from JSON.
macro_rules! text_identifier {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, IdentityError> {
                Self::check(text)?;
                Ok(Self(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdentityError;
            fn try_from(text: String) -> Result<Self, IdentityError> {
                Self::check(&text)?;
                Ok(Self(text))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::try_from(text).map_err(serde::de::Error::custom)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdentityError;
            fn from_str(text: &str) -> Result<Self, IdentityError> {
                Self::parse(text)
            }
        }
    };
}

text_identifier! {
    /// A person's CPF: 11 digits (`^\d{11}$`).
    Cpf
}

text_identifier! {
    /// A company's CNPJ: 14 digits (`^\d{14}$`).
    Cnpj
}

text_identifier! {
    /// A customer's document: a person's CPF or a company's CNPJ.
    Document
}

text_identifier! {
    /// A brand of the institution (`brandId`): 1 to 50 characters.
    BrandId
}

impl Cpf {
    fn check(text: &str) -> Result<(), IdentityError> {
        is_digits(text, 11)
            .then_some(())
            .ok_or(IdentityError::NotCpf)
    }
}

impl Cnpj {
    fn check(text: &str) -> Result<(), IdentityError> {
        is_digits(text, 14)
            .then_some(())
            .ok_or(IdentityError::NotCnpj)
    }
}

impl Document {
    fn check(text: &str) -> Result<(), IdentityError> {
        (is_digits(text, 11) || is_digits(text, 14))
            .then_some(())
            .ok_or(IdentityError::NotDocument)
    }

    /// A person's document (a CPF), as opposed to a company's.
    pub fn is_person(&self) -> bool {
        self.0.len() == 11
    }

    /// The person's CPF, when this is a person's document.
    pub fn cpf(&self) -> Option<Cpf> {
        self.is_person().then(|| Cpf(self.0.clone()))
    }
}

impl From<Cpf> for Document {
    fn from(cpf: Cpf) -> Self {
        Self(cpf.0)
    }
}

impl From<Cnpj> for Document {
    fn from(cnpj: Cnpj) -> Self {
        Self(cnpj.0)
    }
}

impl BrandId {
    fn check(text: &str) -> Result<(), IdentityError> {
        if let Some(c) = control_character(text) {
            return Err(IdentityError::ControlCharacter(c));
        }
        // Fewer bytes than the limit means fewer characters too.
        if text.is_empty() || (text.len() > 50 && text.chars().count() > 50) {
            return Err(IdentityError::BrandLength);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        assert!(Cpf::parse("38519462782").is_ok());
        assert_eq!(Cpf::parse("3851946278"), Err(IdentityError::NotCpf));
        assert_eq!(Cpf::parse("385.194.627-82"), Err(IdentityError::NotCpf));
        assert_eq!(Cpf::parse("3851946278٣"), Err(IdentityError::NotCpf));
        assert!(Cnpj::parse("45781923000166").is_ok());
        assert_eq!(Cnpj::parse("38519462782"), Err(IdentityError::NotCnpj));
        let person = Document::parse("38519462782").unwrap();
        let company = Document::parse("45781923000166").unwrap();
        assert!(person.is_person() && !company.is_person());
        assert_eq!(
            Document::parse("123456789012").unwrap_err().to_string(),
            "must be a CPF of 11 digits or a CNPJ of 14 digits"
        );
        let cpf = Cpf::parse("38519462782").unwrap();
        assert_eq!(Document::from(cpf), person);
        let json: Result<Cpf, _> = serde_json::from_str("\"3851946278\"");
        assert_eq!(json.unwrap_err().to_string(), "must be a CPF of 11 digits");
    }

    #[test]
    fn brand_ids() {
        assert!(BrandId::parse("cbanco").is_ok());
        assert!(BrandId::parse(&"ç".repeat(50)).is_ok());
        assert_eq!(
            BrandId::parse(&"ç".repeat(51)),
            Err(IdentityError::BrandLength)
        );
        assert_eq!(BrandId::parse(""), Err(IdentityError::BrandLength));
        let nul = BrandId::parse("cbanco\0").unwrap_err();
        assert_eq!(
            nul.to_string(),
            "must not contain control characters (U+0000 to U+001F): holds U+0000"
        );
        assert!(BrandId::parse("c\tbanco").is_err());
        assert_eq!(BrandId::parse("cbanco").unwrap().as_str(), "cbanco");
    }
}
