//! The Accounts API operations: from a validated request, through the
//! consent's scope, to the repository, and back in the contract's shape.

use super::AppState;
use super::error::ApiError;
use super::extract::ContractJson;
use super::requests::{
    self, AccountListRequest, AccountRequest, Consent, CurrentTransactionsRequest,
    DiscoveryRequest, RequestMeta, TransactionsRequest,
};
use super::responses::*;
use crate::domain::consent::{
    ACCOUNTS_BALANCES_READ, ACCOUNTS_OVERDRAFT_LIMITS_READ, ACCOUNTS_READ,
    ACCOUNTS_TRANSACTIONS_READ, Scope,
};
use crate::domain::legacy_id::LegacyId;
use crate::domain::window::Statement;
use crate::domain::{money, time};
use crate::repo::{OwnedAccount, StatementQuery};
use axum::Json;
use axum::extract::State;
use rust_decimal::Decimal;

/// Meta of an answer about one resource.
fn single_meta(state: &AppState) -> Meta {
    Meta {
        total_records: 1,
        total_pages: 1,
        request_date_time: time::render_seconds(state.now()),
    }
}

fn amount(value: Decimal, currency: &str) -> Amount {
    Amount {
        amount: money::render(value),
        currency: currency.to_owned(),
    }
}

fn account_type_label(account_type: &str) -> &'static str {
    match account_type {
        "CONTA_DEPOSITO_A_VISTA" => "Conta corrente",
        "CONTA_POUPANCA" => "Conta poupança",
        _ => "Conta de pagamento pré-paga",
    }
}

pub async fn discover(
    State(state): State<AppState>,
    ContractJson(request): ContractJson<DiscoveryRequest>,
) -> Result<Json<DiscoveryResponse>, ApiError> {
    let scope = requests::scope(&request.consent, &request.request_meta)?;
    let accounts = state
        .repo
        .discoverable_accounts(&scope.brand_id, &scope.owner)
        .await?;
    let mut logged_user_name = None;
    let single = accounts.len() == 1;
    let mut resources = Vec::with_capacity(accounts.len());
    for account in accounts {
        // Authorizers are people: the CPF holders of the account, and always
        // the logged user (a company's representative holds no CPF there).
        let mut authorizers: Vec<Authorizer> = account
            .holders
            .0
            .iter()
            .filter(|(document, _)| document.len() == 11)
            .map(|(cpf, name)| Authorizer {
                cpf: cpf.clone(),
                name: name.clone(),
            })
            .collect();
        if !authorizers.iter().any(|a| a.cpf == scope.logged_user) {
            if logged_user_name.is_none() {
                logged_user_name = Some(
                    state
                        .repo
                        .customer_name(&scope.brand_id, &scope.logged_user)
                        .await?
                        .unwrap_or_default(),
                );
            }
            authorizers.insert(
                0,
                Authorizer {
                    cpf: scope.logged_user.clone(),
                    name: logged_user_name.clone().unwrap_or_default(),
                },
            );
        }
        let number = format!("{}-{}", account.number, account.check_digit);
        let label = account_type_label(&account.account_type);
        let mut resource_name = vec![
            Caption {
                key: "name",
                value: account
                    .display_name
                    .unwrap_or_else(|| format!("{label} {number}")),
            },
            Caption {
                key: "accountType",
                value: label.to_owned(),
            },
        ];
        if let Some(branch) = account.branch_code {
            resource_name.push(Caption {
                key: "branch",
                value: branch,
            });
        }
        resource_name.push(Caption {
            key: "number",
            value: number,
        });
        resources.push(DiscoveredResource {
            resource_name,
            resource_legacy_id: account.legacy_id.0,
            authorizers,
            // A lone account is what the customer came to share.
            default_selected: single,
        });
    }
    Ok(Json(DiscoveryResponse {
        data: DiscoveryData { resources },
    }))
}

pub async fn list(
    State(state): State<AppState>,
    ContractJson(request): ContractJson<AccountListRequest>,
) -> Result<Json<Envelope<Vec<AccountData>, Meta>>, ApiError> {
    let scope = requests::scope(&request.consent, &request.request_meta)?;
    let page = requests::page_request(request.page, request.page_size)?;
    requests::check_pagination_key(request.pagination_key.as_deref())?;
    scope.require(ACCOUNTS_READ)?;
    let account_type = request.account_type.map(|t| t.as_str());
    let accounts = state
        .repo
        .consented_accounts(
            &scope.brand_id,
            &scope.owner,
            scope.consented_accounts(),
            account_type,
        )
        .await?;
    let total = accounts.len() as i64;
    if page.is_past_end(total) {
        return Err(ApiError::page_not_found(page.page()));
    }
    let data = page
        .slice(accounts)
        .into_iter()
        .map(|row| AccountData {
            brand_name: row.brand_name,
            company_cnpj: row.company_cnpj,
            account_type: row.account_type,
            compe_code: row.compe_code,
            branch_code: row.branch_code,
            number: row.number,
            check_digit: row.check_digit,
            account_id: row.legacy_id.0,
        })
        .collect();
    Ok(Json(Envelope {
        data,
        meta: Meta {
            total_records: total,
            total_pages: page.total_pages(total),
            request_date_time: time::render_seconds(state.now()),
        },
    }))
}

