#!/usr/bin/env python3
"""Writes the Hurl equivalents of scenarios/agent-api/*.yaml into bench/hurl/cases/.

One .hurl file per launchgate case (cases sharing a lock share a file, so Hurl's
--jobs cannot run them at the same time). What Hurl cannot express is kept as a
`# NOT EXPRESSIBLE:` comment, and listed in bench/hurl/README.md by `--report`.

Variables the files expect (bench/run.sh passes them with --variable):
  base, key_<name>, fx_<name>, run_id, fake_agent_key, fake_member_key,
  today_<m|p><N>, epoch_<m|p><N>
"""
import json
import re
import sys
from pathlib import Path

import yaml  # PyYAML (Debian: python3-yaml)

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "cases"
TPL = re.compile(r"\{\{\s*(.*?)\s*\}\}")
unexpressible = []


def var_name(expr, case_vars):
    """launchgate template expression -> Hurl expression (without braces)."""
    if expr.startswith("keys."):
        return "key_" + expr[5:]
    if expr.startswith("fixtures."):
        return "fx_" + expr[9:]
    if expr.startswith("vars."):
        name = expr[5:]
        if name in case_vars:
            return case_vars[name]
        return name
    if expr == "run.id":
        return "run_id"
    if expr.startswith("target."):
        return "target_" + expr[7:]
    if expr == "uuid()":
        return "newUuid"
    m = re.fullmatch(r'fake_key\("rl_(agent|member)_"\)', expr)
    if m:
        return f"fake_{m.group(1)}_key"
    m = re.fullmatch(r"(today|epoch)\(([+-]?)(\d*)\)", expr)
    if m:
        sign = "m" if m.group(2) == "-" else "p"
        return f"{m.group(1)}_{sign}{m.group(3) or 0}"
    raise ValueError(f"no Hurl form for {{{{ {expr} }}}}")


def tpl(s, case_vars):
    return TPL.sub(lambda m: "{{" + var_name(m.group(1), case_vars) + "}}", s)


def whole_tpl(v):
    return isinstance(v, str) and TPL.fullmatch(v.strip()) is not None


def typed_tpl(v):
    """A whole template that keeps its JSON type (a capture, a case var, epoch()):
    written unquoted. Keys, fixtures, uuid() and dates are strings: quoted."""
    if not whole_tpl(v):
        return False
    expr = TPL.fullmatch(v.strip()).group(1)
    return expr.startswith("vars.") or expr.startswith("epoch(")


def literal(v, case_vars):
    """A value on the right of a Hurl predicate."""
    if typed_tpl(v):
        return tpl(v.strip(), case_vars)
    if isinstance(v, str):
        return '"' + tpl(v, case_vars).replace('"', '\\"') + '"'
    if v is None:
        return "null"
    return json.dumps(v)


