//! The contract's enumerations, each word written once.
//!
//! Every enumeration of the Accounts contract that the store keeps or a
//! request names is a type here: parsed once, where it enters (a request
//! body, an import line, a database row), and carried typed from there. The
//! text of each value is the contract's own spelling; the repository stores
//! that text (`repo::codec`).

use std::fmt;
use std::str::FromStr;

/// A text that is not one of an enumeration's values. Its message lists
/// them, as both the API's and the import's errors do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWord {
    pub allowed: &'static [&'static str],
}

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "must be one of {}", self.allowed.join(", "))
    }
}

impl std::error::Error for UnknownWord {}

/// What every enumeration of the contract offers; lets code that handles
/// any of them (a field parser, a database codec) stay generic.
pub trait Word: Copy + FromStr<Err = UnknownWord> + 'static {
    /// Every value, in the contract's order.
    const ALL: &'static [Self];
    /// Every value's text, in the contract's order.
    const TEXTS: &'static [&'static str];
    fn as_str(self) -> &'static str;
}

/// Declares an enumeration: its variants and their texts, once.
macro_rules! contract_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl Word for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const TEXTS: &'static [&'static str] = &[$($text),+];
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl $name {
            /// The contract's spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(text: &str) -> Result<Self, UnknownWord> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownWord { allowed: <Self as Word>::TEXTS }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

contract_enum! {
    /// `EnumAccountType`.
    AccountType {
        CheckingAccount = "CONTA_DEPOSITO_A_VISTA",
        SavingsAccount = "CONTA_POUPANCA",
        PrepaidPaymentAccount = "CONTA_PAGAMENTO_PRE_PAGA",
    }
}

impl AccountType {
    /// How the consent screen names the type, in Portuguese.
    pub fn caption(self) -> &'static str {
        match self {
            Self::CheckingAccount => "Conta corrente",
            Self::SavingsAccount => "Conta poupança",
            Self::PrepaidPaymentAccount => "Conta de pagamento pré-paga",
        }
    }

    /// Prepaid payment accounts are the only ones without a branch.
    pub fn has_branch(self) -> bool {
        self != Self::PrepaidPaymentAccount
    }
}

contract_enum! {
    /// `EnumAccountSubType`.
    AccountSubtype {
        Individual = "INDIVIDUAL",
        JointSimple = "CONJUNTA_SIMPLES",
        JointSolidary = "CONJUNTA_SOLIDARIA",
    }
}

contract_enum! {
    /// An account's status at the bank: only available accounts are
    /// discovered, listed and read; the others answer their status.
    AccountStatus {
        Available = "AVAILABLE",
        TemporarilyUnavailable = "TEMPORARILY_UNAVAILABLE",
        Unavailable = "UNAVAILABLE",
    }
}

contract_enum! {
    /// `EnumCompletedAuthorisedPaymentIndicator`: a statement entry is
    /// completed, or pending (processing, or booked for a future date).
    PaymentStatus {
        Completed = "TRANSACAO_EFETIVADA",
        Future = "LANCAMENTO_FUTURO",
        Processing = "TRANSACAO_PROCESSANDO",
    }
}

impl PaymentStatus {
    /// The pending kinds, which a pending-entries snapshot carries.
    pub const PENDING: [Self; 2] = [Self::Processing, Self::Future];

    pub fn is_completed(self) -> bool {
        self == Self::Completed
    }
}

contract_enum! {
    /// `EnumCreditDebitIndicator`.
    CreditDebit {
        Credit = "CREDITO",
        Debit = "DEBITO",
    }
}

contract_enum! {
    /// `EnumTransactionTypes`.
    TransactionType {
        Ted = "TED",
        Doc = "DOC",
        Pix = "PIX",
        SameInstitutionTransfer = "TRANSFERENCIA_MESMA_INSTITUICAO",
        Boleto = "BOLETO",
        CollectionAgreement = "CONVENIO_ARRECADACAO",
        ServiceFeePackage = "PACOTE_TARIFA_SERVICOS",
        SingleServiceFee = "TARIFA_SERVICOS_AVULSOS",
        Payroll = "FOLHA_PAGAMENTO",
        Deposit = "DEPOSITO",
        Withdrawal = "SAQUE",
        Card = "CARTAO",
        OverdraftInterest = "ENCARGOS_JUROS_CHEQUE_ESPECIAL",
        InvestmentIncome = "RENDIMENTO_APLIC_FINANCEIRA",
        SalaryPortability = "PORTABILIDADE_SALARIO",
        InvestmentRedemption = "RESGATE_APLIC_FINANCEIRA",
        CreditOperation = "OPERACAO_CREDITO",
        Other = "OUTROS",
    }
}

contract_enum! {
    /// `EnumPartiePersonType`: the counterparty of a transaction.
    PersonType {
        Natural = "PESSOA_NATURAL",
        Legal = "PESSOA_JURIDICA",
    }
}

