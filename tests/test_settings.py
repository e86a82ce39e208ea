"""One path for settings (issue 26): a recipe, the settings given and the data's size, merged by
``made.settings`` for the command line and ``MADEDensity`` alike, and the resume rule in one
place. The drift bugs the review found, each a test that failed before.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from made import MADE
from made.cli import OPTIONS, build_parser, main
from made.errors import SettingError
from made.settings import DATA_SETTINGS, MODEL_SETTINGS, TRAIN_SETTINGS, resolve, resume


def _cli(argv: list, capsys) -> tuple[int, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


# ------------------------------------------------------------------------------ resolve
def test_given_settings_replace_the_recipe_and_the_rest_is_explained():
    chosen = resolve("auto", {"lr": 0.01, "hidden_sizes": (32,)}, 100, 20)
    assert chosen.train.lr == 0.01 and chosen.model["hidden_sizes"] == (32,)
    assert "lr" not in chosen.choices and "hidden_sizes" not in chosen.choices
    assert "dropout" in chosen.choices  # sized to the data, and why
    assert set(chosen.model) == set(MODEL_SETTINGS)
    with pytest.raises(ValueError, match="unknown settings"):
        resolve("auto", {"hiden_sizes": (8,)}, 100, 20)


def test_one_mask_has_one_ordering_whatever_the_recipe_said():
    """The auto recipe gives few rows 8 order-agnostic masks; one mask given keeps one
    ordering (it recorded order_agnostic true before), and validation scores one mask."""
    small = resolve("auto", {}, 48, 20)
    assert small.model["num_masks"] == 8 and small.model["order_agnostic"] is True
    assert small.train.eval_ensemble == 8
    one = resolve("auto", {"num_masks": 1}, 48, 20)
    assert one.model["order_agnostic"] is False and one.train.eval_ensemble == 1
    assert one.choices["order_agnostic"] == "one ordering (one mask)"


def test_a_one_mask_run_refuses_marginals_it_cannot_give(tmp_path, capsys):
    """`made train --data small.npy --masks 1` on 60 x 20: the run records one ordering, and
    its model refuses a marginal that is not a prefix of it, as any single-ordering model
    does (it answered one, from an ordering it was never trained on)."""
    np.save(tmp_path / "small.npy", np.random.default_rng(0).integers(0, 2, (60, 20)))
    code, err = _cli(["train", "--data", tmp_path / "small.npy", "--masks", "1", "--hidden",
                      "16", "--epochs", "1", "--out", tmp_path / "r", "--device", "cpu",
                      "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["model"]["num_masks"] == 1 and config["model"]["order_agnostic"] is False
    # and a model that recorded the contradiction (as old runs did) behaves the same
    for agnostic in (False, True):
        model = MADE(20, [16], num_masks=1, order_agnostic=agnostic)
        pattern = torch.zeros(20, dtype=torch.bool)
        pattern[5] = True  # not a prefix of the natural ordering
        with pytest.raises(ValueError, match="one ordering"):
            model.log_marginal(torch.zeros(2, 20, dtype=torch.long), pattern)


def test_both_front_doors_resolve_the_same_settings():
    """`made train --data` and MADEDensity choose from one function: the same recipe, the
    same mixture of Gaussians for real columns (1 and 4 before) and the same batch size for
    a small table (128 and 16 before)."""
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 3))
    density = MADEDensity(n_models=1, max_epochs=1, random_state=0).fit(x)
    model = density.models_[0]
    rows = len(x) - round(0.1 * len(x))
    cli = resolve("auto", {"seed": model.config.seed}, rows, 3)
    assert {k: getattr(model.config, k) for k in MODEL_SETTINGS} == {
        k: tuple(v) if isinstance(v, list) else v for k, v in cli.model.items()
    }
    assert cli.model["num_components"] == 4 and cli.train.batch_size == 8  # < 200 rows
    assert density.fit_results_[0].history  # it trained under those settings


# ------------------------------------------------------------------------------- resume
SAVED = {**resolve("auto", {}, 1000, 20).model, **resolve("auto", {}, 1000, 20).train.to_dict(),
         "source": "/data/a.npy", "conditional": False, "recipe": "auto"}  # fmt: skip


@pytest.mark.parametrize(
    "given, allowed",
    [
        ({"epochs": 2000}, True),
        ({"time_limit": 3600.0}, True),
        ({"source": "/moved/a.npy"}, True),
        ({"lr": SAVED["lr"]}, True),  # equal to the run's
        ({"time_limit": 60.0}, False),  # below the run's 40 minutes: it was allowed and stuck
        ({"epochs": 500}, True),  # fewer, but not below the 3 done (as before)
        ({"epochs": 2}, False),
        ({"lr": 0.1}, False),
        ({"hidden_sizes": (8,)}, False),
    ],
)
def test_a_resume_may_change_epochs_and_only_raise_the_time_limit(given, allowed):
    if allowed:
        changes = resume(SAVED, given, done=3)
        assert changes == {k: v for k, v in given.items() if SAVED[k] != v}
    else:
        with pytest.raises(SettingError):
            resume(SAVED, given, done=3)


def test_lowering_the_time_limit_on_resume_is_refused_by_its_flag(tmp_path, capsys):
    np.save(tmp_path / "d.npy", np.random.default_rng(0).integers(0, 2, (60, 6)))
    code, err = _cli(["train", "--data", tmp_path / "d.npy", "--hidden", "8", "--epochs", "2",
                      "--out", tmp_path / "r", "--device", "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    before = (tmp_path / "r" / "config.json").read_text()
    code, err = _cli(["train", "--out", tmp_path / "r", "--resume", "--time-limit", "1",
                      "--device", "cpu"], capsys)  # fmt: skip
    assert code == 2 and "--time-limit 1 is below this run's 40; a resumed run may only" in err
    assert (tmp_path / "r" / "config.json").read_text() == before
    code, err = _cli(["train", "--out", tmp_path / "r", "--resume", "--time-limit", "60",
                      "--epochs", "3", "--device", "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "r" / "config.json").read_text())["train"]["time_limit"] == 3600


# ------------------------------------------------------------------------ the one table
def test_every_option_that_gives_a_setting_is_in_the_one_table():
    """Each `made train` option maps to a setting made.settings knows, and back."""
    train = build_parser().parse_args(["train"]).train_parser
    dests = {a.dest for a in train._actions} - {"help", "out", "overwrite", "resume", "quiet",
                                                "device"}  # fmt: skip
    assert dests == set(OPTIONS)
    known = (
        set(MODEL_SETTINGS) | set(TRAIN_SETTINGS) | set(DATA_SETTINGS) | {"recipe", "conditional"}
    )
    assert set(OPTIONS.values()) <= known


def test_library_errors_name_settings_and_the_command_line_names_flags(tmp_path, capsys):
    from made.train import NonFiniteLossError

    error = NonFiniteLossError("try a lower {flag:lr} or {flag:grad_clip}")
    assert str(error) == "try a lower lr or grad_clip"
    with pytest.raises(SettingError) as info:
        resume(SAVED, {"lr": 0.5}, done=1)
    assert str(info.value).startswith("lr=0.5 differs from this run's 0.003")
    code, err = _cli(["train", "--out", tmp_path / "nothing", "--device", "tpu"], capsys)
    assert code == 2 and "--device tpu must be auto, cpu or cuda" in err


def test_the_inpainting_region_option_has_one_name_and_the_old_one_still_works(tmp_path, capsys):
    """--region names the part to fill in ("mask" meant four things); --mask still works and
    says which option replaces it."""
    np.save(tmp_path / "img.npy", np.random.default_rng(0).integers(0, 2, (40, 1, 4, 4)))
    assert main(["train", "--data", str(tmp_path / "img.npy"), "--hidden", "8", "--epochs", "1",
                 "--out", str(tmp_path / "r"), "--device", "cpu", "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    for option in ("--region", "--mask"):
        out = tmp_path / f"{option[2:]}.png"
        code = main(["inpaint", str(tmp_path / "r"), option, "top", "-n", "2", "--out", str(out),
                     "--device", "cpu"])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 0 and out.is_file(), err
        assert ("--mask is deprecated; use --region" in err) == (option == "--mask")


def test_the_observed_pattern_has_one_name_and_the_old_one_still_works():
    """``is_observed`` names which values are observed ("mask" names connectivity);
    ``observed_mask`` still works, with a DeprecationWarning, and gives the same answer."""
    model = MADE(6, [16], num_masks=2, order_agnostic=True, seed=0)
    x = torch.randint(0, 2, (4, 6))
    seen = torch.tensor([True, False, True, False, False, True])
    now = model.log_marginal(x, is_observed=seen)
    with pytest.warns(DeprecationWarning, match="is_observed"):
        assert torch.equal(model.log_marginal(x, observed_mask=seen), now)
    g = torch.Generator().manual_seed(0)
    drawn = model.sample(4, generator=g, observed=x, is_observed=seen)
    with pytest.warns(DeprecationWarning, match="is_observed"):
        old = model.sample(4, generator=torch.Generator().manual_seed(0), observed=x,
                           observed_mask=seen)  # fmt: skip
    assert torch.equal(drawn, old)
