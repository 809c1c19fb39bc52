"""The PEP 517 build backend behind `pip install .`.

It configures the project with CMake (the same build as scripts/setup.sh: the Debian packages of
scripts/install-deps.sh must be installed), builds the Python module target, and packs the staged
package folder <build>/python/hifp8 into a wheel. Only the standard library is used, so pip has
nothing to fetch from PyPI (pyproject.toml: requires = []).

config settings (pip install . --config-settings KEY=VALUE):
  build-dir   the CMake build folder (default: build/, when scripts/setup.sh configured it for this
              interpreter, else build/python-wheel); an existing, configured one is reused as it is
              configured, e.g. the test build's
  cmake-args  extra CMake arguments for a new build folder, e.g. "-DHIFP8_CUDA=OFF"
"""

import base64
import hashlib
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _metadata(project: dict) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project['description']}",
        f"Requires-Python: {project['requires-python']}",
    ]
    lines += [f"Requires-Dist: {d}" for d in project.get("dependencies", [])]
    for extra, deps in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {d}; extra == "{extra}"' for d in deps]
    return "\n".join(lines) + "\n"


def _wheel_file() -> str:
    return f"Wheel-Version: 1.0\nGenerator: hifp8_build\nRoot-Is-Purelib: false\nTag: {_tag()}\n"


def _tag() -> str:
    python = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{python}-{python}{sys.abiflags}-{platform}"


def _check_prerequisites() -> None:
    """Fails early, naming the fix, when the build or the installed package could not work: pip would
    otherwise build for minutes and then fail to fetch numpy from an unreachable PyPI."""
    problems = []
    # pip's build isolation hides the environment's packages from this process: ask the interpreter
    # as it will run the package, without pip's PYTHONPATH overlay.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONNOUSERSITE")}
    probe = subprocess.run([sys.executable, "-c", "import numpy"], env=env, capture_output=True)
    if probe.returncode != 0:
        problems.append(
            f"numpy is not importable by {sys.executable} (based on {sys.base_prefix}). Make the virtual "
            "environment from Debian's Python, which sees python3-numpy: "
            "/usr/bin/python3 -m venv --system-site-packages .venv (or install numpy into this Python)")
    if not shutil.which("cmake"):
        problems.append("cmake is not on PATH: run scripts/install-deps.sh (Debian package cmake)")
    if not (pathlib.Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        problems.append(f"no Python.h for {sys.executable}: apt-get install python3-dev "
                        "(for Debian's /usr/bin/python3), or use an interpreter built with its headers")
    if not any(pathlib.Path(d, "pybind11Config.cmake").exists()
               for d in ("/usr/lib/cmake/pybind11", "/usr/share/cmake/pybind11", "/usr/local/lib/cmake/pybind11")):
        problems.append("pybind11's CMake package is not installed: apt-get install pybind11-dev "
                        "(scripts/install-deps.sh installs it)")
    if problems:
        raise RuntimeError("hifp8 cannot be built here:\n  - " + "\n  - ".join(problems))


def _default_build_dir() -> pathlib.Path:
    """scripts/setup.sh's build folder when it builds the module for this interpreter (then pip only
    packs what is built: seconds instead of minutes), else a folder of the wheel's own."""
    cache = ROOT / "build" / "CMakeCache.txt"
    if cache.exists():
        entries = dict(line.split("=", 1) for line in cache.read_text(errors="replace").splitlines() if "=" in line)
        python = entries.get("_Python3_EXECUTABLE:INTERNAL", "")
        base = getattr(sys, "_base_executable", sys.executable)
        if entries.get("HIFP8_PYTHON:BOOL") == "ON" and python and os.path.realpath(python) == os.path.realpath(base):
            return ROOT / "build"
    return ROOT / "build" / "python-wheel"


def _build_module(settings: dict) -> pathlib.Path:
    build = pathlib.Path(settings.get("build-dir") or _default_build_dir()).resolve()
    if not (build / "CMakeCache.txt").exists():
        args = ["-DCMAKE_BUILD_TYPE=Release", "-DHIFP8_BUILD_TESTS=OFF", f"-DPython3_EXECUTABLE={sys.executable}"]
        args += shlex.split(settings.get("cmake-args", ""))
        print(f"hifp8_build: configuring {build}", file=sys.stderr, flush=True)
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), *args], check=True, stdout=sys.stderr)
    print(f"hifp8_build: building the Python module in {build}", file=sys.stderr, flush=True)
    subprocess.run(["cmake", "--build", str(build), "--target", "hifp8_python", "-j", str(os.cpu_count() or 1)],
                   check=True, stdout=sys.stderr)
    package = build / "python" / "hifp8"
    if not list(package.glob("_core*.so")):
        raise RuntimeError(f"the build left no _core module in {package} (is HIFP8_PYTHON off in {build}?)")
    return package


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _check_prerequisites()
    project = _project()
    package = _build_module(config_settings or {})
    dist_info = f"{project['name']}-{project['version']}.dist-info"
    files = {f"hifp8/{p.name}": p.read_bytes() for p in sorted(package.iterdir()) if p.is_file()}
    files[f"{dist_info}/METADATA"] = _metadata(project).encode()
    files[f"{dist_info}/WHEEL"] = _wheel_file().encode()
    record = [_record_line(name, data) for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = f"{project['name']}-{project['version']}-{_tag()}.whl"
    path = pathlib.Path(wheel_directory) / wheel
    with zipfile.ZipFile(path.with_suffix(".partial"), "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    path.with_suffix(".partial").rename(path)
    return wheel


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    """The metadata without building (pip asks for it first, so the prerequisites are checked here)."""
    _check_prerequisites()
    project = _project()
    dist_info = pathlib.Path(metadata_directory) / f"{project['name']}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(_metadata(project))
    (dist_info / "WHEEL").write_text(_wheel_file())
    return dist_info.name
