//! The other sides of the bank's transactions: people and companies with
//! accounts at other banks, employers, shops and utilities.

use super::documents::{account_check_digit, cnpj, cpf};
use super::names::{BANKS, MERCHANTS, UTILITIES, company_name, person_name, short_name};
use super::plan::stream;
use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_xoshiro::Xoshiro256PlusPlus;

/// A counterparty of transactions.
#[derive(Debug, Clone)]
pub(super) struct Party {
    pub(super) document: String,
    pub(super) short: String,
    pub(super) compe: &'static str,
    pub(super) branch: String,
    pub(super) number: String,
    pub(super) check: String,
}

fn party(rng: &mut Xoshiro256PlusPlus, document: String, name: &str) -> Party {
    let number = format!(
        "{:0width$}",
        rng.random_range(0..100_000_000u64),
        width = 8 + rng.random_range(0..3)
    );
    Party {
        document,
        short: short_name(name),
        compe: BANKS.choose(rng).expect("banks"),
        branch: format!("{:04}", rng.random_range(1..4000)),
        check: account_check_digit(&number),
        number,
    }
}

/// Everyone the bank's customers pay or are paid by.
pub(super) struct Counterparties {
    pub(super) people: Vec<Party>,
    pub(super) companies: Vec<Party>,
    pub(super) employers: Vec<Party>,
    /// Shops: name and CNPJ.
    pub(super) merchants: Vec<(String, String)>,
    /// Utilities: name and CNPJ.
    pub(super) utilities: Vec<(String, String)>,
}

impl Counterparties {
    pub(super) fn plan(seed: u64) -> Self {
        let mut rng = stream(seed, 2, 0);
        let people: Vec<Party> = (0..300)
            .map(|i| {
                let name = person_name(&mut rng);
                party(&mut rng, cpf(900_000_000 - i * 3571), &name)
            })
            .collect();
        let companies: Vec<Party> = (0..120)
            .map(|i| {
                let name = company_name(&mut rng);
                party(&mut rng, cnpj(90_000_000 - i * 7717), &name)
            })
            .collect();
        let employers: Vec<Party> = companies.iter().take(30).cloned().collect();
        let merchants = MERCHANTS
            .iter()
            .zip(0u32..)
            .map(|(m, i)| ((*m).to_owned(), cnpj(60_000_000 + i * 1009)))
            .collect();
        let utilities = UTILITIES
            .iter()
            .zip(0u32..)
            .map(|(m, i)| ((*m).to_owned(), cnpj(70_000_000 + i * 2003)))
            .collect();
        Counterparties {
            people,
            companies,
            employers,
            merchants,
            utilities,
        }
    }
}
