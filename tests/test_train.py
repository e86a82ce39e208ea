"""The training loop: it learns, is reproducible, resumes exactly, stops early, follows its
schedule, never breeds denormals, stops on NaN, and runs data-parallel."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import whole_and_resumed

from made import MADE, TrainConfig, evaluate_nll, load_checkpoint
from made.data import load_data
from made.train import NonFiniteLossError, fit


@pytest.fixture(scope="module")
def data():
    return load_data("bars-and-stripes", seed=0)


def _fit(data, epochs=3, **kwargs):
    model = MADE(data.shape, [128], seed=1)
    cfg = TrainConfig(epochs=epochs, batch_size=50, lr=1e-2, seed=2, **kwargs)
    return model, fit(model, data.train[:2000], data.valid[:300], cfg)


def test_training_lowers_nll_and_restores_the_best_epoch(data):
    before = evaluate_nll(MADE(data.shape, [128], seed=1), data.valid[:300]).nll
    model, result = _fit(data)
    assert len(result.history) == 3
    assert result.best_valid_nll < before - 20  # 44 nats untrained (uniform), about 10 after
    assert result.best_valid_nll == min(h["valid_nll"] for h in result.history)
    assert evaluate_nll(model, data.valid[:300]).nll == pytest.approx(result.best_valid_nll)


def test_training_is_reproducible(data):
    a, ra = _fit(data)
    b, rb = _fit(data)
    assert [h["train_loss"] for h in ra.history] == [h["train_loss"] for h in rb.history]
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_masks_cycle_during_training(data):
    model = MADE(data.shape, [32], num_masks=3, seed=0)
    cfg = TrainConfig(epochs=1, batch_size=100, mask_every=2, eval_ensemble=3)
    steps = []
    fit(model, data.train[:700], data.valid[:100], cfg, on_step=lambda i: steps.append(i["step"]))
    assert steps == [1, 2, 3, 4, 5, 6, 7]
    assert model.mask_index == 3 % 3  # 7 steps, a new mask every 2: three changes


def _flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_resume_continues_exactly(data, tmp_path):
    cfg = TrainConfig(epochs=4, batch_size=64, lr=3e-3, seed=5, log_every=10, schedule="cosine")
    train, valid = data.train[:1000], data.valid[:200]
    whole, full, resumed, part = whole_and_resumed(
        lambda: MADE(data.shape, [48], num_masks=2, seed=3), train, valid, cfg, tmp_path
    )
    assert part.resumed_from == 3
    keys = ("epoch", "step", "train_loss", "valid_nll", "lr")
    assert [[h[k] for k in keys] for h in part.history] == [
        [h[k] for k in keys] for h in full.history
    ]
    assert torch.equal(_flat(resumed), _flat(whole))  # bit for bit on the CPU
    lines = [json.loads(x) for x in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    epochs = [x["epoch"] for x in lines if "valid_nll" in x]
    assert epochs == [1, 2, 3, 4]  # no line repeated by the resumed epochs
    steps = [x["step"] for x in lines if "valid_nll" not in x]
    assert steps == sorted(set(steps))


def test_early_stopping_and_plateau_schedule(data):
    # Training on blank images while validating on full ones: validation only gets worse.
    train = torch.zeros(500, 1, 8, 8, dtype=torch.long)
    valid = torch.ones(100, 1, 8, 8, dtype=torch.long)
    model = MADE(data.shape, [16], seed=0)
    cfg = TrainConfig(epochs=20, lr=1e-2, patience=3, schedule="plateau", plateau_patience=1)
    result = fit(model, train, valid, cfg)
    assert result.stopped_early and len(result.history) == 4 and result.best_epoch == 1
    lrs = [h["lr"] for h in result.history]
    assert lrs[0] == 1e-2 and lrs[-1] < lrs[0]
    assert evaluate_nll(model, valid).nll == pytest.approx(result.history[0]["valid_nll"])


def test_min_epochs_chooses_the_best_epoch_from_there_on(data):
    """Validation that only gets worse stops a run at its first epoch; with ``min_epochs``
    the best epoch is chosen from that epoch on, patience counting from it, and the model
    returned is that epoch's."""
    train = torch.zeros(500, 1, 8, 8, dtype=torch.long)
    valid = torch.ones(100, 1, 8, 8, dtype=torch.long)
    model = MADE(data.shape, [16], seed=0)
    result = fit(model, train, valid, TrainConfig(epochs=20, lr=1e-2, patience=2, min_epochs=5))
    assert result.stopped_early and len(result.history) == 7 and result.best_epoch == 5
    assert result.history[4]["valid_nll"] > result.history[0]["valid_nll"]
    assert result.best_valid_nll == result.history[4]["valid_nll"]
    assert evaluate_nll(model, valid).nll == pytest.approx(result.history[4]["valid_nll"])
    short = fit(MADE(data.shape, [16], seed=0), train, valid,
                TrainConfig(epochs=3, lr=1e-2, min_epochs=5))  # fmt: skip
    assert len(short.history) == 3 and short.best_epoch == 3  # the cap still bounds the run


