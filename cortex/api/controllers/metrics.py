"""/metrics in Prometheus text format (deliberately public, like health).

Every process's counters when PROMETHEUS_MULTIPROC_DIR is set (see docs/metrics.md).
"""

from __future__ import annotations

from litestar import Response, get
from litestar.plugins.prometheus import PrometheusController

from cortex.observability import metrics


class MetricsController(PrometheusController):
    @get(operation_id="metrics", sync_to_thread=True, tags=["health"])
    def get(self) -> Response[bytes]:
        """Collected in a worker thread: some collectors read the read store and the broker."""
        body, content_type = metrics.exposition()
        return Response(body, headers={"Content-Type": content_type})