/// The scope checks every per-account operation makes before reading, in
/// order: a valid consent, the operation's permission, the account among the
/// consented resources. Returns the scope and the account's canonical key.
fn consented_key(
    consent: &Consent,
    meta: &RequestMeta,
    account_id: &LegacyId,
    permission: &'static str,
) -> Result<(Scope, String), ApiError> {
    let scope = requests::scope(consent, meta)?;
    let key = requests::account_key(account_id)?;
    scope.require(permission)?;
    scope.require_consented(&key)?;
    Ok((scope, key))
}

fn not_owned() -> ApiError {
    ApiError::resource_not_found("no account of the consent's owner has this accountId")
}

/// Only available accounts are shared; the others answer their status.
fn require_available(status: &str) -> Result<(), ApiError> {
    match status {
        "AVAILABLE" => Ok(()),
        "TEMPORARILY_UNAVAILABLE" => Err(ApiError::forbidden(
            "STATUS_RESOURCE_TEMPORARY_UNAVAILABLE",
            "the account is temporarily unavailable",
        )),
        _ => Err(ApiError::forbidden(
            "STATUS_RESOURCE_UNAVAILABLE",
            "the account is unavailable",
        )),
    }
}

/// The consented account itself, held by the owner in the brand (else 404)
/// and available.
async fn consented_account(
    state: &AppState,
    consent: &Consent,
    meta: &RequestMeta,
    account_id: &LegacyId,
    permission: &'static str,
) -> Result<OwnedAccount, ApiError> {
    let (scope, key) = consented_key(consent, meta, account_id, permission)?;
    let account = state
        .repo
        .owned_account(&scope.brand_id, &scope.owner, &key)
        .await?
        .ok_or_else(not_owned)?;
    require_available(&account.status)?;
    Ok(account)
}

pub async fn find(
    State(state): State<AppState>,
    ContractJson(request): ContractJson<AccountRequest>,
) -> Result<Json<Envelope<AccountIdentificationData, Meta>>, ApiError> {
    let account = consented_account(
        &state,
        &request.consent,
        &request.request_meta,
        &request.account_id,
        ACCOUNTS_READ,
    )
    .await?;
    Ok(Json(Envelope {
        data: AccountIdentificationData {
            compe_code: account.compe_code,
            branch_code: account.branch_code,
            number: account.number,
            check_digit: account.check_digit,
            account_type: account.account_type,
            subtype: account.subtype,
            currency: account.currency,
        },
        meta: single_meta(&state),
    }))
}

pub async fn balances(
    State(state): State<AppState>,
    ContractJson(request): ContractJson<AccountRequest>,
) -> Result<Json<Envelope<AccountBalancesData, Meta>>, ApiError> {
    let (scope, key) = consented_key(
        &request.consent,
        &request.request_meta,
        &request.account_id,
        ACCOUNTS_BALANCES_READ,
    )?;
    let owned = state
        .repo
        .owned_balances(&scope.brand_id, &scope.owner, &key)
        .await?
        .ok_or_else(not_owned)?;
    require_available(&owned.status)?;
    let balances = owned.record.ok_or_else(|| {
        ApiError::resource_not_found("no balances have been loaded for this account")
    })?;
    let currency = &balances.currency;
    Ok(Json(Envelope {
        data: AccountBalancesData {
            available_amount: amount(balances.available_amount, currency),
            blocked_amount: amount(balances.blocked_amount, currency),
            automatically_invested_amount: amount(balances.automatically_invested_amount, currency),
            update_date_time: time::render_seconds(balances.update_date_time),
        },
        meta: single_meta(&state),
    }))
}

pub async fn overdraft_limits(
    State(state): State<AppState>,
    ContractJson(request): ContractJson<AccountRequest>,
) -> Result<Json<Envelope<AccountOverdraftLimitsData, Meta>>, ApiError> {
    let (scope, key) = consented_key(
        &request.consent,
        &request.request_meta,
        &request.account_id,
        ACCOUNTS_OVERDRAFT_LIMITS_READ,
    )?;
    let owned = state
        .repo
        .owned_overdraft_limits(&scope.brand_id, &scope.owner, &key)
        .await?
        .ok_or_else(not_owned)?;
    require_available(&owned.status)?;
    let data = match owned.record {
        Some(limits) => {
            let currency = &limits.currency;
            AccountOverdraftLimitsData {
                overdraft_contracted_limit: limits
                    .overdraft_contracted_limit
                    .map(|v| amount(v, currency)),
                overdraft_used_limit: limits.overdraft_used_limit.map(|v| amount(v, currency)),
                unarranged_overdraft_amount: limits
                    .unarranged_overdraft_amount
                    .map(|v| amount(v, currency)),
            }
        }
        None => AccountOverdraftLimitsData::default(),
    };
    Ok(Json(Envelope {
        data,
        meta: single_meta(&state),
    }))
}

