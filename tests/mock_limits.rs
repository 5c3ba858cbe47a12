//! The mock under hostile load, as the real binary (issue 17 item 11): abandoned
//! connections cannot exhaust its descriptors, a stalled body gets 408, and the journal
//! is bounded by bytes and read in pages.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::standalone::Standalone;
use crate::common::tcp;

/// `launchgate mock --port 0 ARGS` under `ulimit -n 1024`; stopped on drop.
fn mock(args: &[&str]) -> Standalone {
    Standalone::start_with_fd_limit(1024, args)
}

/// One HTTP/1.0 request on a fresh connection: the status and body, if any answer came.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    tcp::get(addr, path)
}

#[test]
fn eleven_hundred_half_open_connections_do_not_stop_the_mock() {
    let mock = mock(&["--header-timeout", "1s"]);
    let addr = mock.addr;
    let mut held = Vec::new();
    for _ in 0..1100 {
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            // Headers started, never finished.
            let _ = s.write_all(b"GET /api/agent/v1/health HTTP/1.1\r\nHost: x\r\n");
            held.push(s);
        }
    }
    assert!(held.len() > 1024, "only {} connections opened", held.len());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut answer = None;
    while Instant::now() < deadline && answer.is_none() {
        answer = get(addr, "/api/agent/v1/health").filter(|(s, _)| *s == 401);
        if answer.is_none() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    assert!(
        answer.is_some(),
        "the mock stopped answering with {} half-open connections",
        held.len()
    );
}

#[test]
fn a_stalled_body_gets_408() {
    let mock = mock(&["--body-timeout", "1s"]);
    let addr = mock.addr;
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(
        b"POST /api/agent/v1/partner/transactions/purchase HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head:?}");
}

#[test]
fn the_journal_is_bounded_by_bytes_and_read_in_pages() {
    let mock = mock(&["--journal-max-mb", "1"]);
    let addr = mock.addr;
    let long = "a".repeat(8 * 1024);
    for i in 0..700 {
        let (status, _) = get(addr, &format!("/api/agent/v1/partner/cards?{i}={long}"))
            .expect("the mock answers");
        assert_eq!(status, 401);
    }
    let (status, body) = get(addr, "/__launchgate/journal?after=0&limit=100000").unwrap();
    assert_eq!(status, 200);
    let page: Value = serde_json::from_str(&body).unwrap();
    let entries = page["entries"].as_array().unwrap();
    assert!(
        page["first_seq"].as_u64().unwrap() > 1,
        "nothing evicted: {}",
        page["first_seq"]
    );
    assert_eq!(page["max_bytes"], 1024 * 1024);
    assert!(body.len() < 1024 * 1024, "one page of {} bytes", body.len());
    assert!(entries.len() < 700);
    for e in entries {
        let q = e["query"].as_str().unwrap();
        assert!(
            q.len() <= 2048 + '…'.len_utf8(),
            "query of {} bytes",
            q.len()
        );
        assert!(q.ends_with('…'));
    }
    // Pages: a small limit leaves `more`, and the next page starts after it.
    let (_, body) = get(addr, "/__launchgate/journal?after=0&limit=2").unwrap();
    let first: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(first["entries"].as_array().unwrap().len(), 2);
    assert_eq!(first["more"], true);
}
