//! What happens on an account: per kind of account, a table of weighted
//! scenarios (a PIX received, a card purchase, a fee...) and the sampler
//! that picks one. The weights of each table add up to 1000.

use super::plan::{Kind, Owner};
use crate::domain::vocabulary::TransactionType;
use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;
use rust_decimal::Decimal;

use Amount::{Between, Tens};
use Counterparty::{Company, Employer, Merchant, Nobody, Person, PersonHere, Utility};
use Direction::{Credit, Debit, Drawn};
use Name::{ByDirection, Fixed, Party, PartyByDirection};

/// Who is on the other side of an entry.
#[derive(Debug, Clone, Copy)]
pub(super) enum Counterparty {
    /// Nobody: fees, interest, cash, the bank's own products.
    Nobody,
    /// A person at another bank.
    Person,
    /// A company at another bank.
    Company,
    /// An employer paying a salary.
    Employer,
    /// A person, with an account at this bank (transfers in house).
    PersonHere,
    /// A shop: its CNPJ, no account.
    Merchant,
    /// A utility collecting a bill: its CNPJ, no account.
    Utility,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Direction {
    Credit,
    Debit,
    /// A credit with this chance, else a debit.
    Drawn(f64),
}

/// What the statement calls an entry.
#[derive(Debug, Clone, Copy)]
pub(super) enum Name {
    Fixed(&'static str),
    /// The text, then the counterparty's name.
    Party(&'static str),
    /// One text for a credit, another for a debit.
    ByDirection(&'static str, &'static str),
    /// [`Name::ByDirection`], then the counterparty's name.
    PartyByDirection(&'static str, &'static str),
}

impl Name {
    /// The name of an entry in this direction with this counterparty.
    pub(super) fn text(self, credit: bool, party: Option<&str>) -> String {
        let (text, names_party) = match self {
            Fixed(text) => (text, false),
            Party(text) => (text, true),
            ByDirection(credit_text, debit_text) => {
                (if credit { credit_text } else { debit_text }, false)
            }
            PartyByDirection(credit_text, debit_text) => {
                (if credit { credit_text } else { debit_text }, true)
            }
        };
        match party {
            Some(party) if names_party => format!("{text} {party}"),
            _ => text.to_owned(),
        }
    }
}

/// How much, in reais.
#[derive(Debug, Clone, Copy)]
pub(super) enum Amount {
    /// Log-uniform between the two: many small amounts, a few large ones.
    Between(f64, f64),
    /// [`Amount::Between`], one range for a credit, another for a debit.
    ByDirection {
        credit: (f64, f64),
        debit: (f64, f64),
    },
    /// A multiple of R$ 10 between the two (cash).
    Tens(i64, i64),
}

impl Amount {
    /// An amount for an entry in this direction: drawn as a float, held
    /// from then on as whole centavos.
    pub(super) fn draw(self, rng: &mut Xoshiro256PlusPlus, credit: bool) -> Decimal {
        let (lo, hi) = match self {
            Between(lo, hi) => (lo, hi),
            Amount::ByDirection { credit: range, .. } if credit => range,
            Amount::ByDirection { debit: range, .. } => range,
            Tens(lo, hi) => return Decimal::new(rng.random_range(lo / 10..=hi / 10) * 1000, 2),
        };
        let reais = (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp();
        Decimal::new((reais * 100.0).round() as i64, 2)
    }
}

/// One kind of entry: its transaction type (the contract's), direction,
/// counterparty, name and amount.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scenario(
    pub(super) TransactionType,
    pub(super) Direction,
    pub(super) Counterparty,
    pub(super) Name,
    pub(super) Amount,
);

/// The scenarios of an account of `kind` held by `owner`.
pub(super) fn of(kind: Kind, owner: Owner) -> &'static [(u32, Scenario)] {
    match (kind, owner) {
        (Kind::Savings, _) => SAVINGS,
        (Kind::Prepaid, _) => PREPAID,
        (Kind::Checking, Owner::Company) => COMPANY_CHECKING,
        (Kind::Checking, _) => PERSONAL_CHECKING,
    }
}

/// One scenario of `table`, each as likely as its weight makes it.
pub(super) fn draw(table: &[(u32, Scenario)], rng: &mut Xoshiro256PlusPlus) -> Scenario {
    let total = table.iter().map(|&(weight, _)| weight).sum();
    let mut roll = rng.random_range(0..total);
    for &(weight, scenario) in table {
        if roll < weight {
            return scenario;
        }
        roll -= weight;
    }
    unreachable!("a roll below the weights' total falls on a scenario")
}

#[rustfmt::skip]
const SAVINGS: &[(u32, Scenario)] = &[
    (450, Scenario(TransactionType::InvestmentIncome, Credit, Nobody, Fixed("RENDIMENTO POUPANCA"), Between(0.5, 300.0))),
    (300, Scenario(TransactionType::SameInstitutionTransfer, Credit, Nobody, Fixed("APLICACAO POUPANCA"), Between(50.0, 5000.0))),
    (200, Scenario(TransactionType::SameInstitutionTransfer, Debit, Nobody, Fixed("RESGATE POUPANCA"), Between(50.0, 3000.0))),
    (50, Scenario(TransactionType::Pix, Credit, Person, Party("PIX RECEBIDO"), Between(20.0, 2000.0))),
];

#[rustfmt::skip]
const PREPAID: &[(u32, Scenario)] = &[
    (600, Scenario(TransactionType::Card, Debit, Merchant, Party("COMPRA CARTAO"), Between(5.0, 400.0))),
    (250, Scenario(TransactionType::Pix, Credit, Person, Party("PIX RECEBIDO"), Between(10.0, 800.0))),
    (150, Scenario(TransactionType::Pix, Debit, Person, Party("PIX ENVIADO"), Between(5.0, 500.0))),
];

#[rustfmt::skip]
const COMPANY_CHECKING: &[(u32, Scenario)] = &[
    (300, Scenario(TransactionType::Pix, Credit, Person, Party("PIX RECEBIDO"), Between(20.0, 5000.0))),
    (150, Scenario(TransactionType::Boleto, Credit, Company, Party("LIQUIDACAO BOLETO"), Between(100.0, 20000.0))),
    (150, Scenario(TransactionType::Pix, Debit, Company, Party("PIX ENVIADO"), Between(50.0, 15000.0))),
    (100, Scenario(TransactionType::Boleto, Debit, Company, Party("PAGAMENTO BOLETO"), Between(100.0, 30000.0))),
    (80, Scenario(TransactionType::Payroll, Debit, Person, Party("PAGAMENTO SALARIO"), Between(1500.0, 12000.0))),
    (80, Scenario(TransactionType::Ted, Drawn(0.5), Company, Party(TransactionType::Ted.as_str()), Between(500.0, 80000.0))),
    (60, Scenario(TransactionType::CollectionAgreement, Debit, Utility, Party("PAGTO CONTA"), Between(80.0, 4000.0))),
    (40, Scenario(TransactionType::ServiceFeePackage, Debit, Nobody, Fixed("TARIFA PACOTE EMPRESARIAL"), Between(49.9, 199.9))),
    (25, Scenario(TransactionType::SingleServiceFee, Debit, Nobody, Fixed("TARIFA EMISSAO BOLETO"), Between(1.5, 9.9))),
    (15, Scenario(TransactionType::CreditOperation, Credit, Nobody, Fixed("CAPITAL DE GIRO"), Between(5000.0, 100000.0))),
];

#[rustfmt::skip]
const PERSONAL_CHECKING: &[(u32, Scenario)] = &[
    (220, Scenario(TransactionType::Pix, Debit, Person, Party("PIX ENVIADO"), Between(5.0, 1500.0))),
    (160, Scenario(TransactionType::Pix, Credit, Person, Party("PIX RECEBIDO"), Between(5.0, 1500.0))),
    (200, Scenario(TransactionType::Card, Debit, Merchant, Party("COMPRA CARTAO DEBITO"), Between(5.0, 600.0))),
    (80, Scenario(TransactionType::Boleto, Debit, Company, Party("PAGAMENTO BOLETO"), Between(40.0, 3000.0))),
    (60, Scenario(TransactionType::CollectionAgreement, Debit, Utility, Party("PAGTO CONTA"), Between(30.0, 700.0))),
    (50, Scenario(TransactionType::Payroll, Credit, Employer, Party("SALARIO"), Between(1412.0, 18000.0))),
    (40, Scenario(TransactionType::Ted, Drawn(0.5), Person, PartyByDirection("TED RECEBIDA", "TED ENVIADA"), Between(100.0, 20000.0))),
    (30, Scenario(TransactionType::Withdrawal, Debit, Nobody, Fixed("SAQUE BANCO 24 HORAS"), Tens(20, 1000))),
    (20, Scenario(TransactionType::Deposit, Credit, Nobody, Fixed("DEPOSITO EM DINHEIRO"), Between(50.0, 3000.0))),
    (30, Scenario(TransactionType::SameInstitutionTransfer, Drawn(0.5), PersonHere, PartyByDirection("TRANSF RECEBIDA", "TRANSF ENVIADA"), Between(10.0, 2000.0))),
    (30, Scenario(TransactionType::ServiceFeePackage, Debit, Nobody, Fixed("TARIFA PACOTE SERVICOS"), Between(19.9, 89.9))),
    (15, Scenario(TransactionType::SingleServiceFee, Debit, Nobody, Fixed("TARIFA TED"), Between(5.0, 22.0))),
    (15, Scenario(TransactionType::OverdraftInterest, Debit, Nobody, Fixed("JUROS CHEQUE ESPECIAL"), Between(2.0, 250.0))),
    (15, Scenario(TransactionType::InvestmentIncome, Credit, Nobody, Fixed("RENDIMENTO CDB"), Between(1.0, 400.0))),
    (10, Scenario(TransactionType::InvestmentRedemption, Credit, Nobody, Fixed("RESGATE CDB"), Between(100.0, 10000.0))),
    (10, Scenario(TransactionType::CreditOperation, Drawn(0.3), Nobody,
        ByDirection("CREDITO EMPRESTIMO PESSOAL", "PARCELA EMPRESTIMO PESSOAL"),
        Amount::ByDirection { credit: (150.0, 20000.0), debit: (150.0, 1500.0) })),
    (5, Scenario(TransactionType::SalaryPortability, Credit, Employer, Party("PORTABILIDADE SALARIO"), Between(1412.0, 9000.0))),
    (3, Scenario(TransactionType::Doc, Credit, Person, Party("DOC RECEBIDO"), Between(100.0, 4999.0))),
    (7, Scenario(TransactionType::Other, Credit, Person, Fixed("PENSAO ALIMENTICIA"), Between(300.0, 3000.0))),
];
