"""The benchmarks' own logic: the loops they time run, and a profile is attributed part by part."""

import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import loop_profile
import pixel_throughput
import plain
import shared_cores
from suite import alternate

LOOP = "_FitLoop.advance (fit_loop.py:1);_TrainingEpochLoop.advance (lightning/pytorch/loops/training_epoch_loop.py:9)"


def test_a_profile_sample_counts_for_the_first_part_whose_frame_it_holds():
    lines = [
        f"main (x.py:1);{LOOP};SequenceModel.training_step (runner/_train/model.py:3);"
        "SequenceModel.forward (runner/_train/model.py:9) 6",
        # clip_grad_norm_ computes a total norm too: that is the handler's time, not the log's
        f"{LOOP};SequenceModel.on_before_optimizer_step (runner/_train/model.py:170);"
        "ClipNorm.__call__ (runner_plugins/grad/clipping.py:1);"
        "_get_total_norm (torch/nn/utils/clip_grad.py:5) 3",
        f"{LOOP};SequenceModel.on_before_optimizer_step (runner/_train/model.py:170);"
        "get_total_norm (torch/nn/utils/clip_grad.py:5) 1",
        f"{LOOP};Adam.step (torch/optim/adam.py:2);Closure.__call__ (automatic.py:1);"
        "_engine_run_backward (graph.py:1) 7",
        f"{LOOP};Adam.step (torch/optim/adam.py:2);_single_tensor_adam (torch/optim/adam.py:347) 2",
        f"{LOOP};_call_lightning_module_hook (call.py:1) 1",
        "main (x.py:1);Trainer.fit (trainer.py:1);_run_sanity_check (trainer.py:1) 50",  # outside the training loop
    ]
    total, counts = loop_profile.shares(lines)
    assert total == 20
    assert counts == {
        "forward of the model": 6,
        "gradient handler (clipping)": 3,
        "gradient norms for the log, clip count": 1,
        "backward": 7,
        "optimizer (update, zero_grad)": 2,
        loop_profile.REST: 1,
    }


def test_alternate_runs_each_in_turn_reversing_the_order_every_other_round():
    calls = []
    results = alternate(*(lambda name=name: calls.append(name) or len(calls) for name in "abc"), repeats=3)
    assert calls == list("abccbaabc")
    assert results == [[1, 6, 7], [2, 5, 8], [3, 4, 9]]


@pytest.mark.parametrize("loop", [plain.adding, plain.adding_lightning])
def test_the_adding_loops_report_their_tokens_per_second(loop):
    assert loop(plain.WARMUP + 3, "cpu", seq_len=5, hidden=8, batch=4) > 0


def test_the_pixel_loop_reads_the_images_at_the_papers_settings_and_reports_its_pixels_per_second():
    assert plain.pixels(plain.WARMUP + 3, "cpu", pixels_per_step=28, hidden=8) > 0


def test_pixel_throughput_gives_the_medians_and_the_per_pair_ratio_of_runner_to_plain():
    meta = {"date": "D", "machine": "CPU (avx2), 2 cores, torch T", "command": "C", "data": "sfmnist", "steps": 60}
    text = pixel_throughput.markdown([78400.0, 39200.0, 70560.0], [78400.0, 78400.0, 78400.0], meta)
    assert text.startswith("# Sequential pixels at the papers' shape, runner against a plain loop (D, CPU (avx2)")
    assert "| runner | 70560 | 1111 |" in text  # median pixels/s, and 100 x 784 pixels at that rate
    assert "| plain loop | 78400 | 1000 |" in text
    assert "runner / plain: median 0.900, range 0.500-1.000, 3 pairs." in text


def test_shared_cores_pairs_two_runs_together_summed_against_one_alone_per_repetition():
    rows = {
        "alone, shared": [[100.0], [80.0]],
        "together, shared": [[70.0, 60.0], [50.0, 50.0]],
        "alone, not shared": [[100.0], [100.0]],
        "together, not shared": [[20.0, 21.0], [22.0, 19.0]],
    }
    ratios = shared_cores.ratios(rows)
    assert ratios["together / alone, shared"] == {"median": 1.275, "min": 1.25, "max": 1.3, "n": 2}
    assert ratios["together / alone, not shared"] == {"median": 0.41, "min": 0.41, "max": 0.41, "n": 2}
    assert ratios["alone, shared / not shared"] == {"median": 0.9, "min": 0.8, "max": 1.0, "n": 2}
    meta = {"date": "D", "machine": "CPU (avx2), 2 cores, torch T", "command": "C", "steps": 20, "repeats": 2}
    text = shared_cores.markdown(rows, meta)
    assert text.startswith("# Two runs on one machine, cores shared or not (D, CPU (avx2), 2 cores, torch T)")
    assert "| together, shared | 55 | 115 |" in text  # each run's median, the sums' median
    assert "| together / alone, shared | 1.27 | 1.25-1.30 | 2 |" in text
