"""/metrics in Prometheus text format (deliberately public, like health)."""

from __future__ import annotations

from litestar import Response, get
from litestar.plugins.prometheus import PrometheusController
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


class MetricsController(PrometheusController):
    @get(operation_id="metrics", sync_to_thread=True, tags=["health"])
    def get(self) -> Response[bytes]:
        """Collected in a worker thread: some collectors read the read store."""
        return Response(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})