def test_resuming_a_run_that_stopped_early_trains_nothing_more(tmp_path):
    train = torch.zeros(500, 1, 8, 8, dtype=torch.long)
    valid = torch.ones(100, 1, 8, 8, dtype=torch.long)
    cfg = TrainConfig(epochs=20, lr=1e-2, patience=2)
    model = MADE((1, 8, 8), [16], seed=0)
    first = fit(model, train, valid, cfg, run_dir=tmp_path)
    assert first.stopped_early and len(first.history) == 3
    again = MADE((1, 8, 8), [16], seed=5)
    second = fit(again, train, valid, cfg, run_dir=tmp_path, resume=True)
    assert second.stopped_early and second.history == first.history
    assert _flat(again).equal(_flat(model))  # the best epoch's weights, as the first run ended


def test_cosine_schedule(data):
    _, result = _fit(data, epochs=4, schedule="cosine")
    expected = [1e-2 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert [h["lr"] for h in result.history] == pytest.approx(expected)


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "adagrad"])
def test_weight_decay_leaves_no_denormals(data, optimizer):
    # Masked-out weights that decay geometrically would become denormal floats and slow every
    # matrix product; made keeps every weight no mask uses at exactly zero.
    model = MADE(data.shape, [64, 64], seed=0)
    unused = [~layer.mask for layer in model.net.layers()]
    cfg = TrainConfig(epochs=3, batch_size=50, lr=1e-2, optimizer=optimizer, weight_decay=0.5)
    fit(model, data.train[:1000], data.valid[:100], cfg)
    for layer, off in zip(model.net.layers(), unused, strict=True):
        assert torch.all(layer.weight[off] == 0)
    tiny = torch.finfo(torch.float32).tiny
    for p in model.parameters():
        assert not ((p != 0) & (p.abs() < tiny)).any()


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(data, tmp_path):
    model = MADE(data.shape, [16], seed=0)

    def poison(record):
        with torch.no_grad():
            model.output.bias[0] = float("nan")

    with pytest.raises(NonFiniteLossError, match="the loss became nan at epoch 2, step 5"):
        fit(
            model,
            data.train[:200],
            data.valid[:50],
            TrainConfig(epochs=3, batch_size=50),
            run_dir=tmp_path,
            on_epoch=poison,
        )
    saved, payload = load_checkpoint(tmp_path / "checkpoint.pt")
    assert payload["epoch"] == 1
    assert all(torch.isfinite(p).all() for p in saved.parameters())


