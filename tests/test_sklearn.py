"""made.sklearn.MADEDensity: a scikit-learn estimator that passes scikit-learn's own checks,
scores exact log-densities in the data's units, takes DataFrames, and works in Pipeline,
GridSearchCV, cross_val_score, clone and pickle."""

from __future__ import annotations

import itertools
import math
import pickle
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from made.sklearn import MADEDensity  # noqa: E402

# small settings for tests of the estimator's contract, not of its fit: a narrow network, a
# short cap, and fold models free to stop before epoch 20 (the recipe's under 200 rows)
SMALL = dict(hidden_sizes=(32,), max_epochs=30, min_epochs=0, random_state=0)
# checks that cannot apply, and why
SKIPPED = {
    "check_array_api_input": "made computes with torch, not the array API",
}


def _table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return np.column_stack([a, 2 * a + rng.normal(scale=0.1, size=n), rng.integers(0, 2, n)])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # the skip is SKIPPED's
def test_scikit_learns_estimator_checks_pass():
    # on small settings: the checks test the estimator's contract, not its fit (a mixture of
    # five [512, 512] fold models made this 58% of the suite's time)
    small = MADEDensity(hidden_sizes=(16,), n_models=2, max_epochs=5, random_state=0)
    results = check_estimator(small, on_fail=None)
    failed = {r["check_name"]: str(r["exception"])[:300] for r in results
              if r["status"] == "failed"}  # fmt: skip
    assert not failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= set(SKIPPED), skipped - set(SKIPPED)
    assert len(results) > 40


def test_score_samples_is_the_models_log_density_in_the_datas_units():
    x = _table()  # two real columns and a 0/1 one
    density = MADEDensity(n_models=1, **SMALL).fit(x)
    schema = density.schema_
    assert [c.kind for c in schema.columns] == ["real", "real", "categorical"]
    z = x.copy()
    for j, col in enumerate(schema.columns):
        if col.kind == "real":
            z[:, j] = (x[:, j] - col.mean) / col.std
    (model,) = density.models_
    expected = model.log_prob(torch.as_tensor(z)).detach().double().numpy()
    expected -= sum(math.log(c.std) for c in schema.columns if c.kind == "real")
    # the shares kept for a value never seen (the 0/1 column) and a gap (every column)
    expected += math.log1p(-schema.columns[2].novel)
    expected += sum(math.log1p(-c.novel_gap) for c in schema.columns)
    assert all(c.novel_gap > 0 for c in schema.columns)
    assert np.allclose(density.score_samples(x), expected, rtol=0, atol=1e-9)
    assert density.score(x) == pytest.approx(expected.mean())
    # the per-column terms of explain() sum to the score
    assert np.allclose(density.explain(x).sum(axis=1), -density.score_samples(x), atol=1e-9)


def test_an_array_needs_no_pandas_and_keeps_its_dtype(monkeypatch):
    """pandas is optional: an array's samples are given back as its dtype by numpy alone."""
    counts = np.random.default_rng(0).poisson(40, (120, 2))
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)  # import pandas fails
    density = MADEDensity(n_models=1, **SMALL).fit(counts)
    drawn = density.sample(20, random_state=0)
    assert drawn.dtype == counts.dtype and drawn.shape == (20, 2)


def test_a_small_table_is_a_mixture_of_fold_models():
    x = _table()
    density = MADEDensity(**SMALL).fit(x)  # 900 cells: n_models="auto" gives 5
    assert len(density.models_) == 5
    z = torch.as_tensor(density.schema_.standardise(x.astype(np.float64)))
    each = torch.stack([m.log_prob(z).detach() for m in density.models_]).double()
    mixture = torch.logsumexp(each, 0) - math.log(5) - density.schema_.nll_offset
    assert np.allclose(density.score_samples(x), mixture.numpy(), atol=1e-9)
    # the models differ (their own seeds and held-out folds)
    assert not torch.equal(each[0], each[1])
    # under 200 rows, 16: two rounds of 8 folds, each model training on 7/8 of them
    assert len(MADEDensity(hidden_sizes=(8,), max_epochs=1).fit(x[:199]).models_) == 16
    assert len(MADEDensity(hidden_sizes=(8,), max_epochs=1).fit(x[:200]).models_) == 5


