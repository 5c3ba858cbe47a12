//! A staging target behind a company's own certificate authority, as many are: the
//! certificate is refused with a hint naming the fix, and trusted once
//! `SSL_CERT_FILE` points at the CA. The server is Python's `ssl` module serving a
//! leaf certificate for `localhost` that an rcgen CA signed.

use crate::common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::reports::run_in;

/// Writes `ca.pem`, `cert.pem` and `key.pem` into `dir`: a CA and a `localhost`
/// server certificate it signed.
fn internal_ca(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "launchgate test internal CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).unwrap();
}

/// A Python HTTPS server on `port` answering every request with the contract's
/// 401 envelope; killed when dropped, and it stops by itself after 60 s.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve_tls(dir: &Path, port: u16) -> Server {
    let script = format!(
        r#"
import http.server, ssl, json, threading, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = json.dumps({{"error": {{"code": "AUTH_MISSING_KEY", "message": "No key.", "retry_strategy": "no_retry"}}}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    do_HEAD = do_GET
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", {port}), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("cert.pem", "key.pem")
s.socket = ctx.wrap_socket(s.socket, server_side=True)
threading.Timer(60, lambda: os._exit(0)).start()
s.serve_forever()
"#
    );
    let child = std::process::Command::new("python3")
        .args(["-c", &script])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the TLS server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child)
}

#[test]
fn an_internal_ca_is_refused_with_a_hint_and_trusted_through_ssl_cert_file() {
    let dir = tempfile::tempdir().unwrap();
    internal_ca(dir.path());
    let port = common::tcp::free_port();
    let _server = serve_tls(dir.path(), port);
    let target = format!("https://localhost:{port}");
    let run = |ca: Option<&Path>| {
        let work = tempfile::tempdir().unwrap();
        let mut r = run_in(work.path())
            .args(["-q", "--target", &target, "-k", "missing key"])
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .in_dir()
            .timeout(Duration::from_secs(60));
        if let Some(ca) = ca {
            r = r.env("SSL_CERT_FILE", ca);
        }
        (r.output(), work)
    };
    let (untrusted, _work) = run(None);
    let text = untrusted.out.all();
    assert!(text.contains("TLS handshake failed"), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(text.contains("point SSL_CERT_FILE at a PEM file"), "{text}");

    let (trusted, _work) = run(Some(&dir.path().join("ca.pem")));
    let text = trusted.out.all();
    assert!(!text.contains("TLS handshake failed"), "{text}");
    let report = trusted.json("report.json");
    let step = &report["suites"][0]["cases"][0]["steps"][0];
    assert_eq!(step["status"], 401, "{report}");
}
