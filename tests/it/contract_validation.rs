//! The validator every test response goes through must catch real breaks,
//! or the suite's contract checks would prove nothing.

use crate::common;

use common::contract::assert_conforms;
use serde_json::{Value, json};

fn balances(amount: &str) -> Value {
    json!({
        "data": {
            "availableAmount": {"amount": amount, "currency": "BRL"},
            "blockedAmount": {"amount": "0.00", "currency": "BRL"},
            "automaticallyInvestedAmount": {"amount": "0.00", "currency": "BRL"},
            "updateDateTime": "2026-11-20T10:00:00Z",
        },
        "meta": {"totalRecords": 1, "totalPages": 1, "requestDateTime": "2026-11-20T15:00:00Z"},
    })
}

const JSON: Option<&str> = Some("application/json");
const ERROR_JSON: Option<&str> = Some("application/json; charset=utf-8");

#[test]
fn a_valid_answer_passes() {
    assert_conforms("/balances", 200, JSON, &balances("-1000.0400"));
}

#[test]
#[should_panic(expected = "breaks the contract")]
fn money_with_five_decimals_fails() {
    assert_conforms("/balances", 200, JSON, &balances("1.00001"));
}

#[test]
#[should_panic(expected = "breaks the contract")]
fn a_missing_required_field_fails() {
    let mut body = balances("1.00");
    body["data"]
        .as_object_mut()
        .unwrap()
        .remove("blockedAmount");
    assert_conforms("/balances", 200, JSON, &body);
}

#[test]
#[should_panic(expected = "breaks the contract")]
fn a_transaction_time_without_milliseconds_fails() {
    let body = json!({
        "data": [{
            "transactionId": [{"key": "id", "value": "1"}],
            "completedAuthorisedPaymentType": "TRANSACAO_EFETIVADA", "creditDebitType": "CREDITO",
            "transactionName": "PIX", "type": "PIX",
            "transactionAmount": {"amount": "1.00", "currency": "BRL"},
            "transactionDateTime": "2026-11-20T10:00:00Z",
        }],
        "meta": {"requestDateTime": "2026-11-20T15:00:00Z", "hasMoreRecords": false},
    });
    assert_conforms("/transactions", 200, JSON, &body);
}

#[test]
#[should_panic(expected = "breaks the contract")]
fn an_error_without_detail_fails() {
    assert_conforms(
        "/find",
        404,
        ERROR_JSON,
        &json!({"errors": [{"code": "X", "title": "Y"}]}),
    );
}

#[test]
#[should_panic(expected = "is not one of")]
fn an_error_with_the_wrong_content_type_fails() {
    let body = json!({"errors": [{"code": "X", "title": "Y", "detail": "Z"}]});
    assert_conforms("/find", 404, Some("text/plain"), &body);
}

#[test]
#[should_panic(expected = "breaks the contract")]
fn an_extra_field_where_the_contract_forbids_it_fails() {
    assert_conforms(
        "/check-account-holder",
        200,
        JSON,
        &json!({"data": {"isAccountHolder": true, "x": 1}}),
    );
}
