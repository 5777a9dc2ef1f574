#!/bin/sh
# Install torch's CPU build. On PyPI, `torch` for Linux is the CUDA build (several GB of NVIDIA
# libraries); PyTorch's own CPU index has the CPU build. Use it when this machine can reach it, else
# the configured index (where a CPU wheel may be cached or mirrored, as on the CI machines).
# TORCH_VERSION overrides the version; PIP the pip to use.
set -eu
PIP=${PIP:-pip}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
if $PIP install -q --retries 0 --timeout 10 --index-url https://download.pytorch.org/whl/cpu "torch==$TORCH_VERSION" 2>/dev/null; then
    echo "torch $TORCH_VERSION installed with PyTorch's CPU index as the package index"
else
    echo "PyTorch's CPU index cannot be reached: installing torch==$TORCH_VERSION from the configured index"
    $PIP install -q "torch==$TORCH_VERSION"
fi
