"""`landdesk deliver` and `landdesk briefing --deliver`: send a week's briefing as a delivery file says.

    landdesk briefing --week 2026-W20 --deliver delivery.yaml     # build, archive, then deliver
    landdesk deliver --week 2026-W20 --config delivery.yaml       # re-deliver the archived briefing

Exit codes: 0 every recipient served; 3 some deliveries failed after their retries (the others were made; each
failure is one line on stderr and a row in the delivery history); 2 bad input (the file, a missing secret).
"""
from __future__ import annotations

import argparse
import sys

EXIT_SOME_FAILED = 3


def add_deliver_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--week", help="ISO week like 2026-W20 (default: the last complete week of the data)")
    sp.add_argument("--config", required=True, help="the delivery file (YAML: smtp, recipients, webhooks)")
    sp.add_argument("--out", help="the briefing archive whose files are sent (default: $LANDDESK_BRIEFING_DIR "
                                  "or data/briefings); a file not archived is rendered afresh")
    sp.add_argument("--quiet", action="store_true", help="print only the outcomes")


def report(outcomes) -> int:
    """One line per outcome (failures on stderr); the exit code."""
    for o in outcomes:
        print(o.summary(), file=sys.stdout if o.ok else sys.stderr)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        print(f"landdesk: {len(failed)} of {len(outcomes)} deliveries failed (see above and the delivery history).",
              file=sys.stderr)
        return EXIT_SOME_FAILED
    return 0


def run_deliver(engine, args, config=None) -> int:
    """Deliver the briefing of `args.week` to everyone in `args.config` (or the already-read `config`)."""
    from delivery import deliver_briefing, load_config
    from delivery.run import check_secrets
    config = config or load_config(args.config)
    check_secrets(config)
    quiet = getattr(args, "quiet", False)
    progress = None if quiet else (lambda msg: print(f"landdesk deliver: {msg}", file=sys.stderr, flush=True))
    return report(deliver_briefing(engine, getattr(args, "week", None), config, archive=getattr(args, "out", None),
                                   progress=progress))


def add_alerts_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--rules", required=True, help="the alert rules file (YAML: rules: [{rule: case_due, …}])")
    sp.add_argument("--deliver", metavar="FILE", help="deliver new and changed alerts as this delivery file says "
                                                      "(without it the alerts are only evaluated and stored)")


def run_alerts(engine, args) -> int:
    """Evaluate the rules, store the alerts (deduplicated), deliver the new and changed ones; print a summary."""
    from delivery import load_config
    from delivery.alerts import check, load_rules, message, recent_alerts
    from delivery.run import check_secrets
    rules = load_rules(args.rules)
    config = load_config(args.deliver) if getattr(args, "deliver", None) else None
    if config is not None:
        check_secrets(config)
    state, outcomes = check(engine, rules, config)
    print(f"alerts: {len(state.new)} new, {len(state.changed)} changed, {len(state.unchanged)} unchanged, "
          f"{len(state.resolved)} resolved")
    current = recent_alerts(engine)
    for _, row in current[current["id"].isin(state.new + state.changed)].iterrows():
        print(f"  {message(row, 'en')}")
    return report(outcomes)
