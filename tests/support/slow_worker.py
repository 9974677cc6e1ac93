"""`cortex worker`, except that chunking first announces itself and then hangs: a worker to kill
in the middle of a job (after the text was extracted and recorded, before the chunks were)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from cortex.application import ingest_pipeline
from cortex.cli import main


def hang(*args: Any, **kwargs: Any) -> Any:
    Path(os.environ["SLOW_WORKER_MARKER"]).write_text(str(os.getpid()))
    time.sleep(3600)
    raise AssertionError("the test should have killed this worker")


if __name__ == "__main__":
    ingest_pipeline.chunk_text = hang  # type: ignore[assignment]
    sys.exit(main(["worker", "--threads", "1"]))