def json_body(v, case_vars, indent=0):
    pad = "  " * indent
    if isinstance(v, dict):
        items = [f'{pad}  {json.dumps(k)}: {json_body(x, case_vars, indent + 1).lstrip()}' for k, x in v.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(v, list):
        return pad + "[" + ", ".join(json_body(x, case_vars).strip() for x in v) + "]"
    if typed_tpl(v):
        return pad + tpl(v.strip(), case_vars)
    if isinstance(v, str):
        return pad + '"' + tpl(v, case_vars).replace('"', '\\"') + '"'
    return pad + json.dumps(v)


TYPES_JSON = {"integer": "isInteger", "string": "isString", "number": "isNumber",
              "boolean": "isBoolean", "array": "isList", "object": "isObject"}


def asserts(subject, m, case_vars, where, header):
    """launchgate matcher -> list of Hurl assert lines."""
    out = []
    num = f"{subject} toInt" if header else subject
    if not isinstance(m, dict):
        if header:
            return [f"{subject} == {json.dumps(str(m)) if not whole_tpl(m) else literal(m, case_vars)}"]
        return [f"{subject} == {literal(m, case_vars)}"]
    for k, v in m.items():
        if k in ("absent",):
            out.append(f"{subject} {'not exists' if v else 'exists'}")
        elif k == "exists":
            out.append(f"{subject} {'exists' if v else 'not exists'}")
        elif k == "type":
            if header:
                if v == "integer":
                    out.append(f'{subject} matches "^-?[0-9]+$"')
                else:
                    out.append(f"{subject} exists")
            elif v == "null":
                out.append(f"{subject} == null")
            else:
                out.append(f"{subject} {TYPES_JSON[v]}")
        elif k in ("ge", "gt", "le", "lt"):
            op = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[k]
            out.append(f"{num} {op} {literal(v, case_vars)}")
        elif k == "not_equals":
            out.append(f"{subject} != {literal(v, case_vars)}")
        elif k == "regex":
            out.append(f"{subject} matches {json.dumps(v)}")
        elif k == "length":
            if isinstance(v, dict):
                if "min" in v:
                    out.append(f"{subject} count >= {v['min']}")
                if "max" in v:
                    out.append(f"{subject} count <= {v['max']}")
            else:
                out.append(f"{subject} count == {v}")
        elif k == "equals":
            out.append(f"{subject} == {literal(v, case_vars)}")
        else:
            out.append(f"# NOT EXPRESSIBLE: {subject} {k}: {json.dumps(v)}")
            unexpressible.append(f"{where}: `{k}` matcher on {subject}")
    return out


def entry(step, base_path, defaults, case_vars, where):
    lines = []
    req = step["request"]
    for g in step.get("guard", []) or []:
        lines.append(f"# NOT EXPRESSIBLE: guard {g.get('value')} {json.dumps(g.get('is'))}")
        unexpressible.append(f"{where}: guard (Hurl cannot make a case inconclusive)")
    if step.get("snapshot"):
        lines.append(f"# NOT EXPRESSIBLE: snapshot {step['snapshot']}")
        unexpressible.append(f"{where}: golden-response snapshot")
    if step.get("warn"):
        lines.append("# NOT EXPRESSIBLE: warn (a non-failing expectation)")
        unexpressible.append(f"{where}: `warn:` (Hurl has no non-failing assert)")
    method = req.get("method", "GET").upper()
    path = tpl(req["path"], case_vars)
    lines.append(f"{method} {{{{base}}}}{base_path}{path}")
    headers = dict(defaults.get("headers", {}) or {})
    headers.update(req.get("headers", {}) or {})
    for n, v in headers.items():
        lines.append(f"{n}: {tpl(str(v), case_vars)}")
    options = []
    if step.get("repeat"):
        rep = step["repeat"]
        options += [f"retry: {int(rep['max']) - 1}", "retry-interval: 0"]
    if step.get("wait"):
        w = step["wait"]
        if whole_tpl(w):
            # Hurl's delay takes milliseconds; launchgate waits the captured Retry-After (s).
            options.append("delay: 2100")
            unexpressible.append(f"{where}: `wait` on a captured Retry-After (fixed 2.1 s delay instead)")
        else:
            options.append(f"delay: {w}")
    if req.get("query"):
        lines.append("[Query]")
        for k, v in req["query"].items():
            for item in (v if isinstance(v, list) else [v]):
                lines.append(f"{k}: {tpl(str(item), case_vars)}")
    if options:
        lines.append("[Options]")
        lines += options
    if "json" in req:
        lines.append(json_body(req["json"], case_vars))
    elif "body" in req:
        lines.append("```")
        lines.append(tpl(req["body"], case_vars))
        lines.append("```")
    exp = step.get("expect", {}) or {}
    status = exp.get("status")
    if isinstance(status, int):
        lines.append(f"HTTP {status}")
    else:
        lines.append("HTTP *")
    captures = []
    for name, c in (step.get("capture") or {}).items():
        if "json" in c:
            # Hurl unwraps a one-node result, as launchgate captures the first node.
            cap = f'{name}: jsonpath "{tpl(c["json"], case_vars)}"'
            if c.get("regex"):
                # Hurl's regex filter keeps the first group, as launchgate's capture regex does.
                cap += " regex " + json.dumps(c["regex"])
            captures.append(cap)
        elif "header" in c:
            # launchgate captures a numeric header as a number; Hurl needs toInt.
            captures.append(f'{name}: header "{c["header"]}" toInt')
        elif c.get("status"):
            captures.append(f"{name}: status")
    if captures:
        lines.append("[Captures]")
        lines += captures
    al = []
    if isinstance(status, list):
        al.append(f'status matches "^({"|".join(str(s) for s in status)})$"')
    elif isinstance(status, str):
        al.append(f'status >= {status[0]}00')
        al.append(f'status < {int(status[0]) + 1}00')
    for h, m in (exp.get("headers") or {}).items():
        al += asserts(f'header "{h}"', m, case_vars, where, True)
    for p, m in (exp.get("json") or {}).items():
        al += asserts(f'jsonpath "{tpl(p, case_vars)}"', m, case_vars, where, False)
    if exp.get("schema"):
        al.append("# NOT EXPRESSIBLE: JSON Schema")
        unexpressible.append(f"{where}: JSON Schema (hurl#543)")
    if al:
        lines.append("[Asserts]")
        lines += al
    return "\n".join(lines) + "\n"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.hurl"):
        old.unlink()
    skipped = []
    files = {}
    for f in sorted((ROOT / "scenarios/agent-api").glob("*.yaml")):
        spec = yaml.safe_load(f.read_text())
        base_path = spec.get("base_path", "")
        defaults = spec.get("defaults", {}) or {}
        for case in spec["cases"]:
            where = f"{f.stem}::{case['name']}"
            if (case.get("requires") or {}).get("target") == "mock":
                skipped.append(f"{where}: embedded mock only (fault injection or golden snapshots); launchgate skips it against a URL too")
                continue
            if any("pages" in st for st in case["steps"]):
                # Hurl has no loop over pages; the later steps read what the walk captured.
                skipped.append(f"{where}: `pages:` walk (Hurl cannot loop until an empty page)")
                continue
            case_vars = {}
            for n, v in (case.get("vars") or {}).items():
                m = TPL.fullmatch(str(v).strip())
                case_vars[n] = var_name(m.group(1), {}) if m else n
            text = f"# {where}\n" + "\n".join(
                entry(s, base_path, defaults, case_vars, where) for s in case["steps"]
            )
            locks = case.get("locks") or []
            key = f"lock-{sorted(locks)[0]}" if locks else re.sub(r"[^a-z0-9]+", "-", where.lower()).strip("-")
            files.setdefault(key, []).append(text)
    for key, parts in files.items():
        (OUT / f"{key}.hurl").write_text("\n".join(parts))
    if "--report" in sys.argv:
        print("\n".join(sorted(set(unexpressible))))
        print("\n".join(skipped))
    print(f"wrote {len(files)} files into {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
