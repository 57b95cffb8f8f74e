"""Reading a user's CSV or Parquet file into validated arrays, with errors that name the problem.

Nothing here touches the database: a file is fully parsed and checked first, so a bad file never
leaves a half-imported dataset behind. One module per part of a file: ``files`` (bytes to text
cells), ``times``, ``values``, ``duplicates`` (repeated times), ``long_format`` (one row per
series and time), and ``reader``, which runs them in order.
"""

from gapcast.ingest.common import (
    MAX_COLUMNS,
    MAX_NAME_LENGTH,
    DecimalMark,
    OnDuplicate,
    ParsedTable,
    check_name,
)
from gapcast.ingest.files import file_stem
from gapcast.ingest.reader import read_file, read_table
from gapcast.ingest.times import TIMESTAMP_NAMES, check_timezone
from gapcast.ingest.values import MISSING_TOKENS

__all__ = [
    "MAX_COLUMNS",
    "MAX_NAME_LENGTH",
    "MISSING_TOKENS",
    "TIMESTAMP_NAMES",
    "DecimalMark",
    "OnDuplicate",
    "ParsedTable",
    "check_name",
    "check_timezone",
    "file_stem",
    "read_file",
    "read_table",
]
