"""What one load did (`BatchResult`) and how the command line says it: a module of its own, below the loaders of
mappings (etl.load) and of reference processes (etl.reference), which both return one."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

@dataclass
class BatchResult:
    """What one load did; `summary()` is the line the CLI prints."""
    batch_id: int | None
    mapping: str
    dataset: str
    source: str
    status: str  # 'loaded' | 'skipped' | 'failed'
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    cases_derived: int
    seconds: float
    message: str = ""
    #: records this load updated that another mapping file of the same system wrote: {mapping name: count}
    from_other_mappings: dict[str, int] | None = None

    def summary(self) -> str:
        src = Path(self.source).name if "://" not in self.source else self.source
        head = f"batch {self.batch_id}" if self.batch_id is not None else "no batch"
        if self.status == "skipped":
            return f"{head} skipped {self.dataset} from {src}: {self.message or 'already loaded'}"
        if self.status == "failed" and not self.source:      # the mapping itself could not be read
            return f"{Path(self.mapping).name} was not loaded: {self.message}"
        if self.status == "failed":
            return f"{head} failed {self.dataset} from {src}: {self.message}"
        cases = f" ({self.cases_derived} cases)" if self.dataset == "case_events" else ""
        return (f"{head} loaded {self.dataset} from {src}: {self.rows_read} read, {self.rows_loaded} loaded{cases}, "
                f"{self.rows_rejected} rejected in {self.seconds:.1f} s{other_mappings_note(self.dataset, self.from_other_mappings)}")


#: What a record of each dataset is called in a load's report.
RECORD_NOUNS = {"cases": "cases", "case_events": "cases", "petitions": "petitions", "land_supply": "supply records"}


def other_mappings_note(dataset: str, counts: dict[str, int] | None) -> str:
    """'; 12 cases first loaded by approval_cases.yaml updated' for each other mapping whose records a load updated."""
    if not counts:
        return ""
    noun = RECORD_NOUNS.get(dataset, "records")
    return "".join(f"; {n} {noun} first loaded by {name} updated" for name, n in sorted(counts.items()))