def test_bad_train_config():
    for kwargs, message in [
        (dict(epochs=0), "epochs must be an int in 1.."),
        (dict(lr=-1.0), "lr must be a positive number"),
        (dict(optimizer="sgd"), "optimizer must be"),
        (dict(schedule="linear"), "schedule must be"),
        (dict(patience=0), "patience must be"),
        (dict(min_epochs=-1), "min_epochs must be an int in 0.."),
        (dict(grad_clip=0.0), "grad_clip must be a positive number"),
        (dict(batch_size=10**20), "batch_size must be an int in 1..2,147,483,647"),
        (dict(weight_decay=float("inf")), "weight_decay must be a number >= 0"),
        (dict(grad_clip="x"), "grad_clip must be a positive number"),
    ]:
        with pytest.raises(ValueError, match=message):
            TrainConfig(**kwargs)


@pytest.mark.slow
def test_two_processes_match_one(data, tmp_path):
    """torchrun with 2 CPU processes (gloo): both ranks end with identical parameters, equal to
    one process training on the same global batches."""
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--standalone", str(worker), str(tmp_path)]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert torch.equal(ranks[0]["params"], ranks[1]["params"])
    assert ranks[0]["losses"] == ranks[1]["losses"]
    sys.path.insert(0, str(worker.parent))
    from ddp_worker import run

    single = run(rank=0, world=1)
    assert torch.allclose(single["params"], ranks[0]["params"], atol=1e-5)
    assert single["losses"] == pytest.approx(ranks[0]["losses"], rel=1e-5)
    assert torch.equal(ranks[0]["noisy"], ranks[1]["noisy"])
    assert torch.allclose(single["noisy"], ranks[0]["noisy"], atol=1e-5)
    assert (tmp_path / "run" / "checkpoint.pt").is_file()  # rank 0 wrote the run


def test_an_optimiser_without_a_fused_kernel_falls_back(data, monkeypatch):
    # torch versions (or devices) without a fused kernel for an optimiser refuse fused=True;
    # fit then uses the ordinary implementation instead of failing
    import made.train

    real = torch.optim.Adam

    class NoFused(real):
        def __init__(self, params, **kwargs):
            if kwargs.get("fused"):
                raise RuntimeError("`fused=True` requires all the params to be floating point "
                                   "Tensors of supported devices")  # fmt: skip
            super().__init__(params, **kwargs)

    monkeypatch.setitem(made.train._OPTIMIZERS, "adam", NoFused)
    model = MADE(data.shape, [16], seed=0)
    opt = made.train.make_optimizer(model, TrainConfig(epochs=1))
    assert isinstance(opt, NoFused) and not opt.defaults.get("fused")


@pytest.mark.parametrize(
    "hidden, ordering, precision",
    [
        ([64, 32], "natural", "float32"),  # one block a layer
        ([300], "random", "float32"),  # several, inputs permuted
        ([300], "random", "bfloat16"),  # whole products, gradients masked as they are rounded
    ],
)
def test_premasked_training_equals_masked_training_bit_for_bit(
    data, monkeypatch, hidden, ordering, precision
):
    # A single-mask model trains with its masked-out weights held at zero and unmasked in the
    # kernel, which multiplies their gradients by the mask; that must change nothing:
    # same weights as masking on every call, bit for bit
    import made.train as train_module
    from made.fastpath import Fast

    def trained():
        model = MADE(data.shape, hidden, direct_connections=True, ordering=ordering, seed=4)
        cfg = TrainConfig(epochs=2, batch_size=50, lr=1e-2, weight_decay=1e-4, seed=1,
                          precision=precision)  # fmt: skip
        assert fit(model, data.train[:600], data.valid[:100], cfg).precision == precision
        return model

    fast = trained()
    for layer in fast.net.layers():  # masked-out weights stayed exactly zero
        assert torch.all(layer.weight[~layer.mask] == 0)
    chosen = train_module.training_path

    def masking(model: MADE, precision: str, batch_size: int) -> Fast:  # masking every call
        return Fast(premasked=False, dtype=chosen(model, precision, batch_size).dtype)

    monkeypatch.setattr(train_module, "training_path", masking)
    slow = trained()
    assert torch.equal(_flat(fast), _flat(slow))