def test_more_models_than_eight_folds_are_rounds_each_holding_out_every_row_once():
    density = MADEDensity()
    rng = np.random.default_rng(0)
    orders = [rng.permutation(100), rng.permutation(100)]
    held = np.zeros((2, 100), dtype=int)
    for k in range(16):
        train, valid = density._split(orders, k, 16)
        assert sorted([*train, *valid]) == list(range(100)) and len(valid) in (12, 13)
        held[k // 8, valid] += 1
        if k < 8:  # the first round's folds are the 8 folds of 8 models
            assert np.array_equal(valid, density._split(orders[:1], k, 8)[1])
    assert (held == 1).all()  # each round holds every row out exactly once
    rounds = [{frozenset(density._split(orders, k, 16)[1]) for k in range(r * 8, r * 8 + 8)}
              for r in (0, 1)]  # fmt: skip
    assert not rounds[0] & rounds[1]  # the two rounds part the rows differently
    assert [len(density._split(orders, k, 10)[1]) for k in range(8, 10)] == [13, 13]


def test_fold_models_of_a_table_see_its_columns_in_different_orders():
    # the first keeps the columns' order (explain reads it); the others draw their own, so
    # the mixture's members differ in what they condition on; images keep their raster order
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 6))
    natural = list(range(6))
    density = MADEDensity(n_models=4, hidden_sizes=(8,), max_epochs=1, random_state=0).fit(x)
    orders = [m.orderings[0].tolist() for m in density.models_]
    assert orders[0] == natural
    assert all(o != natural for o in orders[1:]) and len({tuple(o) for o in orders}) == 4
    one = MADEDensity(n_models=1, hidden_sizes=(8,), max_epochs=1, random_state=0).fit(x)
    assert one.models_[0].orderings[0].tolist() == natural
    pixels = rng.integers(0, 2, size=(60, 6))
    images = MADEDensity(n_models=3, hidden_sizes=(8,), max_epochs=1, image_shape=(2, 3),
                         random_state=0).fit(pixels)  # fmt: skip
    assert all(m.orderings[0].tolist() == natural for m in images.models_)


def test_a_rare_gap_in_a_first_column_is_drawn_at_its_rate(monkeypatch):
    # a column first in its model's ordering reads nothing: its distribution is its output
    # biases, started at the training rows' marginal (a random start, moved by Adam about
    # the learning rate a step, left a 2.5% gap at 15% when early stopping ended training)
    pd = pytest.importorskip("pandas")
    g = np.random.default_rng(0)
    n = 400
    kind = np.where(g.random(n) < 0.5, "a", "b").astype(object)
    kind[g.random(n) < 0.03] = None  # 3% gaps
    frame = pd.DataFrame({"kind": kind, "size": g.normal(size=n)})
    density = MADEDensity(n_models=3, hidden_sizes=(16,), random_state=1).fit(frame)
    firsts = [int(m.orderings[0, 0]) for m in density.models_]
    assert 0 in firsts  # some model draws "kind" first
    rate = frame["kind"].isna().mean()
    models = density.models_
    for k, model in enumerate(models):
        density.models_ = [model]  # this model's draws alone
        drawn = density.sample(4000, random_state=k)["kind"].isna().mean()
        assert abs(drawn - rate) < 0.02, (k, firsts[k], drawn, rate)


