#!/usr/bin/env python3
"""Paired timing and the physical limit, for bench/latency.sh.

  latency.py time OUT.json RUNS PREPARE NAME=COMMAND...
      Runs every command RUNS times, interleaved (run 1 of each, then run 2 of each,
      ...), so that load on the machine falls on all of them alike; PREPARE (a shell
      command, e.g. resetting the mock) runs before each. Writes every wall time and
      exit status to OUT.json. A command that exits non-zero is reported, not hidden.

  latency.py limit REPORT.json LATENCY_MS SCENARIO_DIR [--without SUBSTRING]
      The physical limit of a suite at LATENCY_MS per request: the longest chain that
      nothing can shorten. A case's chain is its requests (sent one after the other)
      times the latency plus its waits (`wait:`, Retry-After, repeat intervals), as
      launchgate's JSON report of a run records them; cases sharing a `locks:` name run
      one at a time, so their chains add up. Everything else can run beside the
      longest chain.

  latency.py table OUT.json LIMITS.json
      The markdown table: median and range per command, ratio to the limit.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def time_commands(out, runs, prepare, named):
    results = {name: {"command": cmd, "seconds": [], "exits": []} for name, cmd in named}
    for _ in range(runs):
        for name, cmd in named:
            if prepare:
                subprocess.run(prepare, shell=True, check=True)
            t0 = time.perf_counter()
            p = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            results[name]["seconds"].append(time.perf_counter() - t0)
            results[name]["exits"].append(p.returncode)
    Path(out).write_text(json.dumps(results, indent=2))


def load_locks(scenario_dir):
    """Case id -> lock names, from the scenario files (suite name = dir.file)."""
    import yaml

    locks = {}
    root = Path(scenario_dir)
    for f in sorted(root.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text()) or {}
        suite = f"{root.name}.{f.stem}"
        for c in doc.get("cases", []):
            locks[f"{suite}::{c['name']}"] = sorted(set(c.get("locks", [])))
    return locks


def limit(report_path, latency_ms, scenario_dir, without=None):
    report = json.loads(Path(report_path).read_text())
    locks = load_locks(scenario_dir)
    chains = {}
    for suite in report["suites"]:
        for case in suite["cases"]:
            if case["outcome"] == "skipped" or (without and without in case["id"]):
                continue
            requests = sum(s["attempts"] for s in case["steps"])
            # Requests of one `parallel:` step go at once: one latency, not N.
            parallel = sum(
                s["attempts"] - 1 for s in case["steps"] if "in parallel)" in s["request"]
            )
            waits = sum(
                w["ms"]
                for s in case["steps"]
                for w in s.get("waits", [])
                if w["cause"] in ("wait", "retry_after", "repeat")
            )
            chains[case["id"]] = (requests - parallel) * latency_ms + waits
    groups = {}
    for cid, ms in chains.items():
        for lock in locks.get(cid, []):
            groups.setdefault(lock, []).append(cid)
    best_case = max(chains.items(), key=lambda kv: kv[1])
    candidates = [(best_case[1], f"case `{best_case[0]}`")]
    for lock, members in groups.items():
        candidates.append((sum(chains[m] for m in members), f"lock `{lock}` ({len(members)} cases in series)"))
    ms, why = max(candidates)
    return {"ms": ms, "why": why, "cases": len(chains)}


def table(times_path, limits_path):
    times = json.loads(Path(times_path).read_text())
    limits = json.loads(Path(limits_path).read_text())
    print("| suite | tool | median | range (min–max) | × limit | failed runs |")
    print("|---|---|---|---|---|---|")
    for name, r in times.items():
        suite = name.split(":", 1)[0]
        tool = name.split(":", 1)[1] if ":" in name else name
        s = r["seconds"]
        med = statistics.median(s)
        lim = limits.get(suite)
        ratio = f"{med / (lim['ms'] / 1000):.2f}×" if lim and lim["ms"] > 0 else "–"
        failed = sum(1 for e in r["exits"] if e != 0)
        print(f"| {suite} | {tool} | {med:.3f} s | {min(s):.3f}–{max(s):.3f} s | {ratio} | {failed}/{len(s)} |")
    print()
    for suite, lim in limits.items():
        print(f"- limit of `{suite}`: {lim['ms'] / 1000:.3f} s ({lim['why']}, {lim['cases']} cases)")


def main(argv):
    if argv[1] == "time":
        out, runs, prepare = argv[2], int(argv[3]), argv[4]
        named = [tuple(a.split("=", 1)) for a in argv[5:]]
        time_commands(out, runs, prepare, named)
    elif argv[1] == "limit":
        without = argv[argv.index("--without") + 1] if "--without" in argv else None
        print(json.dumps(limit(argv[2], float(argv[3]), argv[4], without)))
    elif argv[1] == "table":
        table(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
