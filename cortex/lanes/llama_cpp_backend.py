"""A lane served by the llama.cpp program itself (``llama-completion``), one process per call.

The messages are rendered as ChatML into a prompt file (``-f``: no length limit, and the prompt
does not show in the process list), the program runs without conversation mode and without
echoing the prompt, and what it prints on stdout is the completion; llama.cpp logs, timings
included, go to stderr. Its output ends with `` [end of text]`` when the model stopped by itself
and with a blank line in any case.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cortex.lanes.types import (
    Completion,
    ErrorKind,
    LaneConfig,
    LaneError,
    Message,
    StreamPiece,
    content_text,
)

END_OF_TEXT = " [end of text]\n"
CHATML_STOPS = ("<|im_end|>", "<|im_start|>")  # ChatML markers the model writes as plain text
MAX_DETAIL = 300
_PROMPT_TOKENS = re.compile(r"prompt eval time\s*=\s*[\d.]+\s*ms\s*/\s*(\d+)\s+tokens")
_EVAL_RUNS = re.compile(r"(?<!prompt )eval time\s*=\s*[\d.]+\s*ms\s*/\s*(\d+)\s+runs")
_PROBLEM = re.compile(r"error|failed|unable|assert|abort|too long", re.IGNORECASE)


def render_chatml(messages: list[Message]) -> str:
    """The messages as ChatML, ending with the opening of the assistant's turn."""
    turns = [
        f"<|im_start|>{message.get('role', 'user')}\n{_text(message.get('content'))}<|im_end|>\n"
        for message in messages
    ]
    return "".join(turns) + "<|im_start|>assistant\n"


class LlamaCppBackend:
    """One lane's llama.cpp program and GGUF model."""

    def __init__(self, config: LaneConfig) -> None:
        self.config = config

    def command(self, prompt_file: str, max_tokens: int) -> list[str]:
        """The program's command line (the prompt itself is in ``prompt_file``)."""
        command = [self.config.binary, "-m", self.config.model_path, "-f", prompt_file]
        command += ["-n", str(max_tokens), "-no-cnv", "--no-display-prompt", "--simple-io"]
        command += ["--no-escape", "--no-warmup", "-r", CHATML_STOPS[0]]
        if self.config.context_tokens > 0:
            command += ["-c", str(self.config.context_tokens)]
        return command

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        tools: list[dict[str, Any]] | None = None,  # the program has no tool calling: ignored
    ) -> Completion:
        prompt = render_chatml(messages)
        with tempfile.TemporaryDirectory(prefix="cortex-llama-") as folder:
            prompt_file = Path(folder, "prompt.txt")
            # llama.cpp drops one trailing newline from a prompt file: keep the turn's own.
            prompt_file.write_text(prompt + "\n", encoding="utf-8")
            result = self._run(self.command(str(prompt_file), max_tokens))
        stdout = result.stdout.decode("utf-8", errors="replace")
        stderr = result.stderr.decode("utf-8", errors="replace")
        text, stopped = _completion_text(stdout)
        prompt_tokens = _count(_PROMPT_TOKENS, stderr)
        eval_runs = _count(_EVAL_RUNS, stderr)
        # The timing lines count what llama.cpp evaluated: the prompt, and every generated token
        # but the last (sampled, never fed back). Without them (--no-perf, another build):
        # estimates at about four characters per token.
        completion_tokens = eval_runs + 1 if eval_runs is not None else _estimate(text)
        completion_tokens = min(completion_tokens, max_tokens)
        if prompt_tokens is None:
            prompt_tokens = _estimate(prompt)
        length = not stopped and completion_tokens >= max_tokens
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason="length" if length else "stop",
            model=self.config.model or Path(self.config.model_path).name,
        )

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[StreamPiece]:
        """The whole completion as one piece (the program is run to its end), then the last."""
        completion = self.complete(messages, max_tokens=max_tokens)
        if completion.text:
            yield StreamPiece(text=completion.text)
        yield StreamPiece(
            done=True,
            finish_reason=completion.finish_reason,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
        )

    def probe(self) -> None:
        binary, model = self.config.binary, self.config.model_path
        if not binary or not os.path.isfile(binary) or not os.access(binary, os.X_OK):
            raise self._error("connect", f"the llama.cpp program {binary!r} is not executable")
        if not model or not os.path.isfile(model) or not os.access(model, os.R_OK):
            raise self._error("connect", f"the model file {model!r} is not readable")
        self._run([binary, "--version"])  # runs at all (libraries, architecture)

    def close(self) -> None:
        """Nothing held between calls."""

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[bytes]:
        try:
            result = subprocess.run(  # noqa: S603 - the binary is the operator's configuration
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.config.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:  # run() has killed the process
            raise self._error("timeout", f"no answer within {self.config.timeout}s") from exc
        except OSError as exc:  # missing, not executable, wrong architecture
            reason = exc.strerror or type(exc).__name__
            raise self._error("connect", f"cannot start {command[0]!r}: {reason}") from exc
        if result.returncode != 0:
            stderr = result.stderr.decode("utf-8", errors="replace")
            detail = _stderr_detail(stderr)
            kind: ErrorKind = "client" if "prompt is too long" in stderr else "server"
            raise self._error(kind, f"exit status {result.returncode}: {detail}")
        return result

    def _error(self, kind: ErrorKind, detail: str) -> LaneError:
        return LaneError(kind, f"lane {self.config.lane}: llama.cpp: {detail}")


def _completion_text(stdout: str) -> tuple[str, bool]:
    """The completion in the program's stdout, and whether the model stopped by itself."""
    text = stdout.removesuffix("\n\n")
    stopped = text.endswith(END_OF_TEXT)
    text = text.removesuffix(END_OF_TEXT)
    for marker in CHATML_STOPS:
        if marker in text:
            text, stopped = text.split(marker, 1)[0], True
    return text, stopped


def _stderr_detail(stderr: str) -> str:
    """The line of stderr that says what went wrong, or its last lines."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    problems = [line for line in lines if _PROBLEM.search(line)]
    detail = problems[-1] if problems else " | ".join(lines[-3:])
    if not detail:
        return "nothing on stderr"
    return detail if len(detail) <= MAX_DETAIL else "..." + detail[-(MAX_DETAIL - 3) :]


def _count(pattern: re.Pattern[str], stderr: str) -> int | None:
    matches = pattern.findall(stderr)
    return int(matches[-1]) if matches else None


def _estimate(text: str) -> int:
    return (len(text) + 3) // 4


def _text(content: Any) -> str:
    try:
        return content_text(content)
    except TypeError:  # nothing the program could render
        return ""