def test_first_dimensions_start_at_their_marginals():
    # fit starts each ordering's first dimension (it reads no input) at the training rows'
    # marginal, so a model that trains no step already has it: a category's log frequency
    # and a binary's log-odds (half a row more each), a real column's gap at its rate
    from made import MADE, TrainConfig
    from made.train import fit

    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 3, (50, 1), generator=g).double()
    flags = torch.randint(0, 2, (50, 1), generator=g).double()
    real = torch.randn(50, 1, generator=g, dtype=torch.float64)
    real[:4] = float("nan")  # 4 gaps of 50
    x = torch.cat([codes, flags, real], 1)
    for first in (0, 1, 2):
        order = [first] + [d for d in range(3) if d != first]
        model = MADE(3, [8], num_categories=[3, 2, 0], missing=[2], ordering=order, seed=0)
        fit(model.double(), x, x[:10], TrainConfig(epochs=1, lr=1e-12, batch_size=50, seed=0))
        with torch.no_grad():
            terms = model.conditional_log_probs(x)[:, first]
        if first == 0:
            counts = torch.bincount(codes[:, 0].long(), minlength=3).double() + 0.5
            want = torch.log(counts / counts.sum())[codes[:, 0].long()]
        elif first == 1:
            ones = float(flags.sum())
            p1 = (ones + 0.5) / (50 + 1)
            want = torch.where(flags[:, 0] == 1, math.log(p1), math.log(1 - p1)).double()
        else:  # a gap's probability is the rate; a value's adds its density
            want = torch.full((4,), math.log(4 / 50), dtype=torch.float64)
            terms = terms[:4]
        assert torch.allclose(terms, want, atol=1e-5), first


def _training_configs(monkeypatch):
    """The list that every TrainConfig MADEDensity trains a model with is appended to."""
    import made.sklearn

    seen = []
    fit = made.sklearn.fit

    def recording(model, train, valid, config, **kwargs):
        seen.append(config)
        return fit(model, train, valid, config, **kwargs)

    monkeypatch.setattr(made.sklearn, "fit", recording)
    return seen


def test_a_small_table_trains_in_small_batches(monkeypatch):
    seen = _training_configs(monkeypatch)
    x = _table()
    # 900 cells: small; 150 training rows a fold model, under 200: the tiny tables' 8
    MADEDensity(n_models=2, hidden_sizes=(8,), max_epochs=2).fit(x)
    MADEDensity(n_models=1, batch_size=64, hidden_sizes=(8,), max_epochs=2).fit(x)
    big = np.repeat(x, 130, axis=0)  # 105,300 training cells: the recipe's 128
    MADEDensity(n_models=1, hidden_sizes=(8,), max_epochs=1).fit(big)
    assert [c.batch_size for c in seen] == [8, 8, 64, 128]
    # a fold model there chooses its best epoch from epoch 20 on; one model alone does not
    assert [c.min_epochs for c in seen] == [20, 20, 0, 0]
    with pytest.raises(ValueError, match="batch_size must be"):
        MADEDensity(batch_size=0).fit(x)


def test_a_categorical_table_sums_to_one():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, size=(200, 3))
    density = MADEDensity(column_types=dict.fromkeys("012", "categorical"), **SMALL).fit(x)
    every = np.array(list(itertools.product(range(3), repeat=3)))
    # all but each column's share for values never seen (made.data.novel; test_novel.py)
    kept = math.prod((1 - c.novel) * (1 - c.novel_gap) for c in density.schema_.columns)
    assert 0.97 < kept < 1
    assert np.exp(density.score_samples(every)).sum() == pytest.approx(kept, abs=1e-9)
    unseen = np.array([[0, 1, 5]])  # a category the fitted rows never showed: that share
    assert -np.inf < density.score_samples(unseen)[0] < density.score_samples(every).min()
    assert density.predict(unseen)[0] == -1
    assert density.explain(unseen)[0, 2] > density.explain(every)[:, 2].max()


def test_contamination_sets_the_share_of_outliers():
    x = _table()
    density = MADEDensity(contamination=0.05, n_models=1, **SMALL).fit(x)  # one: faster
    assert np.mean(density.predict(x) == -1) == pytest.approx(0.05, abs=0.01)
    assert np.allclose(density.decision_function(x), density.score_samples(x) - density.offset_)
    with pytest.raises(ValueError, match="contamination"):
        MADEDensity(contamination=0.7).fit(x)