# ------------------------------------------------------------------ precision and file writing
def test_auto_precision_follows_the_hardware_and_the_size_of_the_products(monkeypatch):
    import made.train as train_module

    model = MADE(6, [16], seed=0)
    largest = max(layer.weight.numel() for layer in model.net.layers())  # 16 x 6 + ...
    assert train_module.largest_product(model, 10) == 10 * largest
    big = -(-train_module.BFLOAT16_MIN_PRODUCT // largest)  # the first batch that gains
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True})
    assert train_module.training_dtype("auto", model, big) == torch.bfloat16
    # bfloat16's fixed cost per product loses on small ones: float32 below the line
    assert train_module.training_dtype("auto", model, big - 1) == torch.float32
    assert train_module.training_dtype("auto", model, 32) == torch.float32
    assert train_module.training_dtype("float32", model, big) == torch.float32
    assert train_module.training_dtype("bfloat16", model, 1) == torch.bfloat16  # as asked
    assert train_module.training_dtype("auto", model.double(), big) == torch.float64
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx2": True})
    assert train_module.training_dtype("auto", MADE(6, [16], seed=0), big) == torch.float32
    assert train_module.training_dtype("bfloat16", MADE(6, [16], seed=0), 1) == torch.bfloat16
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(precision="float16")


def test_fit_chooses_the_precision_on_its_batch_and_data(monkeypatch):
    # the batch is the global one, capped by the rows there are: data-parallel ranks compute
    # as one process does, and a small table's steps are not taxed by bfloat16's fixed cost
    import made.train as train_module

    seen = []
    chosen = train_module.training_dtype

    def recording(precision, model, batch_size):
        seen.append(batch_size)
        return chosen(precision, model, batch_size)

    monkeypatch.setattr(train_module, "training_dtype", recording)
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"amx_bf16": True})
    data = torch.randint(0, 2, (40, 6))
    result = fit(MADE(6, [16], seed=0), data, data[:8], TrainConfig(epochs=1, batch_size=64))
    assert seen == [40] and result.precision == "float32"


@pytest.mark.parametrize("ordering", ["natural", "random"])
def test_bfloat16_steps_keep_the_structure_and_follow_the_float32_gradient(ordering):
    # the kernel in bfloat16: every output still reads only earlier inputs (exactly), the
    # outputs come back in float32, and the gradient is the float32 one up to bfloat16 rounding
    from made.fastpath import Fast, fast_forward

    model = MADE(12, [300, 40], direct_connections=True, ordering=ordering, seed=3)
    g = torch.Generator().manual_seed(0)  # not the global generator: the test's own data
    x = torch.randint(0, 2, (64, 12), generator=g)
    reference = torch.autograd.grad(-model.log_prob(x).mean(), list(model.parameters()))
    model.zero_unused_weights()
    bf16 = Fast(premasked=True, dtype=torch.bfloat16)
    h = torch.rand(1, 12, generator=g).requires_grad_()
    out = fast_forward(model.net, h, None, model.net.stored_masks(), model.plan(), bf16)
    assert out.dtype == torch.float32
    jac = torch.stack([torch.autograd.grad(out[0, t], h, retain_graph=True)[0][0]
                       for t in range(12)])  # fmt: skip
    order = model.orderings[0]
    jac = jac[order][:, order]  # rows and columns by position in the ordering
    assert torch.all(jac.triu() == 0)
    grads = torch.autograd.grad(-model.log_prob(x, fast=bf16).mean(), list(model.parameters()))
    index = {id(p): i for i, p in enumerate(model.parameters())}
    for layer in model.net.layers():  # masked-out weights get no gradient
        assert torch.all(grads[index[id(layer.weight)]][~layer.mask] == 0)
    for a, b in zip(reference, grads, strict=True):
        # bfloat16 rounding: up to 14% for the smallest gradients over 20 data seeds; a bug: O(1)
        assert (a - b).norm() <= 0.25 * a.norm()


