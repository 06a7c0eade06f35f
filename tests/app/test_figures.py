"""Figures the app draws that the library did not have yet."""

from workbench.training.plots import overlay_runs


def test_overlay_runs_draws_one_trace_per_run_on_the_chosen_axis():
    rows = {
        "a": [{"type": "train", "step": 1, "tokens": 64, "loss": 3.0}, {"type": "eval", "step": 1, "domain_ppl": 9.0}],
        "b": [{"type": "train", "step": 1, "tokens": 128, "loss": 2.5}, {"type": "train", "step": 2, "tokens": 256}],
    }
    fig = overlay_runs(rows, metric="loss", x="tokens", log_y=True)
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[0].x) == [64] and list(fig.data[1].y) == [2.5]  # rows without the metric are left out
    assert fig.layout.yaxis.type == "log" and fig.layout.xaxis.title.text == "tokens seen"
    assert list(overlay_runs(rows, metric="domain_ppl").data[0].y) == [9.0]


def test_the_training_panels_show_the_first_step_as_a_point():
    """After one optimizer step the loss, learning-rate and tokens/s panels each show a point (a line
    alone draws nothing from one row, leaving an empty chart with a made-up axis)."""
    from workbench.training.plots import training_curves

    fig = training_curves([{"type": "train", "step": 1, "tokens": 128, "loss": 3.2, "lr": 0.0, "tokens_per_s": 410.0}])
    assert [(t.name, list(t.x), list(t.y)) for t in fig.data] == [
        ("loss", [1], [3.2]), ("lr", [1], [0.0]), ("tokens_per_s", [1], [410.0])]
    assert all("markers" in t.mode for t in fig.data)
