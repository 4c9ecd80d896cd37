"""The source-row column every extracted frame carries: the 1-based row (line) of the record in its
source file, which transform, validate and load keep so that a rejected record names its row.

Its own module at the bottom of etl/, so the stages import it in one direction (extract, transform,
validate and load all depend on it; it depends on nothing)."""
from __future__ import annotations

ROW = "_row"
