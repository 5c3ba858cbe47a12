//! JSONPath (RFC 9535, by `serde_json_path`) with a work budget.
//!
//! `serde_json_path` evaluates a query in one go, with no limit: `$..*..*..*` on a
//! 700-byte body of nested arrays produced hundreds of millions of nodes (1.7 GB), and
//! copying the matches of `$..*` out of a deep 800 KB body took 3.5 GB. A query here is
//! evaluated one top-level segment at a time, node by node, charging every node a
//! segment visits and every node it produces against [`BUDGET`]; copying the matches
//! out is charged too. Over budget, evaluation stops at once with
//! [`QueryError::OverBudget`], which fails the expectation that asked, with the query
//! named. Realistic queries (`$.data[*].id`, `$..id`, filters) on bodies up to the
//! 1 MiB body cap stay far below it.

use std::collections::HashSet;

use serde_json::Value;
use serde_json_path::JsonPath;

/// Units of work (nodes visited, produced or copied) one query may spend: about
/// 8 MB of node references, or a copy of the matches roughly ten times the size of
/// the largest body launchgate keeps.
pub const BUDGET: usize = 1_000_000;

/// Why a query gave no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Not an RFC 9535 JSONPath.
    #[error("bad JSONPath `{path}`: {reason}")]
    Parse {
        /// The query.
        path: String,
        /// What the parser said.
        reason: String,
    },
    /// The query needs more work than [`BUDGET`] allows on this body.
    #[error("the JSONPath `{path}` needs more than {budget} units of work on this body ({stage}), so it was stopped; narrow it (e.g. `$.data[*].id` rather than `$..*`)")]
    OverBudget {
        /// The query.
        path: String,
        /// The budget in force.
        budget: usize,
        /// Where it ran out: evaluating, or copying the matches.
        stage: &'static str,
    },
}

/// Parses a query (for `launchgate check` and for evaluation).
pub fn parse(path: &str) -> Result<JsonPath, QueryError> {
    JsonPath::parse(path).map_err(|e| QueryError::Parse {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

/// The nodes a query selects, in RFC 9535 order, within [`BUDGET`].
pub fn query<'a>(body: &'a Value, path: &str) -> Result<Vec<&'a Value>, QueryError> {
    query_with(body, path, BUDGET)
}

/// [`query`] with another budget (tests).
pub fn query_with<'a>(
    body: &'a Value,
    path: &str,
    budget: usize,
) -> Result<Vec<&'a Value>, QueryError> {
    let whole = parse(path)?;
    let over = |stage| QueryError::OverBudget {
        path: path.to_string(),
        budget,
        stage,
    };
    let Some(segments) = split_segments(path) else {
        return whole_query(body, &whole, path, budget).ok_or_else(|| over("evaluating"));
    };
    if segments.iter().any(|s| s.absolute) {
        // A filter that looks at the root (`$`) cannot be evaluated node by node.
        return whole_query(body, &whole, path, budget).ok_or_else(|| over("evaluating"));
    }
    let mut current = vec![body];
    let mut spent = 0usize;
    for seg in &segments {
        let Ok(step) = JsonPath::parse(&format!("${}", seg.text)) else {
            return whole_query(body, &whole, path, budget).ok_or_else(|| over("evaluating"));
        };
        let mut next = Vec::new();
        for node in current {
            let left = budget.saturating_sub(spent);
            spent = spent.saturating_add(seg.cost(node, left));
            if spent > budget {
                return Err(over("evaluating"));
            }
            let found = step.query(node).all();
            spent = spent.saturating_add(found.len());
            if spent > budget {
                return Err(over("evaluating"));
            }
            next.extend(found);
        }
        current = next;
    }
    Ok(current)
}

/// The selected nodes, copied out, within [`BUDGET`] (the copy is charged too).
pub fn query_cloned(body: &Value, path: &str) -> Result<Vec<Value>, QueryError> {
    let nodes = query(body, path)?;
    let mut weight = 0usize;
    for n in &nodes {
        weight = weight.saturating_add(count_nodes(n, BUDGET + 1).0);
        if weight > BUDGET {
            return Err(QueryError::OverBudget {
                path: path.to_string(),
                budget: BUDGET,
                stage: "copying the matches",
            });
        }
    }
    Ok(nodes.into_iter().cloned().collect())
}

