#!/usr/bin/env bash
# llama.cpp's own OpenAI-compatible server (llama-server: continuous batching over --parallel
# slots), built from the llama.cpp sources inside the llama-cpp-python release the lock pins,
# downloaded from PyPI with its hash checked. Not part of the product's install: the batching
# measurement (python -m eval.batching) and anyone serving newsrag's openai backend from
# llama-server use it. Same CPU flags as bootstrap.sh. Idempotent; prints the binary's path.
#   bash scripts/build_llama_server.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF}"
pin=$(grep -A1 -E '^llama-cpp-python==' requirements.txt)
version=$(printf '%s\n' "$pin" | head -1 | sed -E 's/^llama-cpp-python==([^ ]+).*/\1/')
if [ -z "$version" ]; then
  echo "llama-cpp-python is not pinned in requirements.txt" >&2
  exit 1
fi
key=$(printf '%s %s' "$version" "$CMAKE_ARGS" | sha256sum | cut -c1-12)
home="${NEWSRAG_LLAMA_SERVER_DIR:-$HOME/.cache/newsrag/llama-server-$key}"
bin="$home/llama-server"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$home"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%s\n' "$pin" > "$work/pin.txt"
echo "==> llama-cpp-python $version sources (hash-checked)" >&2
python3 -m pip download --quiet --no-deps --no-binary :all: --require-hashes -r "$work/pin.txt" -d "$work" >&2
tar -xzf "$work"/llama_cpp_python-"$version".tar.gz -C "$work"
src="$work/llama_cpp_python-$version/vendor/llama.cpp"
echo "==> building llama-server (about 6 min on 2 cores)" >&2
# no web UI (its assets would be downloaded), no libcurl (no model downloads)
# shellcheck disable=SC2086
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON $CMAKE_ARGS >&2
cmake --build "$work/build" --target llama-server -j "$(nproc)" >&2
cp "$work/build/bin/llama-server" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
