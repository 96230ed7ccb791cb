"`tools/fp32_path.sh` puts any command on the numeric path of CPUs without native bf16, whatever this CPU has (see its header)"
import os, platform, subprocess, sys
import pytest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = ("import torch; from upit_ext.train.learners import auto_precision, bf16_supported, speed_cbs; "
         "print(auto_precision(), bf16_supported(), torch.backends.cpu.get_cpu_capability(), [getattr(c, 'dtype', None) for c in speed_cbs()][0], torch.cuda.is_available())")

def _probe(*wrapper)->list:
    env = {k: v for k, v in os.environ.items() if k != 'UPIT_EXT_MIXED_PRECISION'}
    r = subprocess.run([*wrapper, sys.executable, '-c', PROBE], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.split('\n')[-2].split()

def test_fp32_path_trains_in_fp32_on_avx2_kernels():
    prec, bf16, cap, dtype, _ = _probe('bash', ROOT/'tools'/'fp32_path.sh')
    assert (prec, dtype) == ('None', 'None')     # 'auto' picks fp32: every learner's autocast is off
    if platform.machine() == 'x86_64' and 'avx2' in Path('/proc/cpuinfo').read_text().split():
        assert (bf16, cap) == ('False', 'AVX2')   # torch's AVX2 kernels, and oneDNN without bf16, as on an AVX2-only CPU

def test_default_path_is_this_machines():
    "Without the variable, 'auto' trains in bf16 exactly where it is native (on a CPU; GPUs are `auto_precision`'s other case)"
    prec, bf16, cap, dtype, cuda = _probe()
    if cuda == 'True': pytest.skip('a GPU: auto picks bf16 or fp16 by the GPU')
    assert (prec, dtype) == (('bf16', 'torch.bfloat16') if bf16 == 'True' else ('None', 'None'))