contract_enum! {
    /// The permissions a consent may grant (`consent.permissions`), spelled
    /// as the contract spells them.
    Permission {
        AccountsRead = "ACCOUNTS_READ",
        AccountsBalancesRead = "ACCOUNTS_BALANCES_READ",
        AccountsTransactionsRead = "ACCOUNTS_TRANSACTIONS_READ",
        AccountsOverdraftLimitsRead = "ACCOUNTS_OVERDRAFT_LIMITS_READ",
        CreditCardsAccountsRead = "CREDIT_CARDS_ACCOUNTS_READ",
        CreditCardsAccountsBillsRead = "CREDIT_CARDS_ACCOUNTS_BILLS_READ",
        CreditCardsAccountsBillsTransactionsRead = "CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ",
        CreditCardsAccountsLimitsRead = "CREDIT_CARDS_ACCOUNTS_LIMITS_READ",
        CreditCardsAccountsTransactionsRead = "CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ",
        CustomersPersonalIdentificationsRead = "CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ",
        CustomersPersonalAdittionalinfoRead = "CUSTOMERS_PERSONAL_ADITTIONALINFO_READ",
        CustomersBusinessIdentificationsRead = "CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ",
        CustomersBusinessAdittionalinfoRead = "CUSTOMERS_BUSINESS_ADITTIONALINFO_READ",
        FinancingsRead = "FINANCINGS_READ",
        FinancingsScheduledInstalmentsRead = "FINANCINGS_SCHEDULED_INSTALMENTS_READ",
        FinancingsPaymentsRead = "FINANCINGS_PAYMENTS_READ",
        FinancingsWarrantiesRead = "FINANCINGS_WARRANTIES_READ",
        InvoiceFinancingsRead = "INVOICE_FINANCINGS_READ",
        InvoiceFinancingsScheduledInstalmentsRead = "INVOICE_FINANCINGS_SCHEDULED_INSTALMENTS_READ",
        InvoiceFinancingsPaymentsRead = "INVOICE_FINANCINGS_PAYMENTS_READ",
        InvoiceFinancingsWarrantiesRead = "INVOICE_FINANCINGS_WARRANTIES_READ",
        LoansRead = "LOANS_READ",
        LoansScheduledInstalmentsRead = "LOANS_SCHEDULED_INSTALMENTS_READ",
        LoansPaymentsRead = "LOANS_PAYMENTS_READ",
        LoansWarrantiesRead = "LOANS_WARRANTIES_READ",
        UnarrangedAccountsOverdraftRead = "UNARRANGED_ACCOUNTS_OVERDRAFT_READ",
        UnarrangedAccountsOverdraftScheduledInstalmentsRead = "UNARRANGED_ACCOUNTS_OVERDRAFT_SCHEDULED_INSTALMENTS_READ",
        UnarrangedAccountsOverdraftPaymentsRead = "UNARRANGED_ACCOUNTS_OVERDRAFT_PAYMENTS_READ",
        UnarrangedAccountsOverdraftWarrantiesRead = "UNARRANGED_ACCOUNTS_OVERDRAFT_WARRANTIES_READ",
        BankFixedIncomesRead = "BANK_FIXED_INCOMES_READ",
        CreditFixedIncomesRead = "CREDIT_FIXED_INCOMES_READ",
        FundsRead = "FUNDS_READ",
        VariableIncomesRead = "VARIABLE_INCOMES_READ",
        TreasureTitlesRead = "TREASURE_TITLES_READ",
        ExchangesRead = "EXCHANGES_READ",
        ResourcesRead = "RESOURCES_READ",
    }
}

contract_enum! {
    /// The kinds of resource a consent may name (`consent.resources[].type`).
    ResourceType {
        Account = "ACCOUNT",
        CreditCardAccount = "CREDIT_CARD_ACCOUNT",
        Loan = "LOAN",
        Financing = "FINANCING",
        UnarrangedAccountOverdraft = "UNARRANGED_ACCOUNT_OVERDRAFT",
        InvoiceFinancing = "INVOICE_FINANCING",
        Payment = "PAYMENT",
        BankFixedIncome = "BANK_FIXED_INCOME",
        CreditFixedIncome = "CREDIT_FIXED_INCOME",
        VariableIncome = "VARIABLE_INCOME",
        TreasureTitle = "TREASURE_TITLE",
        Fund = "FUND",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<W: Word + fmt::Debug + PartialEq>() {
        assert_eq!(W::ALL.len(), W::TEXTS.len());
        for (value, text) in W::ALL.iter().zip(W::TEXTS) {
            assert_eq!(value.as_str(), *text);
            assert_eq!(text.parse::<W>().unwrap(), *value);
        }
    }

    #[test]
    fn every_word_parses_back_from_its_text() {
        round_trips::<AccountType>();
        round_trips::<AccountSubtype>();
        round_trips::<AccountStatus>();
        round_trips::<PaymentStatus>();
        round_trips::<CreditDebit>();
        round_trips::<TransactionType>();
        round_trips::<PersonType>();
        round_trips::<Permission>();
        round_trips::<ResourceType>();
        assert_eq!(TransactionType::ALL.len(), 18);
    }

    #[test]
    fn an_unknown_word_lists_the_allowed_ones() {
        let error = "credito".parse::<CreditDebit>().unwrap_err();
        assert_eq!(error.to_string(), "must be one of CREDITO, DEBITO");
        assert!("".parse::<AccountStatus>().is_err());
        assert!("AVAILABLE ".parse::<AccountStatus>().is_err());
    }

    #[test]
    fn serde_uses_the_contract_spelling() {
        let json = serde_json::to_string(&AccountType::PrepaidPaymentAccount).unwrap();
        assert_eq!(json, "\"CONTA_PAGAMENTO_PRE_PAGA\"");
        let parsed: PaymentStatus = serde_json::from_str("\"LANCAMENTO_FUTURO\"").unwrap();
        assert_eq!(parsed, PaymentStatus::Future);
        assert!(serde_json::from_str::<PersonType>("\"PESSOA\"").is_err());
    }

    #[test]
    fn rules_carried_by_the_words() {
        assert!(!AccountType::PrepaidPaymentAccount.has_branch());
        assert!(AccountType::SavingsAccount.has_branch());
        assert_eq!(AccountType::CheckingAccount.caption(), "Conta corrente");
        assert!(PaymentStatus::Completed.is_completed());
        assert!(PaymentStatus::PENDING.iter().all(|p| !p.is_completed()));
    }
}