/// JSON Pointers (RFC 6901) of the selected nodes, within [`BUDGET`].
pub fn pointers(body: &Value, path: &str) -> Result<Vec<String>, QueryError> {
    let nodes = query(body, path)?;
    let wanted: HashSet<*const Value> = nodes.iter().map(|n| *n as *const Value).collect();
    let mut out = Vec::new();
    let mut stack = Vec::new();
    let mut spent = 0usize;
    let ok = pointer_walk(body, &wanted, &mut stack, &mut out, &mut spent);
    if ok {
        Ok(out)
    } else {
        Err(QueryError::OverBudget {
            path: path.to_string(),
            budget: BUDGET,
            stage: "locating the matches",
        })
    }
}

fn pointer_walk(
    v: &Value,
    wanted: &HashSet<*const Value>,
    stack: &mut Vec<String>,
    out: &mut Vec<String>,
    spent: &mut usize,
) -> bool {
    *spent += 1;
    if wanted.contains(&(v as *const Value)) {
        *spent += stack.len();
        out.push(stack.iter().map(|s| format!("/{s}")).collect());
    }
    if *spent > BUDGET {
        return false;
    }
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    let children: Box<dyn Iterator<Item = (String, &Value)>> = match v {
        Value::Array(a) => Box::new(a.iter().enumerate().map(|(i, c)| (i.to_string(), c))),
        Value::Object(o) => Box::new(o.iter().map(|(k, c)| (escape(k), c))),
        _ => return true,
    };
    for (key, child) in children {
        stack.push(key);
        let ok = pointer_walk(child, wanted, stack, out, spent);
        stack.pop();
        if !ok {
            return false;
        }
    }
    true
}

/// A whole query evaluated at once, when a worst-case estimate from the body's size
/// fits the budget: each descendant segment (`..`) may visit every node once per node
/// it starts from.
fn whole_query<'a>(
    body: &'a Value,
    whole: &JsonPath,
    path: &str,
    budget: usize,
) -> Option<Vec<&'a Value>> {
    let (n, _) = count_nodes(body, budget + 1);
    let descendants = count_outside_strings(path, "..") as u32;
    let estimate = n.saturating_pow(descendants.saturating_add(1));
    (estimate <= budget).then(|| whole.query(body).all())
}

/// Nodes in a subtree (counting stops past `cap`) and its depth.
fn count_nodes(v: &Value, cap: usize) -> (usize, usize) {
    let mut count = 0usize;
    let mut depth = 0usize;
    let mut stack = vec![(v, 1usize)];
    while let Some((node, d)) = stack.pop() {
        count += 1;
        depth = depth.max(d);
        if count > cap {
            break;
        }
        match node {
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|c| (c, d + 1))),
            _ => {}
        }
    }
    (count, depth)
}

/// One top-level segment of a query, as text (`.a`, `..*`, `[?@.x > 1]`).
#[derive(Debug, PartialEq, Eq)]
struct Segment<'a> {
    text: &'a str,
    descendant: bool,
    filter: bool,
    /// A filter refers to the root (`$`).
    absolute: bool,
    /// Descendant segments inside filters.
    inner_descendants: usize,
}

impl Segment<'_> {
    /// An upper bound of the nodes this segment visits from `node` (at most `cap + 1`
    /// is ever counted).
    fn cost(&self, node: &Value, cap: usize) -> usize {
        let fan = match node {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            _ => 0,
        };
        if !self.descendant && !self.filter {
            return 1 + fan;
        }
        let (n, d) = count_nodes(node, cap.saturating_add(1));
        // A filter runs once per child; a descendant segment at every node below.
        let inner = 1 + self.inner_descendants;
        match (self.descendant, self.filter) {
            (true, true) => n.saturating_mul(d + 1).saturating_mul(inner),
            _ => n.saturating_mul(inner),
        }
    }
}

/// Splits a valid query after its `$` into top-level segments; `None` when the text
/// is not understood (the whole query is then evaluated under an estimate).
fn split_segments(path: &str) -> Option<Vec<Segment<'_>>> {
    let rest = path.trim_start().strip_prefix('$')?;
    let bytes = rest.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let descendant = rest[i..].starts_with("..");
        if descendant {
            i += 2;
        } else if bytes[i] == b'.' {
            i += 1;
        } else if bytes[i] != b'[' {
            return None;
        }
        if i >= bytes.len() {
            return None;
        }
        if bytes[i] == b'[' {
            i = bracket_end(rest, i)?;
        } else if bytes[i] == b'*' {
            i += 1;
        } else {
            let name_len = rest[i..]
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || !c.is_ascii()))
                .map_or(rest.len() - i, |(k, _)| k);
            if name_len == 0 {
                return None;
            }
            i += name_len;
        }
        let text = &rest[start..i];
        let body = &text[if descendant { 2 } else { 0 }..];
        out.push(Segment {
            text,
            descendant,
            filter: count_outside_strings(body, "?") > 0,
            absolute: count_outside_strings(body, "$") > 0,
            inner_descendants: count_outside_strings(body, ".."),
        });
    }
    Some(out)
}

