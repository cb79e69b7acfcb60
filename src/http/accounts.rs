//! The Accounts API operations: from a validated request, through the
//! consent's scope, to the repository, and back in the contract's shape.

use super::AppState;
use super::error::ApiError;
use super::extract::ContractJson;
use super::requests::{
    self, AccountListRequest, AccountRequest, Consent, CurrentTransactionsRequest,
    DiscoveryRequest, RequestMeta, StatementAsk, StatementRequest, TransactionsRequest,
};
use super::responses::*;
use crate::domain::consent::Scope;
use crate::domain::discovery;
use crate::domain::legacy_id::LegacyId;
use crate::domain::vocabulary::{AccountStatus, Permission};
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

pub async fn discover(
    State(state): State<AppState>,
    ContractJson(request): ContractJson<DiscoveryRequest>,
) -> Result<Json<DiscoveryResponse>, ApiError> {
    let scope = requests::scope(&request.consent, &request.request_meta)?;
    let accounts = state
        .repo
        .discoverable_accounts(&scope.brand_id, &scope.owner)
        .await?;
    // One name lookup, and only when some account's authorizers need it.
    let logged_user_name = if accounts
        .iter()
        .all(|a| discovery::holds(&a.holders.0, &scope.logged_user))
    {
        String::new()
    } else {
        state
            .repo
            .customer_name(&scope.brand_id, &scope.logged_user)
            .await?
            .unwrap_or_default()
    };
    let single = accounts.len() == 1;
    let resources = accounts
        .into_iter()
        .map(|account| DiscoveredResource {
            authorizers: discovery::authorizers(
                &account.holders.0,
                &scope.logged_user,
                &logged_user_name,
            )
            .into_iter()
            .map(|(cpf, name)| Authorizer { cpf, name })
            .collect(),
            resource_name: discovery::captions(
                account.account_type,
                account.display_name,
                account.branch_code,
                &account.number,
                &account.check_digit,
            )
            .into_iter()
            .map(|(key, value)| Caption { key, value })
            .collect(),
            resource_legacy_id: account.legacy_id.0,
            // A lone account is what the customer came to share.
            default_selected: single,
        })
        .collect();
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
    scope.require(Permission::AccountsRead)?;
    let accounts = state
        .repo
        .consented_accounts(
            &scope.brand_id,
            &scope.owner,
            scope.consented_accounts(),
            request.account_type,
        )
        .await?;
    let total = accounts.len() as i64;
    if page.is_past_end(total) {
        return Err(ApiError::page_not_found(page.page()));
    }
    let data = page
        .slice(accounts)
        .into_iter()
        .map(|(row, brand)| AccountData {
            brand_name: brand.brand_name.clone(),
            company_cnpj: brand.company_cnpj.clone(),
            account_type: row.account_type,
            number: row.number,
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
    permission: Permission,
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
fn require_available(status: AccountStatus) -> Result<(), ApiError> {
    match status {
        AccountStatus::Available => Ok(()),
        AccountStatus::TemporarilyUnavailable => Err(ApiError::forbidden(
            "STATUS_RESOURCE_TEMPORARY_UNAVAILABLE",
            "the account is temporarily unavailable",
        )),
        AccountStatus::Unavailable => Err(ApiError::forbidden(
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
    permission: Permission,
) -> Result<OwnedAccount, ApiError> {
    let (scope, key) = consented_key(consent, meta, account_id, permission)?;
    let account = state
        .repo
        .owned_account(&scope.brand_id, &scope.owner, &key)
        .await?
        .ok_or_else(not_owned)?;
    require_available(account.status)?;
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
        Permission::AccountsRead,
    )
    .await?;
    Ok(Json(Envelope {
        data: AccountIdentificationData {
            number: account.number,
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
        Permission::AccountsBalancesRead,
    )?;
    let owned = state
        .repo
        .owned_balances(&scope.brand_id, &scope.owner, &key)
        .await?
        .ok_or_else(not_owned)?;
    require_available(owned.status)?;
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
        Permission::AccountsOverdraftLimitsRead,
    )?;
    let owned = state
        .repo
        .owned_overdraft_limits(&scope.brand_id, &scope.owner, &key)
        .await?
        .ok_or_else(not_owned)?;
    require_available(owned.status)?;
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

pub async fn transactions(
    State(state): State<AppState>,
    ContractJson(request): ContractJson<TransactionsRequest>,
) -> Result<Json<Envelope<Vec<AccountTransactionsData>, StatementMeta>>, ApiError> {
    statement(&state, Statement::Full, &request).await
}

pub async fn current_transactions(
    State(state): State<AppState>,
    ContractJson(request): ContractJson<CurrentTransactionsRequest>,
) -> Result<Json<Envelope<Vec<AccountTransactionsData>, StatementMeta>>, ApiError> {
    statement(&state, Statement::Current, &request).await
}

/// A page of the consented account's statement, in the window `kind`
/// allows.
async fn statement(
    state: &AppState,
    kind: Statement,
    request: &impl StatementRequest,
) -> Result<Json<Envelope<Vec<AccountTransactionsData>, StatementMeta>>, ApiError> {
    let ask = request.ask()?;
    let (consent, meta, account_id) = request.scope_parts();
    let permission = Permission::AccountsTransactionsRead;
    let account = consented_account(state, consent, meta, account_id, permission).await?;
    let StatementAsk {
        page,
        from,
        to,
        credit_debit,
    } = ask;
    let now = state.now();
    let window = kind
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
            credit_debit,
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
            counterparty: entry.counterparty,
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