def test_a_dataframe_keeps_its_columns_and_types():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(2)
    n = 200
    frame = pd.DataFrame({
        "amount": rng.lognormal(size=n),
        "flag": rng.random(n) < 0.3,
        "colour": rng.choice(["red", "green", "blue"], n),
        "size": pd.Categorical(rng.choice(["S", "M", "L"], n), categories=["S", "M", "L"]),
        "year": rng.choice([2007, 2008, 2009], n),
        "count": pd.array(np.where(rng.random(n) < 0.2, None, rng.poisson(40, n)), dtype="Int64"),
    })  # fmt: skip
    density = MADEDensity(**SMALL).fit(frame)
    assert list(density.feature_names_in_) == list(frame.columns)
    kinds = {c.name: (c.kind, c.values) for c in density.schema_.columns}
    assert kinds["amount"][0] == "real" and kinds["flag"] == ("categorical", ("False", "True"))
    assert kinds["colour"] == ("categorical", ("blue", "green", "red"))
    assert kinds["size"] == ("categorical", ("S", "M", "L"))
    scores = density.score_samples(frame)
    assert np.all(np.isfinite(scores))
    drawn = density.sample(50, random_state=0)
    assert list(drawn.columns) == list(frame.columns) and len(drawn) == 50
    assert set(drawn["colour"]) <= {"red", "green", "blue"} and drawn["flag"].dtype == bool
    # every column comes back in the dtype it was given: integers stay integers, a gap in a
    # nullable integer column is pandas' NA, categories keep their order
    assert dict(drawn.dtypes) == dict(frame.dtypes)
    assert set(drawn["year"]) <= {2007, 2008, 2009} and drawn["count"].isna().any()
    filled = density.impute(frame.head(30))
    assert dict(filled.dtypes) == dict(frame.dtypes) and not filled["count"].isna().any()
    assert density.sample(50, random_state=0).equals(drawn)  # the same seed, the same rows
    with pytest.raises(ValueError, match="feature names"):
        density.score_samples(frame.rename(columns={"amount": "price"}))
    purple = frame.head(1).assign(colour="purple")  # a colour never seen: its share
    assert -np.inf < density.score_samples(purple)[0] < density.score_samples(frame.head(1))[0]


