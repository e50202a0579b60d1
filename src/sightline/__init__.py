"""Sightline: an open, self-hosted customer-insights platform for banks and credit unions."""

import os as _os

# Arrow's jemalloc (the pool ingestion uses, `ingest.pipeline._use_jemalloc`) reads its
# options once, when Arrow first touches it - usually at `import pyarrow`, hence here, before
# anything of ours imports it. Arrow's own setting hands freed pages back to the kernel at
# once, so each chunk of a large file faulted its buffers in again (1.5M page faults and ~2.5
# CPU-s of kernel time per 10M rows); kept, they serve the next chunks, and each ingestion run
# returns them when it ends (`release_unused`). An operator's setting wins.
_os.environ.setdefault("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1")

__version__ = "0.1.0"
