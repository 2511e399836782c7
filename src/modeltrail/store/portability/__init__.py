"""Backups and portability: a whole store (or one experiment) as newline-delimited JSON, and
its lineage as W3C PROV-JSON.

The NDJSON export is table-level and exact: one line per row, ``{"table": ..., "row": {...}}``,
tables in foreign-key order, every column as stored (ids, times to the microsecond, kind
versions, revisions, fingerprints, edges with their positions, flags). Importing it into an
empty SQLite or PostgreSQL store gives back the same rows, so a store moves between the two
databases without loss. API tokens are never exported (they are credentials, not metadata),
and the notifications plugin's delivery records leave with their webhook URLs masked.
"""

from modeltrail.store.portability.encoding import FORMAT, FORMAT_VERSION, dumps, tables
from modeltrail.store.portability.export import count_rows, export_records
from modeltrail.store.portability.prov import prov_document
from modeltrail.store.portability.restore import ImportRefused, import_records, read_header

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ImportRefused",
    "count_rows",
    "dumps",
    "export_records",
    "import_records",
    "prov_document",
    "read_header",
    "tables",
]
