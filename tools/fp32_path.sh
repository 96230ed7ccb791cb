#!/usr/bin/env bash
# Runs a command on the numeric path of a CPU without native bf16 (an AVX2-only one), on any machine:
# - UPIT_EXT_MIXED_PRECISION=fp32: every learner's mixed_precision='auto' trains in fp32 (see `auto_precision`);
# - on x86-64 CPUs with AVX2, ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2: torch and oneDNN run their AVX2 kernels, as such a CPU does, and
#   oneDNN reports no native bf16 (so `bf16_supported()` is False too). On an AVX2-only machine these change nothing.
# Usage: tools/fp32_path.sh COMMAND [ARGS...]   e.g.  tools/fp32_path.sh make nbtest
set -euo pipefail
export UPIT_EXT_MIXED_PRECISION=fp32
if [ "$(uname -m)" = x86_64 ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then   # torch trusts the variable: never ask a CPU for what it lacks
  export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2; fi
echo "fp32 path: UPIT_EXT_MIXED_PRECISION=fp32${ATEN_CPU_CAPABILITY:+ ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY ONEDNN_MAX_CPU_ISA=$ONEDNN_MAX_CPU_ISA}: $*"
exec "$@"