def test_categories_that_are_not_text_and_periods_come_back_as_themselves():
    """A pandas categorical of numbers (``astype("category")`` on a column of class labels,
    as docs/sklearn.md does), of intervals (``pd.cut``) or of dates is read as its
    categories' text; sampled, every value came back NaN (the text is no category of the
    column), and imputed, every filled gap did; with a gap in the column, its numbers were
    read as floats (``2.0``, no category's text): the fit failed with a traceback, and rows
    to impute held values the model had never seen. Each comes back as its own category."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    n = 150
    frame = pd.DataFrame({
        "x": rng.normal(size=n),
        "label": pd.Series(rng.integers(0, 3, n)).astype("category"),
        "band": pd.cut(rng.normal(size=n), 4),
        "day": pd.Categorical(pd.to_datetime(rng.choice(["2020-01-01", "2021-06-30"], n))),
        "share": pd.Categorical(rng.choice([0.5, 1.5, 2.25], n)),
        "month": pd.period_range("2010-01", periods=n, freq="M")[rng.permutation(n)],
    })  # fmt: skip
    frame.loc[5, "label"] = None
    density = MADEDensity(**SMALL, n_models=1).fit(frame)
    assert density.schema_.columns[1].values == ("0", "1", "2", "NA")
    assert np.isfinite(density.score_samples(frame)).all()
    drawn = density.sample(100, random_state=0)
    assert dict(drawn.dtypes) == dict(frame.dtypes)
    for name in ("label", "band", "day", "share"):
        assert set(drawn[name].dropna()) <= set(frame[name].cat.categories), name
        assert drawn[name].notna().mean() > 0.9, name
    # a column of periods (months) is one of dates, the months' first days: a month is drawn
    assert density.schema_.columns[-1].date and drawn["month"].notna().all()
    low, high = frame["month"].min(), frame["month"].max()  # widened by 5% (150 months)
    assert drawn["month"].between(low - 8, high + 8).all()
    holes = frame.iloc[10:30].copy()
    holes.iloc[:10, 1:] = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no value the model never saw
        filled = density.impute(holes)
    assert dict(filled.dtypes) == dict(frame.dtypes) and filled.notna().all().all()
    assert filled.iloc[10:].equals(frame.iloc[20:30])  # what was there is kept


def test_a_databases_decimals_are_numbers():
    """``pd.read_sql`` gives a NUMERIC column as ``Decimal`` objects (None, or a Decimal NaN,
    for NULL): they were text, a different value on most rows, left out as an identifier.
    They are numbers, typed by the same rule as floats, scored and drawn as numbers."""
    pd = pytest.importorskip("pandas")
    from decimal import Decimal

    rng = np.random.default_rng(4)
    prices = np.round(rng.lognormal(3, 0.5, 150), 2)
    given = [None if i == 3 else Decimal("NaN") if i == 7 else Decimal(f"{v:.2f}")
             for i, v in enumerate(prices)]  # fmt: skip
    kinds = rng.choice(["a", "b"], 150)
    floats = pd.DataFrame({"price": np.where(np.isin(np.arange(150), [3, 7]), np.nan, prices),
                           "kind": kinds})  # fmt: skip
    decimals = pd.DataFrame({"price": given, "kind": kinds})
    density = MADEDensity(**SMALL, n_models=1).fit(decimals)
    like = MADEDensity(**SMALL, n_models=1).fit(floats)
    assert density.schema_ == like.schema_ and density.schema_.columns[0].kind == "real"
    assert np.array_equal(density.score_samples(decimals), like.score_samples(floats))
    drawn = density.sample(20, random_state=0)["price"]
    assert np.isfinite(drawn.astype(float)).all()


def test_a_pyarrow_backed_frame_is_read_as_its_numpy_twin():
    """``read_csv(dtype_backend="pyarrow")`` gives times as ``timestamp[us][pyarrow]``,
    which was refused as "numpy times" (in a DataFrame). A pyarrow-backed frame is read as
    the same frame backed by numpy: the same model, scores and samples, given back in
    pyarrow's dtypes."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(5)
    n = 120
    twin = pd.DataFrame({
        "x": rng.normal(size=n),
        "count": pd.array(np.where(rng.random(n) < 0.1, None, rng.poisson(9, n)), dtype="Int64"),
        "kind": rng.choice(["a", "b"], n),
        "at": pd.Series(pd.to_datetime("2021-03-01 08:00") + pd.to_timedelta(
            rng.integers(0, 500, n), unit="h")).dt.tz_localize("Europe/Oslo"),
        "took": pd.to_timedelta(rng.integers(1, 90, n), unit="s"),
    })  # fmt: skip
    twin.loc[4, "at"] = None
    arrow = twin.astype({"x": "double[pyarrow]", "count": "int64[pyarrow]",
                         "kind": "string[pyarrow]",
                         "at": "timestamp[ns, tz=Europe/Oslo][pyarrow]",
                         "took": "duration[ns][pyarrow]"})  # fmt: skip
    density = MADEDensity(**SMALL, n_models=1).fit(arrow)
    like = MADEDensity(**SMALL, n_models=1).fit(twin)
    assert density.schema_ == like.schema_
    assert np.array_equal(density.score_samples(arrow), like.score_samples(twin))
    drawn, plain = density.sample(30, random_state=0), like.sample(30, random_state=0)
    assert dict(drawn.dtypes) == dict(arrow.dtypes)
    assert drawn.astype(dict(plain.dtypes)).equals(plain)