def test_bfloat16_training_scores_in_float32_and_matches_float32(data):
    def trained(precision):
        model = MADE(data.shape, [64], seed=1)
        cfg = TrainConfig(epochs=3, batch_size=50, lr=1e-2, seed=2, precision=precision)
        return model, fit(model, data.train[:1000], data.valid[:200], cfg)

    (m32, r32), (m16, r16) = trained("float32"), trained("bfloat16")
    assert (r32.precision, r16.precision) == ("float32", "bfloat16")
    assert evaluate_nll(m16, data.test[:10]).nll == pytest.approx(
        -m16.log_prob(data.test[:10]).double().mean().item(), abs=1e-4
    )  # scores: float32
    assert all(p.dtype == torch.float32 for p in m16.parameters())
    for layer in m16.net.layers():
        assert torch.all(layer.weight[~layer.mask] == 0)
    nll32 = evaluate_nll(m32, data.test).nll
    assert abs(evaluate_nll(m16, data.test).nll - nll32) < 0.02 * nll32


def test_a_failed_checkpoint_write_stops_training_with_its_error(data, tmp_path, monkeypatch):
    # the files are written while the next epoch trains; a write that fails is not lost
    import made.train as train_module

    def full_disk(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(train_module, "atomic_write_bytes", full_disk)
    model = MADE(data.shape, [16], seed=0)
    with pytest.raises(OSError, match="No space left"):
        fit(model, data.train[:200], data.valid[:50], TrainConfig(epochs=3, batch_size=50),
            run_dir=tmp_path / "run")  # fmt: skip


def test_an_error_after_an_epoch_leaves_that_epochs_files_on_disk(data, tmp_path):
    def stop(record):
        raise KeyboardInterrupt

    model = MADE(data.shape, [16], seed=0)
    with pytest.raises(KeyboardInterrupt):
        fit(model, data.train[:200], data.valid[:50], TrainConfig(epochs=3, batch_size=50),
            run_dir=tmp_path / "run", on_epoch=stop)  # fmt: skip
    _, payload = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert payload["epoch"] == 1
    assert (tmp_path / "run" / "best.pt").is_file()
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) >= 1


def test_noise_perturbs_the_real_dimensions_of_each_batch_and_nothing_else(monkeypatch):
    import made.train

    seen = []
    objective_forward = made.train._Objective.forward

    def recording(self, x, context):
        seen.append(x.detach().clone())
        return objective_forward(self, x, context)

    monkeypatch.setattr(made.train._Objective, "forward", recording)
    g = torch.Generator().manual_seed(0)
    rows = torch.cat([torch.randn(40, 1, generator=g), torch.randint(0, 3, (40, 1), generator=g),
                      torch.randn(40, 1, generator=g)], 1).double()  # fmt: skip
    rows[::7, 2] = float("nan")  # missing values stay missing

    def train(noise):
        seen.clear()
        model = MADE(3, [8], num_categories=[0, 3, 0], missing=[2], seed=0).double()
        config = TrainConfig(epochs=2, batch_size=40, seed=1, noise=noise, precision="float32")
        fit(model, rows, rows, config)
        return list(seen)

    plain, noisy = train(0.0), train(0.5)
    for p, n in zip(plain, noisy, strict=True):
        assert torch.equal(p[:, 1], n[:, 1])  # the categorical column as it was
        assert torch.equal(p[:, 2].isnan(), n[:, 2].isnan())
        shift = (n - p)[:, [0, 2]]
        shift = shift[~shift.isnan()]
        assert 0.3 < float(shift.std()) < 0.7 and float(shift.abs().min()) > 0
    assert not torch.equal(noisy[0], noisy[1])  # drawn afresh at every step
    assert train(0.5)[1].nan_to_num().equal(noisy[1].nan_to_num())  # and reproducibly
    for bad in (-0.1, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="noise must be"):
            TrainConfig(noise=bad)


