//! Concurrency of the mock's ledger: no lost awards, no overdraft under racing redeems.

use crate::common::mock as mock_common;

use launchgate::mock::MockOptions;
use mock_common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_purchases_are_all_booked() {
    let h = start(MockOptions::default()).await;
    let card = h.fx("card_id");
    let member = h.fx("member_identifier");
    let before = h.balance(&member, &card).await;
    let total_before = h
        .get("partner_readonly", "/partner/transactions")
        .await
        .body["pagination"]["total"]
        .as_u64()
        .unwrap();

    let mut tasks = Vec::new();
    for i in 0..50i64 {
        let client = h.client.clone();
        let url = h.url("/partner/transactions/purchase");
        let key = h.key("partner");
        let body = json!({ "card_id": card, "member_identifier": member, "points": i + 1, "note": format!("order C-{i}") });
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("X-Agent-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let awarded: i64 = (1..=50).sum();
    assert_eq!(h.balance(&member, &card).await, before + awarded);
    let total_after = h
        .get("partner_readonly", "/partner/transactions")
        .await
        .body["pagination"]["total"]
        .as_u64()
        .unwrap();
    assert_eq!(total_after, total_before + 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redeems_never_overdraw() {
    let h = start(MockOptions::default()).await;
    let card = h.fx("card_id");
    let member = h.fx("zero_member_identifier");
    // Fund the zero-balance member with exactly 20 rewards' worth (reward costs 50).
    let fund = json!({ "card_id": card, "member_identifier": member, "points": 1000 });
    h.post("partner", "/partner/transactions/purchase", &fund)
        .await
        .assert_ok(201);
    let initial = h.balance(&member, &card).await;
    assert_eq!(initial, 1000);

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = h.client.clone();
        let url = h.url("/partner/transactions/redeem");
        let key = h.key("partner_pos");
        let body =
            json!({ "card_id": card, "reward_id": h.fx("reward_id"), "member_identifier": member });
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("X-Agent-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body)
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => {
                ok += 1;
                assert!(body["data"]["new_balance"].as_i64().unwrap() >= 0);
            }
            422 => assert_eq!(body["code"], "INSUFFICIENT_POINTS"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let after = h.balance(&member, &card).await;
    assert!(after >= 0);
    assert!(ok * 50 <= initial);
    assert_eq!(ok, 20, "exactly the funded number of redeems succeed");
    assert_eq!(after, initial - ok * 50);
}