def test_a_boolean_given_as_0_and_1_and_a_value_of_probability_zero():
    """A column fitted as booleans and given to score as 0 and 1 (as numpy and pandas
    compare them) scored every row -inf, silently: 1 is True and 0 False now. A value the
    model gives probability zero still scores -inf, and a warning names its cell."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"x": rng.normal(size=100), "flag": rng.random(100) < 0.4})
    density = MADEDensity(**SMALL, n_models=1).fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_numbers = density.score_samples(frame.assign(flag=frame["flag"].astype(int)))
    assert np.array_equal(as_numbers, density.score_samples(frame))
    with pytest.warns(
        UserWarning,
        match=r"1 cells hold a value of probability zero under the "
        r"model \(the first: row 2, column 'flag', 'maybe'\): their rows score",
    ):
        scores = density.score_samples(frame.head(3).assign(flag=[True, False, "maybe"]))
    assert np.isfinite(scores[:2]).all() and scores[2] == -np.inf


def test_python_dates_and_times_come_back_as_python_dates_and_times():
    """A database's DATE and TIME columns reach pandas as ``datetime.date`` and
    ``datetime.time`` objects; they were modelled as dates and times but sampled and imputed
    as text ('2020-01-18'). They come back as the objects they were given as."""
    pd = pytest.importorskip("pandas")
    import datetime

    rng = np.random.default_rng(7)
    n = 120
    day = [datetime.date(2020, 1, 1) + datetime.timedelta(days=int(d))
           for d in rng.integers(0, 300, n)]  # fmt: skip
    day[3] = None
    day[5] = pd.NA  # a gap as pandas writes one
    at = [
        datetime.time(int(h), int(m))
        for h, m in zip(rng.integers(6, 20, n), rng.integers(0, 60, n), strict=True)
    ]
    frame = pd.DataFrame({"x": rng.normal(size=n), "day": day, "at": at})
    density = MADEDensity(**SMALL, n_models=1).fit(frame)
    assert [c.date for c in density.schema_.columns] == [False, True, False]
    drawn = density.sample(40, random_state=0)
    assert all(type(v) is datetime.date for v in drawn["day"].dropna())
    assert all(type(v) is datetime.time for v in drawn["at"])
    filled = density.impute(frame.head(10))
    assert type(filled["day"][3]) is datetime.date and filled["day"][4] == day[4]


def test_a_polars_frame_is_read_as_pandas_reads_it_and_given_back_as_polars():
    """A polars DataFrame failed with an AttributeError from deep inside (no ``astype``).
    It is read as pandas reads it (``to_pandas``, its integer columns with their gaps kept
    integers): the same model as the pandas frame's, and samples come back as polars'."""
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")  # polars' to_pandas
    rng = np.random.default_rng(8)
    n = 120
    counts = [None if i % 9 == 0 else int(v) for i, v in enumerate(rng.poisson(30, n))]
    given = pl.DataFrame({"x": rng.normal(size=n), "count": counts,
                          "kind": rng.choice(["a", "b"], n).tolist()})  # fmt: skip
    twin = pd.DataFrame({"x": given["x"].to_numpy(), "count": pd.array(counts, dtype="Int64"),
                         "kind": given["kind"].to_list()})  # fmt: skip
    density = MADEDensity(**SMALL, n_models=1).fit(given)
    like = MADEDensity(**SMALL, n_models=1).fit(twin)
    assert density.schema_ == like.schema_
    assert np.array_equal(density.score_samples(given), like.score_samples(twin))
    drawn = density.sample(20, random_state=0)
    assert isinstance(drawn, pl.DataFrame) and drawn.schema == given.schema
    assert isinstance(density.impute(given), pl.DataFrame)


def test_clone_pickle_pipeline_grid_search_and_cross_validation():
    x = _table()
    quick = dict(n_models=1, max_epochs=5, random_state=0)  # the contract, not the fit
    density = MADEDensity(hidden_sizes=(8,), **quick).fit(x)
    again = pickle.loads(pickle.dumps(density))
    assert np.array_equal(again.score_samples(x), density.score_samples(x))
    fresh = clone(density)
    assert fresh.get_params() == density.get_params() and not hasattr(fresh, "model_")
    search = GridSearchCV(MADEDensity(**quick), {"hidden_sizes": [(8,), (32,)]}, cv=3).fit(x)
    assert search.best_params_["hidden_sizes"] in [(8,), (32,)]
    assert np.isfinite(search.best_score_)
    pipeline = make_pipeline(StandardScaler(), MADEDensity(hidden_sizes=(8,), **quick))
    scores = cross_val_score(pipeline, x, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="infinity"):  # NaN is a missing value; inf is not
        MADEDensity(**SMALL).fit(np.array([[0.0, np.inf], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="column_types"):
        MADEDensity(column_types={"9": "real"}, **SMALL).fit(_table())
    density = MADEDensity(n_models=1, **SMALL).fit(_table())
    with pytest.raises(ValueError, match="features"):
        density.score_samples(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="n_samples"):
        density.sample(0)


def _noise_images(n, seed=0):
    """8x8 binary images, each pixel on with probability 0.2: incompressible detail."""
    return (np.random.default_rng(seed).random((n, 64)) < 0.2).astype(np.float64)


def test_images_are_ranked_by_likelihood_corrected_for_their_png_size():
    from made.complexity import png_bits

    x = _noise_images(400)
    density = MADEDensity(image_shape=(8, 8), outlier_score="complexity", n_models=1, **SMALL)
    density.fit(x)
    assert density.outlier_score_ == "complexity" and density.binary_images_
    rows = np.vstack([_noise_images(20, seed=1), np.zeros((1, 64))])
    bits = png_bits(rows.reshape(-1, 8, 8), binary=True)
    expected = density.score_samples(rows) + math.log(2) * bits - density.offset_
    assert np.allclose(density.decision_function(rows), expected, rtol=0, atol=1e-9)
    # The failure complexity corrects: a blank image, unlike anything the model learnt, is
    # likelier than some of the noisy images it did learn, yet the least normal of all once
    # its size counts.
    assert density.score_samples(rows)[-1] > density.score_samples(rows[:-1]).min()
    assert density.decision_function(rows)[-1] < density.decision_function(rows[:-1]).min()
    assert density.predict(rows)[-1] == -1
    # offset_ is the contamination quantile of the training rows' outlier scores
    assert np.mean(density.predict(x) == -1) == pytest.approx(density.contamination, abs=0.01)
    # likelihood, the default for images too (benchmarks/image_outliers.py): the plain
    # log-density, shifted
    plain = MADEDensity(image_shape=(8, 8), n_models=1, **SMALL)
    plain.fit(x)
    assert plain.outlier_score_ == "likelihood"
    assert np.allclose(plain.decision_function(rows), plain.score_samples(rows) - plain.offset_)


def test_png_bits_reads_pixels_and_refuses_other_values():
    from made.complexity import png_bits

    blank, noisy = np.zeros((1, 8, 8)), _noise_images(1).reshape(1, 8, 8)
    assert png_bits(blank, True)[0] < png_bits(noisy, True)[0]
    assert png_bits(noisy * 255, False)[0] > png_bits(noisy, True)[0]  # 8 bits a pixel
    for bad in (blank + 0.5, blank - 1, blank + 256):
        with pytest.raises(ValueError, match="integers 0-255"):
            png_bits(bad, False)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        png_bits(np.zeros((8, 8)), True)


def test_image_settings_are_checked_before_training():
    x = _noise_images(50)
    for kwargs, message in (
        ({"outlier_score": "complexity"}, "give image_shape"),
        ({"outlier_score": "density"}, "outlier_score must be one of"),
        ({"image_shape": (8,)}, "image_shape must be"),
        ({"image_shape": (8, 0)}, "image_shape must be"),
        ({"image_shape": (4, 4)}, "holds 16 pixels; the rows have 64 columns"),
    ):
        with pytest.raises(ValueError, match=message):
            MADEDensity(max_epochs=1, **kwargs).fit(x)
    for score in ("complexity", "likelihood"):  # either way each pixel is an 8-bit level
        with pytest.raises(ValueError, match="integers 0-255"):
            MADEDensity(image_shape=(8, 8), outlier_score=score, max_epochs=1).fit(x * 0.5)
    with pytest.raises(ValueError, match="column_types does not apply to images"):
        MADEDensity(image_shape=(8, 8), column_types={"0": "real"}, max_epochs=1).fit(x)


def test_an_image_pixel_that_kept_one_level_in_training_is_unlikely_elsewhere_not_impossible():
    """Every pixel is on one scale (an integer grey level; 0/1 a binary category): typed one
    by one as a table's columns, pixel 0 (always 0) would be fixed and pixel 1 (never above
    2) would have no code for 5, so the new images below scored -inf."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=(120, 6))
    x[:, 0] = 0
    x[:, 1] = rng.integers(0, 3, size=120)
    density = MADEDensity(image_shape=(2, 3), n_models=1, hidden_sizes=(8,), max_epochs=2,
                          random_state=0).fit(x)  # fmt: skip
    columns = density.schema_.columns
    assert all(c.kind == "real" and c.integer and c.step == 1 for c in columns)
    assert density.schema_.fixed == () and not density.schema_.rules
    new = np.array([[3, 0, 1, 1, 1, 1], [0, 5, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1],
                    [0, 0, 1, 1, 1, 9]])  # fmt: skip
    scores = density.score_samples(new)
    assert np.isfinite(scores).all()
    assert scores[2] > max(scores[0], scores[1])  # the levels training showed: likelier
    samples = density.sample(50, random_state=0)
    assert samples.shape == (50, 6) and set(np.unique(samples)) <= set(range(256))
    assert (samples[:, 0] == 0).all()  # within each pixel's range (and a table's margin)
    # inpainting: the gaps filled with levels in range, given back in the fitted images'
    # dtype (an array of objects before)
    holes = new[:3].astype(np.float64)
    holes[0, 3:] = np.nan
    filled = density.impute(holes, random_state=0)
    assert filled.dtype == x.dtype and set(np.unique(filled)) <= set(range(256))
    assert np.array_equal(filled[:, :3], new[:3, :3])
    # 0/1 images: each pixel a binary category, never fixed
    binary = MADEDensity(image_shape=(2, 3), n_models=1, hidden_sizes=(8,), max_epochs=2,
                         random_state=0).fit((x > 2).astype(int))  # fmt: skip
    assert binary.schema_.num_categories == (2,) * 6 and binary.schema_.fixed == ()
    assert np.isfinite(binary.score_samples(np.ones((1, 6), dtype=int))).all()


