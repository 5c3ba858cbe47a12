//! A standalone `launchgate mock` process on a loopback port, used as a *real*
//! (URL) target: a run cannot tell it from a staging server. It prints its URL,
//! keys and fixture ids; the starter reads them and checks they are what the
//! mock serves at `/__launchgate/fixtures`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::tcp;

/// The process, its URL and the keys and fixtures it printed; killed on drop.
pub struct Standalone {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub addr: SocketAddr,
    /// Fixture keys by name (`partner`, `partner_pos`, ...).
    pub keys: BTreeMap<String, String>,
    /// Fixture ids by name (`card_id`, `member_identifier`, ...).
    pub fixtures: BTreeMap<String, String>,
}

impl Standalone {
    /// `launchgate mock --port 0 ARGS...`.
    pub fn start(args: &[&str]) -> Standalone {
        let mut cmd = super::process();
        cmd.args(["mock", "--port", "0"]).args(args);
        Standalone::spawn(cmd)
    }

    /// The same under `ulimit -n LIMIT` (a shell applies it, then becomes the mock).
    pub fn start_with_fd_limit(limit: u32, args: &[&str]) -> Standalone {
        let mut cmd = super::command("sh");
        cmd.arg("-c")
            .arg(format!(
                "ulimit -n {limit} && exec \"$0\" mock --port 0 \"$@\""
            ))
            .arg(super::bin_path())
            .args(args);
        Standalone::spawn(cmd)
    }

    fn spawn(mut cmd: Command) -> Standalone {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mock starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let first = lines.next().expect("a first line").expect("utf-8");
        let url = first.rsplit(' ').next().unwrap_or_default().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{first}");
        let (mut keys, mut fixtures) = (BTreeMap::new(), BTreeMap::new());
        let mut section = "";
        for line in lines.by_ref() {
            let line = line.expect("utf-8");
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["press", ..] => break,
                ["keys", ..] => section = "keys",
                ["fixtures:"] => section = "fixtures",
                [name, value] if line.starts_with("  ") => {
                    let map = if section == "keys" {
                        &mut keys
                    } else {
                        &mut fixtures
                    };
                    map.insert(name.to_string(), value.to_string());
                }
                _ => {}
            }
        }
        // Keep draining: a closed pipe would make the mock's next println! fail.
        std::thread::spawn(move || lines.for_each(drop));
        let mock = Standalone {
            child,
            addr: tcp::addr_of(&url),
            url,
            keys,
            fixtures,
        };
        assert!(
            mock.keys.len() > 10 && mock.fixtures.len() > 10,
            "{:?} {:?}",
            mock.keys,
            mock.fixtures
        );
        // What it printed is what it serves.
        let served = mock.served_fixtures();
        for (section, printed) in [("keys", &mock.keys), ("fixtures", &mock.fixtures)] {
            let served: BTreeMap<String, String> = served[section]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            assert_eq!(&served, printed, "printed and served {section} differ");
        }
        mock
    }

    /// `/__launchgate/fixtures`: `{"keys": {...}, "fixtures": {...}}`.
    pub fn served_fixtures(&self) -> Value {
        let (status, body) =
            tcp::get(self.addr, "/__launchgate/fixtures").expect("the mock answers");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("the mock lists its fixtures")
    }

    /// The value of a printed key.
    pub fn key(&self, name: &str) -> String {
        self.keys
            .get(name)
            .unwrap_or_else(|| panic!("no key {name}"))
            .clone()
    }

    /// The value of a printed fixture.
    pub fn fixture(&self, name: &str) -> String {
        self.fixtures
            .get(name)
            .unwrap_or_else(|| panic!("no fixture {name}"))
            .clone()
    }

    /// Every input the built-in suite asks a staging environment for, as
    /// `LAUNCHGATE_*` variables, with the point-of-sale key as the integration's key.
    pub fn staging_env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "LAUNCHGATE_PARTNER_KEY".to_string(),
            self.key("partner_pos"),
        )];
        for k in [
            "partner_readonly",
            "member",
            "member_readonly",
            "disabled_partner",
            "ratelimit",
            "revoked",
            "expired",
            "inactive_partner",
            "member_inactive",
            "member_anonymous",
        ] {
            env.push((format!("LAUNCHGATE_{}_KEY", k.to_uppercase()), self.key(k)));
        }
        for f in [
            "card_id",
            "reward_id",
            "expensive_reward_id",
            "member_identifier",
            "foreign_card_id",
            "foreign_member_identifier",
        ] {
            env.push((format!("LAUNCHGATE_{}", f.to_uppercase()), self.fixture(f)));
        }
        env
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