/// What both statement operations ask for, once their bodies are read.
struct StatementRequest<'a> {
    kind: Statement,
    consent: &'a Consent,
    meta: &'a RequestMeta,
    account_id: &'a LegacyId,
    page: Option<i64>,
    page_size: Option<i64>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    credit_debit: Option<requests::CreditDebit>,
    pagination_key: Option<&'a str>,
    from_field: &'static str,
    to_field: &'static str,
}

pub async fn transactions(
    State(state): State<AppState>,
    ContractJson(request): ContractJson<TransactionsRequest>,
) -> Result<Json<Envelope<Vec<AccountTransactionsData>, StatementMeta>>, ApiError> {
    statement(
        &state,
        StatementRequest {
            kind: Statement::Full,
            consent: &request.consent,
            meta: &request.request_meta,
            account_id: &request.account_id,
            page: request.page,
            page_size: request.page_size,
            from: request.from_booking_date.as_deref(),
            to: request.to_booking_date.as_deref(),
            credit_debit: request.credit_debit_indicator,
            pagination_key: request.pagination_key.as_deref(),
            from_field: "fromBookingDate",
            to_field: "toBookingDate",
        },
    )
    .await
}

pub async fn current_transactions(
    State(state): State<AppState>,
    ContractJson(request): ContractJson<CurrentTransactionsRequest>,
) -> Result<Json<Envelope<Vec<AccountTransactionsData>, StatementMeta>>, ApiError> {
    let (from, to) = request.bounds()?;
    statement(
        &state,
        StatementRequest {
            kind: Statement::Current,
            consent: &request.consent,
            meta: &request.request_meta,
            account_id: &request.account_id,
            page: request.page,
            page_size: request.page_size,
            from,
            to,
            credit_debit: request.credit_debit_indicator,
            pagination_key: request.pagination_key.as_deref(),
            from_field: "fromBookingDateMaxLimited",
            to_field: "toBookingDateMaxLimited",
        },
    )
    .await
}

async fn statement(
    state: &AppState,
    request: StatementRequest<'_>,
) -> Result<Json<Envelope<Vec<AccountTransactionsData>, StatementMeta>>, ApiError> {
    let page = requests::page_request(request.page, request.page_size)?;
    requests::check_pagination_key(request.pagination_key)?;
    let from = requests::booking_date(request.from_field, request.from)?;
    let to = requests::booking_date(request.to_field, request.to)?;
    let account = consented_account(
        state,
        request.consent,
        request.meta,
        request.account_id,
        ACCOUNTS_TRANSACTIONS_READ,
    )
    .await?;
    let now = state.now();
    let window = request
        .kind
        .window(from, to, time::brasilia_date(now))
        .map_err(|error| {
            ApiError::unprocessable("INVALID_BOOKING_DATE_WINDOW", error.to_string())
        })?;
    let size = i64::from(page.size());
    let mut entries = state
        .repo
        .statement(&StatementQuery {
            account_id: account.id,
            from: window.from,
            to: window.to,
            credit_debit: request.credit_debit.map(|c| c.as_str()),
            // One more than the page tells whether another page follows.
            limit: size + 1,
            offset: page.offset(),
        })
        .await?;
    if page.is_missing(entries.len()) {
        return Err(ApiError::page_not_found(page.page()));
    }
    let has_more_records = entries.len() as i64 > size;
    entries.truncate(page.size() as usize);
    let data = entries
        .into_iter()
        .map(|entry| AccountTransactionsData {
            transaction_id: entry.transaction_id.0,
            completed_authorised_payment_type: entry.completed_authorised_payment_type,
            credit_debit_type: entry.credit_debit_type,
            transaction_name: entry.transaction_name,
            transaction_type: entry.transaction_type,
            transaction_amount: amount(entry.amount, &entry.currency),
            transaction_date_time: time::render_millis(entry.transaction_date_time),
            partie_cnpj_cpf: entry.partie_cnpj_cpf,
            partie_person_type: entry.partie_person_type,
            partie_compe_code: entry.partie_compe_code,
            partie_branch_code: entry.partie_branch_code,
            partie_number: entry.partie_number,
            partie_check_digit: entry.partie_check_digit,
        })
        .collect();
    Ok(Json(Envelope {
        data,
        meta: StatementMeta {
            request_date_time: time::render_seconds(now),
            has_more_records,
        },
    }))
}