/// The index just past the `]` closing the `[` at `open`, skipping quoted strings and
/// nested brackets and parentheses.
fn bracket_end(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (k, c) in s[open..].char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' | '(' => depth += 1,
            ']' | ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(open + k + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Occurrences of `needle` outside quoted strings.
fn count_outside_strings(s: &str, needle: &str) -> usize {
    let mut plain = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in s.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            // Keeps segments apart: `'a'..` must not join with the text around it.
            plain.push(' ');
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            plain.push(' ');
        } else {
            plain.push(c);
        }
    }
    plain.matches(needle).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(depth: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..depth {
            v = json!([v, v.clone()]);
        }
        v
    }

    #[test]
    fn same_results_as_serde_json_path() {
        let body = json!({
            "data": [{"id": 1, "note": "a", "tags": ["x"]}, {"id": 2, "note": "b.c", "o": {"id": 3}}],
            "a.b": {"id": 4},
            "meta": {"total": 2}
        });
        for p in [
            "$.data[*].id",
            "$..id",
            "$..*",
            "$.data[?@.id > 1].note",
            "$['a.b'].id",
            "$[\"data\"][0:2]['id','note']",
            "$.data[-1]..id",
            "$..[?@.id]",
            "$ .data [0] .tags",
            "$..tags[0]",
            "$.data[?length(@.tags) == 1].id",
            "$.data[?@.id == $.meta.total].note",
            "$.data[?@.o..id].note",
            "$.data[?count(@..id) > 1].note",
        ] {
            let expected: Vec<&Value> = JsonPath::parse(p).expect(p).query(&body).all();
            assert_eq!(query(&body, p).unwrap(), expected, "{p}");
        }
    }

    #[test]
    fn segments_are_split_at_the_top_level_only() {
        let s = split_segments("$.a..b[?@.x == '..$]'][*]..*").unwrap();
        let texts: Vec<&str> = s.iter().map(|s| s.text).collect();
        assert_eq!(texts, [".a", "..b", "[?@.x == '..$]']", "[*]", "..*"]);
        assert!(s[2].filter && !s[2].absolute && s[2].inner_descendants == 0);
        assert!(s[1].descendant && s[4].descendant);
    }

    #[test]
    fn pathological_queries_stop_at_the_budget() {
        let deep = nested(14); // 32767 nodes, depth 15
        let e = query(&deep, "$..*..*..*").unwrap_err();
        assert!(matches!(e, QueryError::OverBudget { .. }), "{e}");
        assert!(e.to_string().contains("$..*..*..*"), "{e}");
        // One descendant segment is fine; copying every match out of a deep body is not.
        assert!(query(&deep, "$..*").is_ok());
        let chain = (0..120).fold(json!("leaf"), |v, _| json!([v, [0, 1, 2, 3, 4, 5, 6, 7]]));
        assert!(query(&chain, "$..*").is_ok());
        assert!(query_with(&deep, "$..*", 1000).is_err());
    }

    #[test]
    fn copying_is_charged() {
        let mut v = json!([1, 2, 3, 4, 5, 6, 7, 8]);
        for _ in 0..100 {
            v = json!([v, vec![0; 64]]);
        }
        // 100 levels of 66 nodes: `$..*` matches ~6,600 nodes whose subtrees add up
        // to ~330,000 nodes; fine under the budget, but not three copies deep.
        assert!(query_cloned(&v, "$..*").is_ok());
        let wide = json!(vec![v.clone(); 8]);
        assert!(matches!(
            query_cloned(&wide, "$..*"),
            Err(QueryError::OverBudget {
                stage: "copying the matches",
                ..
            })
        ));
    }

    #[test]
    fn pointers_of_matches() {
        let body = json!({"a": [{"id": 1}, {"id": 2}], "b/c": {"id": 3}});
        assert_eq!(
            pointers(&body, "$..id").unwrap(),
            ["/a/0/id", "/a/1/id", "/b~1c/id"]
        );
    }
}
