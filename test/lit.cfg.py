# -*- Python -*-
# lit configuration for attnc. The site config (generated into the build
# directory) sets the paths; this file sets formats, substitutions, features.

import os
import re
import shutil
import subprocess

import lit.formats

config.name = "attnc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".attn", ".mlir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py", "CMakeLists.txt"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attnc_obj_root, "test")

path = [config.attnc_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))]
config.environment["PATH"] = os.pathsep.join(path)
# The sanitizer options of an ATTNC_SANITIZE build (scripts/sanitize.sh).
for var in ["HOME", "TMPDIR", "LANG", "LC_ALL",
            "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]

config.substitutions.append(("%python", config.python_executable))

# CIRCT's round-trip switch: ATTNC_TEST_VERIFY_ROUNDTRIP=1 makes every
# attnc-opt run also check that its output round-trips (bytecode and text).
if os.environ.get("ATTNC_TEST_VERIFY_ROUNDTRIP"):
    config.substitutions.append(("attnc-opt", "attnc-opt --verify-roundtrip"))
config.substitutions.append(("%attnc_src", config.attnc_src_root))
config.substitutions.append(("%examples", os.path.join(config.attnc_src_root, "examples")))
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))
cuda_root = os.environ.get("CUDA_HOME", "/usr/local/cuda")
config.substitutions.append(("%cuda_root", cuda_root))

if shutil.which("ptxas") or os.path.exists(os.path.join(cuda_root, "bin", "ptxas")):
    config.available_features.add("ptxas")
if shutil.which("nvidia-smi"):
    config.available_features.add("cuda-gpu")

# `attnc run` (the float64 interpreter) is listed by `attnc --help` once this
# build has it; the numpy cross-checks under Integration/ need it.
try:
    _help = subprocess.run([os.path.join(config.attnc_tools_dir, "attnc"), "--help"],
                           capture_output=True, text=True).stdout
except OSError:
    _help = ""
if re.search(r"^\s*attnc run\b", _help, re.M):
    config.available_features.add("attnc-run")