def test_a_run_with_noise_resumes_exactly(tmp_path):
    g = torch.Generator().manual_seed(3)
    rows = torch.cat([torch.randn(200, 2, generator=g),
                      torch.randint(0, 2, (200, 1), generator=g)], 1)  # fmt: skip
    cfg = TrainConfig(epochs=4, batch_size=32, seed=5, noise=0.2, precision="float32")
    whole, full, resumed, part = whole_and_resumed(
        lambda: MADE(3, [16], num_categories=[0, 0, 2], seed=3), rows[:150], rows[150:], cfg,
        tmp_path,
    )  # fmt: skip
    assert part.resumed_from == 3
    assert [h["train_loss"] for h in part.history] == [h["train_loss"] for h in full.history]
    assert torch.equal(_flat(resumed), _flat(whole))


def test_the_mixture_objective_is_the_mixture_s_nll_exactly():
    # TrainConfig.mixture_masks: a step minimises -log mean_k p_k(x) over the masks drawn,
    # the measure MADE.log_prob(ensemble=K) scores the mixture of masks 0..K-1 by
    from made.train import _Objective, training_path

    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 2, (40, 9), generator=g).float()
    model = MADE(9, [32], num_masks=4, seed=2)
    for fast in (False, training_path(model, "float32", 40)):  # the reference and fast paths
        objective = _Objective(model, fast)
        mixture = objective(x, None, [0, 1, 2])
        expected = -model.log_prob(x, ensemble=3).sum().item()
        assert mixture.item() == pytest.approx(expected, rel=1e-6)
        members = [model.log_prob(x, mask=k) for k in (3, 1)]  # any masks, in any order
        expected = -(torch.logsumexp(torch.stack(members), 0) - math.log(2)).sum().item()
        assert objective(x, None, [3, 1]).item() == pytest.approx(expected, rel=1e-6)
        assert model.mask_index == 0  # scoring the members leaves the current mask as it was
        alone = objective(x, None)
        assert alone.item() == pytest.approx(-model.log_prob(x).sum().item(), rel=1e-6)
        assert abs(mixture.item() - alone.item()) > 0.1  # the mixture's, not the first mask's


def test_mixture_training_trains_every_mask_and_resumes_exactly(tmp_path):
    g = torch.Generator().manual_seed(4)
    rows = torch.randint(0, 2, (240, 8), generator=g).float()
    rows[:, 1] = rows[:, 0]  # something to learn
    cfg = TrainConfig(
        epochs=4, batch_size=32, lr=3e-2, seed=5, mixture_masks=2, precision="float32"
    )
    whole, full, resumed, part = whole_and_resumed(
        lambda: MADE(8, [24], num_masks=3, seed=3), rows[:200], rows[200:], cfg, tmp_path
    )
    assert part.resumed_from == 3
    assert [h["train_loss"] for h in part.history] == [h["train_loss"] for h in full.history]
    assert torch.equal(_flat(resumed), _flat(whole))
    untrained = MADE(8, [24], num_masks=3, seed=3)
    for k in range(3):  # every mask was drawn into some step's mixture and learnt
        before = -untrained.log_prob(rows[:200], mask=k).mean().item()
        after = -whole.log_prob(rows[:200], mask=k).mean().item()
        assert after < before - 0.2


def test_mixture_masks_beyond_the_model_s_masks_are_refused():
    from made.errors import SettingError

    model = MADE(6, [16], num_masks=2, seed=0)
    rows = torch.randint(0, 2, (40, 6)).float()
    with pytest.raises(SettingError, match="mixture_masks=3 mixes that many of the model's masks"):
        fit(model, rows, rows, TrainConfig(epochs=1, mixture_masks=3))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="mixture_masks"):
            TrainConfig(mixture_masks=bad)
