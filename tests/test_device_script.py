"""benchmarks/device.sh end to end at tiny sizes on the CPU: every section of the accelerator
benchmarks runs and writes its figures to the one JSON file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytest.importorskip("torch")


SLOW = os.environ.get("JAXGAN_SLOW_TESTS", "") not in ("", "0")


def run_device_script(out, *args):
  env = dict(os.environ, PYTHON=sys.executable, JAXGAN_WHEELS=str(out.parent / "no_wheels"))
  proc = subprocess.run(
      ["bash", os.path.join(REPO, "benchmarks", "device.sh"), "--tiny", "--out", str(out),
       *args], capture_output=True, text=True, env=env, timeout=3600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(out) as f:
    return json.load(f)


def test_device_script_runs_the_dcgan_comparison(tmp_path):
  """The cheap end-to-end run: device.sh, one section, jaxgan against one PyTorch setting."""
  r = run_device_script(tmp_path / "device.json", "--sections", "dcgan64", "--dcgan-dtypes",
                        "float32", "--torch-settings", "fp32")
  assert r["tiny"] is True and r["environment"]["torch"]
  dcgan = r["dcgan64"]
  assert "error" not in dcgan, dcgan
  jax_side, torch_side = dcgan["jaxgan"]["float32"], dcgan["pytorch"]["fp32"]
  assert torch_side["param_counts"] == jax_side["param_counts"]
  assert jax_side["images_per_s"] > 0 and torch_side["images_per_s"] > 0
  assert dcgan["ratio_jaxgan_best_over_pytorch_best"] == pytest.approx(
      jax_side["images_per_s"] / torch_side["images_per_s"], rel=1e-2)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  if not SLOW:
    pytest.skip("every section at tiny sizes (minutes of CPU); run with JAXGAN_SLOW_TESTS=1")
  out = tmp_path_factory.mktemp("device") / "device.json"
  return run_device_script(out, "--dcgan-dtypes", "float32", "--biggan-dtypes", "bfloat16",
                           "--torch-settings", "fp32;bf16+channels_last", "--no-verify")


def test_dcgan_and_biggan_sections_compare_jaxgan_with_pytorch(results):
  assert results["tiny"] is True
  for section, dtype in (("dcgan64", "float32"), ("biggan128", "bfloat16")):
    r = results[section]
    assert "error" not in r, r
    jax_side = r["jaxgan"][dtype]
    assert jax_side["images_per_s"] > 0 and jax_side["compile_s"] > 0
    assert set(r["pytorch"]) == {"fp32", "bf16+channels_last"}
    for setting in r["pytorch"].values():
      assert setting["images_per_s"] > 0, setting
      assert setting["param_counts"] == jax_side["param_counts"]
    best = r["pytorch_best_setting"]
    assert r["ratio_jaxgan_best_over_pytorch_best"] == pytest.approx(
        jax_side["images_per_s"] / r["pytorch"][best]["images_per_s"], rel=1e-2)
  assert results["biggan128"]["bf16_achieved_tflops"] > 0
  assert results["biggan128"]["jaxgan"]["bfloat16"]["xla_flops_per_step"] > 0


def test_memory_section_reports_remat_and_the_largest_batch(results):
  m = results["memory"]
  assert "error" not in m, m
  for key in ("no_remat", "remat"):
    entry = m[key]
    assert all(entry[f"xla_peak_gib_at_{b}"] > 0 for b in m["batches"]), entry
    assert entry["largest_batch_estimate"] > m["batches"][1], entry
  assert "remat_saves_gib_at_batch" in m


def test_style_section_times_stylegan2_and_progan(results):
  for key in ("stylegan2_256", "progan_top"):
    r = results["style"][key]
    assert "error" not in r and r["images_per_s"] > 0, r
