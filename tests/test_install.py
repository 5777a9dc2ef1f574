"""An ordinary install, as a user makes one: the wheel built from this checkout, in fresh venvs outside it.

- The core install (`pip install tasrih`) has no torch: `tasrih classify` and the Python API run the
  shipped model on onnxruntime + tokenizers + numpy.
- The `train` extra (with torch's CPU build) trains `experiment=smoke` from the installed configs.
Both run in a folder that is not the checkout, so nothing can be read from it by accident.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SEED_TEXT

pytestmark = pytest.mark.slow


def run(cmd: list[str], cwd: Path, timeout: int = 900, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, **kw)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)], cwd=out)
    (whl,) = out.glob("tasrih-*.whl")
    return whl


def venv(path: Path) -> Path:
    run([sys.executable, "-m", "venv", str(path)], cwd=path.parent)
    return path / "bin"


def test_core_install_classifies_with_no_torch(wheel, tmp_path):
    bin_ = venv(tmp_path / "venv")
    run([str(bin_ / "pip"), "install", "-q", str(wheel)], cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(SEED_TEXT, work / "article.txt")
    r = run([str(bin_ / "tasrih"), "classify", "article.txt"], cwd=work)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 12 and all(row["label"] in ("none", "accusation", "denial", "agreement", "demand")
                                   for row in rows)
    probe = ("import sys\nfrom infer.predict import Tasrih\nm = Tasrih.from_pretrained()\n"
             "print(m.backend, m.predict('نفت الوزارة صحة التقارير.')[0]['label'] in m.config.id2label.values())\n"
             "print('torch' in sys.modules, 'transformers' in sys.modules)\n"
             "import importlib.util\nprint(importlib.util.find_spec('torch') is None)\n")
    out = run([str(bin_ / "python"), "-c", probe], cwd=work).stdout.split()
    assert out == ["onnx", "True", "False", "False", "True"]


def test_train_extra_trains_from_the_installed_configs(wheel, tmp_path):
    bin_ = venv(tmp_path / "venv")
    env = {**os.environ, "PIP": str(bin_ / "pip")}
    subprocess.run(["sh", str(REPO / "scripts" / "install_torch.sh")], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=900)
    run([str(bin_ / "pip"), "install", "-q", f"{wheel}[train]"], cwd=tmp_path)
    work = tmp_path / "elsewhere"
    shutil.copytree(REPO / "data", work / "data", ignore=shutil.ignore_patterns("annotation"))
    r = run([str(bin_ / "tasrih"), "train", "experiment=smoke", "output_dir=run", "data.eval_splits=[dev]"], cwd=work)
    assert "run directory: run" in r.stdout or (work / "run" / "metrics.json").is_file()
    metrics = json.loads((work / "run" / "metrics.json").read_text())
    assert metrics["train"]["steps"] == 2 and metrics["splits"]["dev"]["n_examples"] > 400
    r = run([str(bin_ / "tasrih"), "classify", str(SEED_TEXT), "--model", "run", "--format", "table"], cwd=work)
    assert len(r.stdout.strip().splitlines()) == 13  # a header and the 12 sentences


def test_core_install_says_which_extra_a_training_command_needs(wheel, tmp_path):
    bin_ = venv(tmp_path / "venv")
    run([str(bin_ / "pip"), "install", "-q", str(wheel)], cwd=tmp_path)
    r = subprocess.run([str(bin_ / "tasrih"), "train", "experiment=smoke"], cwd=tmp_path, capture_output=True,
                       text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == ("tasrih: error: train needs hydra, which the core install leaves out: training, "
                                "evaluation, export and the other model-building commands need the 'train' extra, "
                                "pip install 'tasrih[train]' (install torch's CPU build first: sh "
                                "scripts/install_torch.sh)")