def test_progress_names_the_model_of_the_mixture_that_trains(capsys):
    MADEDensity(n_models=2, hidden_sizes=(8,), max_epochs=2, random_state=0,
                verbose=True).fit(_table(60))  # fmt: skip
    out = capsys.readouterr().out
    assert "model 1 of 2: 30 rows, 30 held out" in out and "model 2 of 2" in out
    assert out.count("epoch") == 4


def test_noise_reaches_every_model_of_the_mixture_and_is_checked(monkeypatch):
    seen = _training_configs(monkeypatch)
    x = _table(60)
    MADEDensity(n_models=2, noise=0.3, hidden_sizes=(8,), max_epochs=1).fit(x)
    MADEDensity(n_models=1, hidden_sizes=(8,), max_epochs=1).fit(x)
    assert [c.noise for c in seen] == [0.3, 0.3, 0.0]  # the recipe's: none
    for bad in (-1, "high", True, float("nan")):
        with pytest.raises(ValueError, match="noise must be"):
            MADEDensity(noise=bad, n_models=1, hidden_sizes=(8,), max_epochs=1).fit(x)


def test_fold_models_trained_in_processes_are_the_ones_trained_in_turn(monkeypatch):
    from conftest import DEFAULT_BLOCKS_MIN_PRODUCT

    import made.fastpath

    # the library's bound here too, as in the worker processes (the suite's is 0: conftest)
    monkeypatch.setattr(made.fastpath, "BLOCKS_MIN_PRODUCT", DEFAULT_BLOCKS_MIN_PRODUCT)
    x = _table()[:120]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # each process computes with one thread: the same products
    try:
        settings = dict(n_models=3, hidden_sizes=(8,), max_epochs=3, random_state=0)
        alone = MADEDensity(**settings).fit(x)
        together = MADEDensity(n_jobs=2, **settings).fit(x)
    finally:
        torch.set_num_threads(threads)
    assert together._jobs(3) == 2 and alone._jobs(3) == 1
    assert np.array_equal(together.score_samples(x), alone.score_samples(x))
    assert [r.best_epoch for r in together.fit_results_] == [
        r.best_epoch for r in alone.fit_results_
    ]
    with pytest.raises(ValueError, match="n_jobs must be"):
        MADEDensity(n_jobs=0).fit(x)
