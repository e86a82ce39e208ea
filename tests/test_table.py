"""Tables: column types inferred and overridden, standardisation fitted on train and stored
with the model, encoding round trips, and the anomaly-scoring workflow end to end."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from conftest import write_csv

from made.cli import main
from made.data import DataError, TableSchema, infer_schema, load_data
from made.data.table import number_text
from made.runs import load_run, table_schema


def test_column_types_are_inferred_and_can_be_overridden():
    header = ["code", "shifted", "many", "frac", "word", "one", "month", "prior"]
    rows = [[str(i % 3), str(i % 2 - 5), str(i * 7 % 40), f"{i / 7:.3f}", "ab"[i % 2], "7",
             str(5 + i % 3), str(10 * (i % 2))] for i in range(40)]  # fmt: skip
    schema = infer_schema(header, rows, "t.csv")
    kinds = {c.name: (c.kind, c.values) for c in schema.columns}
    assert kinds["code"] == ("categorical", ("0", "1", "2"))  # codes are the values
    assert kinds["shifted"] == ("categorical", ("-5", "-4"))  # sorted distinct values
    assert kinds["many"] == ("real", ())  # 40 integers, each once: a density generalises
    assert kinds["frac"] == ("real", ())
    assert kinds["word"] == ("categorical", ("a", "b"))
    # codes from 0 keep their numbering; others are their values (no sample holds a month 0)
    assert kinds["one"] == ("categorical", ("7", "7 (other)"))  # padded to two
    assert kinds["month"] == ("categorical", ("5", "6", "7"))
    assert kinds["prior"] == ("categorical", ("0", "10"))  # not 0..10: 9 never held
    assert schema.num_categories == (3, 2, 0, 0, 2, 2, 3, 2)
    assert "word=2, one=one value, month=3 numbers" in schema.describe()  # not "one=2"
    nothing = infer_schema(["c", "k"], [["", str(i % 2)] for i in range(30)], "t.csv")
    assert nothing.describe().endswith("c=no value (every cell a gap), k=2")
    # one value, however it is written, still makes two categories (MADE needs K >= 2)
    for cell in ("-1", "x", "0"):
        assert infer_schema(["c"], [[cell]] * 3, "t.csv").num_categories == (2,)
    forced = infer_schema(header, rows, "t.csv", ["many=categorical", "0=real"])
    assert forced.columns[2].kind == "categorical" and len(forced.columns[2].values) == 40
    assert forced.columns[0].kind == "real"
    for bad, message in (
        (["nope=real"], "no column 'nope' to type"),
        (["code=fancy"], "expected NAME=categorical, NAME=real, NAME=log or NAME=linear"),
        (["word=real"], "line 2, word is 'a'; a real column holds numbers"),
    ):
        with pytest.raises(DataError, match=message):
            infer_schema(header, rows, "t.csv", bad)
    # an empty cell is a missing value: the column has gaps
    assert infer_schema(["a", "b"], [["1", "2"], ["1", ""]], "t.csv").columns[1].missing
    gap = r"\(na_values=inf reads such a cell as a gap\)"
    with pytest.raises(DataError, match=r"line 2, b is 'inf'; expected a finite number " + gap):
        infer_schema(["a", "b"], [["1", "inf"], ["1", "0.5"]], "t.csv")
    with pytest.raises(DataError, match="names column 'a' more than once"):
        infer_schema(["a", "a"], [["1", "2"]], "t.csv")
    # a header over two lines (a merged cell above 2020 and 2021) leaves columns unnamed
    with pytest.raises(DataError, match=r"leaves columns 3 and 5 \(counting from 1\) unnamed"):
        infer_schema(["Region", "Sales", "", "Costs", ""], [["", "2020", "2021", "2020", "2021"],
                     ["North", "100", "120", "80", "90"]], "t.csv")  # fmt: skip


def test_an_integer_column_is_discrete_or_dequantised_by_held_out_likelihood():
    """The column's own data decides: integers heaped on a few irregular values (more of
    them than any count rule would call categorical) are discrete; a smooth spread of a few
    values is a dequantised density; values on a grid keep their grid's step."""
    from made.data.integers import grid_step, held_out_logliks

    g = np.random.default_rng(0)
    heaps = g.choice(np.cumsum(g.integers(1, 9, 30)), 900)  # 30 heaps, irregular gaps
    smooth = np.rint(g.normal(50, 3, 900)).astype(int)  # about 20 values, a smooth bell
    grams = 2700 + 25 * g.integers(0, 60, 900)  # weighed to 25 g
    rows = [[str(a), str(b), str(c)] for a, b, c in zip(heaps, smooth, grams, strict=True)]
    schema = infer_schema(["heaps", "smooth", "grams"], rows, "t.csv")
    heaped, bell, mass = schema.columns
    assert heaped.kind == "categorical" and len(heaped.values) == len(set(heaps))
    assert bell.kind == "real" and bell.integer and bell.step == 1
    assert mass.kind == "real" and mass.step == 25 and grid_step(np.unique(grams)) == 25
    # the same heaps from 200 rows, under 10 a value: too few to learn each outcome from
    few = infer_schema(["heaps"], [[str(v)] for v in heaps[:200]], "t.csv").columns[0]
    assert few.kind == "real" and few.integer
    discrete, dequantised = held_out_logliks(heaps)
    assert discrete > dequantised + 0.5
    discrete, dequantised = held_out_logliks(smooth)
    assert dequantised > discrete
    assert held_out_logliks(smooth) == held_out_logliks(smooth)  # seeded: one table, one answer
    # decoding puts a value back on its grid, and sampling keeps it in range
    fitted = schema.with_statistics(schema.encode(rows, "t.csv", 2))
    mass = fitted.columns[2]
    z = (np.array([2712.0, 2737.4, 9000.0]) - mass.mean) / mass.std
    assert fitted.values_of(2, z).tolist() == [2700, 2725, 9000]
    assert fitted.values_of(2, z, samples=True)[2] == mass.bounds()[1] == 4175 + 25 * 3
    # the sampler's bounds, in encoded units: the range's ends decode to its ends
    low, high = fitted.sample_bounds()
    ends = np.array([low[2].item(), high[2].item()])
    assert fitted.values_of(2, ends).tolist() == list(mass.bounds())
    assert fitted.columns[0].kind == "categorical" and math.isinf(high[0])


def test_a_value_far_in_a_tail_keeps_its_probability_in_the_type_trial():
    """The dequantised trial scores a held-out integer by its interval's probability: 13 and
    12 standard deviations out it is about e^-93 and e^-73, not the floor 1e-300 (e^-691)
    that a normal CDF rounded to 0 or 1 gave, which counted an outlier against the density."""
    from made.data.integers import _dequantised

    train = np.round(np.random.default_rng(0).normal(50, 3, 300))
    near, high, low = _dequantised(train, np.array([50.0, 90.0, 10.0]))
    assert -3 < near < -1 and -120 < high < -60 and -120 < low < -50


def test_two_values_are_a_category_however_they_are_spelt():
    """A column of two numbers is binary, whatever numbers spell it: scikit-learn's diabetes
    table scales sex to 0.0507 and -0.0446, a standardised indicator is -0.9 and 1.1. As a
    real column its density would spike at the two values (a likelihood without meaning); as
    a category it has the probability of each. Through both doors: a CSV and a DataFrame."""
    pd = pytest.importorskip("pandas")
    from made.data.columns import column_arrays, infer_column_schema

    g = np.random.default_rng(0)
    sex = np.where(g.random(60) < 0.5, 0.0506801187398187, -0.044641636506989)
    other = g.normal(size=60)
    rows = [[repr(float(a)), repr(float(b))] for a, b in zip(sex, other, strict=True)]
    schema = infer_schema(["sex", "x"], rows, "t.csv")
    assert [c.kind for c in schema.columns] == ["categorical", "real"]
    assert schema.columns[0].values == ("-0.044641636506989", "0.0506801187398187")
    frame = pd.DataFrame({"sex": sex, "x": other})
    columns, names, dtypes = column_arrays(frame)
    assert [c.kind for c in infer_column_schema(columns, names, dtypes).columns] == [
        "categorical", "real"]  # fmt: skip
    forced = infer_schema(["sex", "x"], rows, "t.csv", ["sex=real"])
    assert forced.columns[0].kind == "real"


def test_numbers_recorded_to_a_few_places_lie_on_their_grid():
    """Measurements written to 0.1 mm are a grid, as whole millimetres are: dequantised in
    training, read at the middle of their interval when scored, decoded back onto the grid
    and written to their own precision (a sample is 39.1, never 39.1374)."""
    from made.data.integers import decimal_grid

    assert decimal_grid(np.array([4.3, 4.4, 5.1, 7.9])) == (1, pytest.approx(0.1))
    assert decimal_grid(np.array([0.05, 0.15, 1.0])) == (2, pytest.approx(0.05))
    assert decimal_grid(np.array([0.1 * 3, 0.7])) == (1, pytest.approx(0.4))  # float rounding
    assert decimal_grid(np.array([0.123456, 1.5])) is None  # a continuum: not a grid
    # six places on values in the hundreds are a continuum too (a millionth of the value
    # made every height written to 6 places a 0.0001 grid); a float32's rounding is not
    assert decimal_grid(np.array([10.8, 12.4], dtype=np.float32).astype(np.float64)) == (
        1, pytest.approx(1.6))  # fmt: skip
    assert decimal_grid(np.array([170.123456, 181.654321, 159.5])) is None
    assert decimal_grid(np.array([1234.5678, 1234.568, 9876.5432])) == (4, pytest.approx(2e-4))
    assert decimal_grid(np.array([2.5])) is None
    # values that all round to 0 at a place (1e-20, a gas's density in g/cm3) are no grid
    # of tenths: read as one, every sample was 0 or 0.1
    assert decimal_grid(np.array([7e-21, 1e-20, 2.5e-20])) is None
    g = np.random.default_rng(0)
    bills = np.round(g.normal(44, 5, 300), 1)
    rows = [[f"{v:.1f}", f"{w:.6f}"] for v, w in zip(bills, g.normal(0, 1, 300), strict=True)]
    schema = infer_schema(["bill", "w"], rows, "t.csv")
    bill, w = schema.columns
    assert (bill.kind, bill.integer, bill.decimals) == ("real", False, 1)
    assert bill.step == pytest.approx(0.1)
    assert w.decimals == 0 and not w.gridded
    fitted = schema.with_statistics(schema.encode(rows, "t.csv", 2))
    bill = fitted.columns[0]
    scored = fitted.dequantise(fitted.standardise(np.array([[39.1, 0.0]])))
    assert scored[0, 0] * bill.std + bill.mean == pytest.approx(39.15)  # its interval's middle
    z = (np.array([39.1374, 39.1, 61.77]) - bill.mean) / bill.std
    assert fitted.values_of(0, z).tolist() == [39.1, 39.1, 61.7]
    assert [row[0] for row in fitted.decode(np.column_stack([z, np.zeros(3)]))] == [
        "39.1", "39.1", "61.7"]  # fmt: skip
    assert TableSchema.from_dict(fitted.to_dict()) == fitted
    assert "bill=real on a 0.1 grid" in fitted.describe()
    # numbers on a grid are tried as integers are: a few heaped bands come out discrete
    bands = g.choice(
        [0.5, 2.5, 6.0, 9.0, 13.0, 16.5, 23.0], 900, p=[0.1, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1]
    )
    band = infer_schema(["years"], [[str(float(v))] for v in bands], "t.csv").columns[0]
    assert band.kind == "categorical" and band.values == (
        "0.5",
        "2.5",
        "6",
        "9",
        "13",
        "16.5",
        "23",
    )


def test_values_off_any_grid_are_written_with_six_digits_and_no_exponent():
    """A real column off any grid is written to six significant digits, as .6g would, but a
    population of 1234567.9 is 1234568 (not 1.23457e+06), and a small value stays decimal."""
    from made.data.table import continuum_text

    assert [continuum_text(v) for v in (25.871934, -24.69454, 1234567.891, -2e7 - 0.4,
                                        0.0000345671, 3.4e-5, 0.5, 2e15, 1e-9)] == [
        "25.8719", "-24.6945", "1234568", "-20000000", "0.0000345671", "0.000034", "0.5",
        "2e+15", "1e-09"]  # fmt: skip
    g = np.random.default_rng(0)
    incomes = np.exp(g.normal(9, 3, 200))  # 0.1 to 10 million, to six places: a continuum
    rows = [[f"{v:.6f}"] for v in incomes]
    schema = infer_schema(["income"], rows, "t.csv")
    fitted = schema.with_statistics(schema.encode(rows, "t.csv", 2))
    assert not fitted.columns[0].gridded and incomes.max() > 1e6
    written = [r[0] for r in fitted.decode(fitted.encode(rows, "t.csv", 2))]
    assert not any("e" in w for w in written)


def test_numbers_mostly_on_a_coarser_grid_are_read_at_its_points():
    """Titanic's ages are whole on 96% of rows (infants' months and a few estimates at 28.5
    are not): read on the whole numbers, each at its nearest one, samples are whole, where
    on the 0.0001 grid the rest needs nearly none was. A score of 1 to 5 with one 2.5 stays
    a discrete column of five values, not a density and not a sixth category."""
    from made.data.integers import coarse_grid
    from made.sklearn import MADEDensity

    g = np.random.default_rng(0)
    ages = g.integers(1, 80, 400).astype(float)
    odd = [0.42, 0.67, 0.9167, 28.5, 45.5, 0.1667, 14.5, 30.5, 0.75, 0.83, 36.5, 22.5]
    ages[: len(odd)] = odd
    scores = g.integers(1, 6, 400).astype(float)
    scores[0] = 2.5
    assert coarse_grid(ages) == (0, 1.0, 1.0)
    assert coarse_grid(np.round(ages)) is None  # all on it: a grid as it is
    halves = np.where(g.random(400) < 0.2, 0.5, 0.0) + g.integers(30, 45, 400)
    assert coarse_grid(halves) is None  # 20% at .5: the 0.5 grid stays
    zeros = np.where(g.random(400) < 0.9, 0.0, g.exponential(3.0, 400))
    assert coarse_grid(zeros) is None  # an atom and a continuum: the atom is left out
    baths = np.where(g.random(400) < 0.05, 0.5, 0.0) + g.integers(1, 4, 400)
    assert coarse_grid(baths) is None  # 1.5 and 2.5 baths repeat: levels of their own
    brains = np.round(np.exp(g.normal(3, 2.5, 60)), 1)
    brains[:3] = [0.14, 0.25, 0.33]
    assert coarse_grid(brains) is None  # on a log scale, 0.14 g is not 0.1 g
    brains[:3] = [140.14, 250.25, 330.33]
    assert coarse_grid(brains) == (1, pytest.approx(0.1), brains[np.argmin(brains)])
    assert coarse_grid(np.array([1.05, 2.1, 2.2, 3.3, 4.4, 5.5, 6.6, 7.7, 8.8, 9.9, 1.1])) == (
        1, pytest.approx(0.1), 1.1)  # fmt: skip
    rows = [[number_text(a), number_text(s)] for a, s in zip(ages, scores, strict=True)]
    schema = infer_schema(["age", "score"], rows, "t.csv")
    age, score = schema.columns
    assert (age.kind, age.integer, age.step, age.snap) == ("real", True, 1.0, 1.0)
    assert score.kind == "categorical" and score.values == ("1", "2", "3", "4", "5")
    fitted = schema.with_statistics(schema.encode(rows, "t.csv", 2))
    age = fitted.columns[0]
    assert age.low == 0.0 and "age=integer (values off its grid rounded)" in (
        fitted.describe())  # fmt: skip
    assert TableSchema.from_dict(fitted.to_dict()) == fitted
    x = fitted.encode([["0.42", "2.5"], ["28.5", "3"], ["28", "4.4"]], "t.csv", 2)
    assert fitted.values_of(0, x[:, 0]).tolist() == [0.0, 29.0, 28.0]
    assert x[:, 1].tolist() == [2.0, 2.0, 3.0]  # codes of 3, 3 and 4
    scored = fitted.dequantise(x)  # in the middle of the nearest point's interval
    assert scored[1, 0] * age.std + age.mean == pytest.approx(29.5)
    # the estimator reads them alike, and samples whole ages
    frame = np.column_stack([ages, scores])
    density = MADEDensity(n_models=1, hidden_sizes=(16,), max_epochs=5, random_state=0)
    density.fit(frame)
    assert density.schema_.columns[0].snap == 1.0
    drawn = density.sample(500, random_state=0)
    assert np.all(drawn[:, 0] == np.round(drawn[:, 0])) and set(drawn[:, 1]) <= {1, 2, 3, 4, 5}
    assert np.all(np.isfinite(density.score_samples(frame[:20])))
    # a held-out score off the grid and past the values held (7.3): a new whole number, 7
    assert np.isfinite(density.score_samples(np.array([[30.0, 7.3]])))[0]
    x, unknown, _ = density._encoded(np.array([[30.0, 7.3]]))
    assert unknown[0, 1] and x[0, 1] == 4  # read as the nearest value held, 5


def test_an_end_many_rows_hold_is_a_wall_samples_do_not_pass():
    """openintro's loans: the share of accounts never delinquent is 100 on most rows, and a
    sample of 100.2 is no share. An end that 5% of the rows hold is a wall: samples stay
    within it, where an end few rows hold is widened by 5% of the range as before."""
    from made.sklearn import MADEDensity

    g = np.random.default_rng(0)
    share = np.where(g.random(400) < 0.4, 100.0, np.round(g.uniform(60, 99.9, 400), 1))
    score = np.round(g.normal(50, 10, 400), 1)
    rows = [[f"{a:.1f}", f"{b:.1f}"] for a, b in zip(share, score, strict=True)]
    schema = infer_schema(["share", "score"], rows, "t.csv")
    fitted = schema.with_statistics(schema.encode(rows, "t.csv", 2))
    wall, free = fitted.columns
    assert wall.walls == (False, True) and free.walls == (False, False)
    assert wall.bounds()[1] == 100.0 and free.bounds()[1] > score.max() + 1
    assert TableSchema.from_dict(fitted.to_dict()) == fitted
    density = MADEDensity(n_models=1, hidden_sizes=(16,), max_epochs=5, random_state=0)
    drawn = density.fit(np.column_stack([share, score])).sample(2000, random_state=0)
    assert drawn[:, 0].max() == 100.0 and drawn[:, 1].max() > score.max()


def test_a_column_within_0_and_1_is_drawn_within_1():
    """p-values of 1e-18 to 0.996 (skewed: on a log scale) were widened by 5% of the log's
    range to 8.4, and 5% of samples lay above 1; a column whose values all lie within 0 and
    1 (a share, a probability) stays within 1. One within 0.1 and 0.4 is widened as any."""
    from made.sklearn import MADEDensity

    g = np.random.default_rng(0)
    frame = np.column_stack([g.uniform(size=300) ** 8, g.uniform(0.1, 0.4, 300)])
    density = MADEDensity(n_models=1, hidden_sizes=(32,), max_epochs=40, random_state=0)
    p_value, share = density.fit(frame).schema_.columns
    assert p_value.log and p_value.bounds()[1] == 1.0
    assert share.bounds()[1] == pytest.approx(share.high + 0.05 * (share.high - share.low))
    drawn = density.sample(4000, random_state=0)
    assert (drawn[:, 0] <= 1.0).all() and (drawn[:, 0] > 0).all()


def test_rows_as_json_records_keep_their_types():
    """``TableSchema.records`` (``made sample --out x.jsonl``): a whole number as an
    integer, a real one as a float, a boolean as true or false, a number held discrete as a
    number, a date and text as text, a gap as null."""
    rows = [[str(20 + i % 7), f"{1.5 + i / 10:.1f}", ["true", "false"][i % 2], str(2007 + i % 3),
             f"2021-03-{1 + i % 28:02d}", "ab"[i % 2], "NA" if i % 5 == 0 else str(i % 4)]
            for i in range(60)]  # fmt: skip
    names = ["age", "size", "ok", "year", "day", "kind", "n"]
    schema = infer_schema(names, rows, "t.csv")
    fitted = schema.with_statistics(schema.encode(rows, "t.csv", 2))
    records = fitted.records(fitted.encode(rows, "t.csv", 2))
    assert records[0] == {"age": 20, "size": 1.5, "ok": True, "year": 2007,
                          "day": "2021-03-01", "kind": "a", "n": None}  # fmt: skip
    assert records[1] == {"age": 21, "size": 1.6, "ok": False, "year": 2008,
                          "day": "2021-03-02", "kind": "b", "n": 1}  # fmt: skip


def test_a_value_many_rows_repeat_is_an_atom():
    """Fair's affairs: 0 on 68% of rows, other values a continuum. That 0 is an atom, read
    within a narrow interval above it (as a grid point's value is) and written back as 0, so
    samples repeat it (as a density alone almost never draws one value twice)."""
    from made.sklearn import MADEDensity

    g = np.random.default_rng(0)
    amounts = np.where(g.random(600) < 0.6, 0.0, g.exponential(3.0, 600) + 0.05)
    heights = g.normal(170, 10, 600)
    rows = [[f"{a:.6f}", f"{h:.6f}"] for a, h in zip(amounts, heights, strict=True)]
    schema = infer_schema(["amount", "height"], rows, "t.csv")
    amount, height = schema.columns
    width = min(0.05 * amounts.std(), amounts[amounts > 0].min())  # up to the next value
    assert amount.atom == 0.0 and height.atom is None
    assert amount.atom_width == pytest.approx(width, rel=1e-4)
    fitted = schema.with_statistics(schema.encode(rows, "t.csv", 2))
    amount = fitted.columns[0]
    assert "amount=real with an atom at 0" in fitted.describe()
    assert TableSchema.from_dict(fitted.to_dict()) == fitted
    x = fitted.standardise(np.array([[0.0, 170.0], [2.0, 170.0]]))
    scored = fitted.dequantise(x)
    assert scored[0, 0] * amount.std + amount.mean == pytest.approx(amount.atom_width / 2)
    assert scored[1, 0] == x[1, 0]  # a value off the atom is as it is
    trained = fitted.dequantise(np.repeat(x, 200, axis=0), torch.Generator().manual_seed(0))
    inside = trained[:200, 0] * amount.std + amount.mean
    assert (inside >= 0).all() and (inside < amount.atom_width).all() and inside.std() > 0
    z = np.array([0.0, amount.atom_width * 0.99, amount.atom_width * 1.01]) - amount.mean
    assert fitted.values_of(0, z / amount.std).tolist()[:2] == [0.0, 0.0]
    assert fitted.values_of(0, z / amount.std)[2] > 0
    # samples repeat the atom about as often as the data (the mass below 0 drawn as 0 too)
    density = MADEDensity(n_models=1, hidden_sizes=(32,), max_epochs=40, random_state=0)
    density.fit(amounts[:, None])
    drawn = density.sample(4000, random_state=0)[:, 0]
    assert (drawn >= 0).all() and 0.4 < (drawn == 0).mean() < 0.8


def test_standardisation_is_fitted_on_train_and_round_trips(tmp_path):
    g = np.random.default_rng(0)
    rows = [[f"{v:.7f}", "xyz"[int(k)], str(int(k) % 2)]  # 7 places: a continuum, no grid
            for v, k in zip(g.normal(50, 8, 300), g.integers(0, 3, 300), strict=True)]  # fmt: skip
    path = write_csv(tmp_path / "t.csv", ["height", "colour", "flag"], rows)
    data = load_data(str(path))
    train = data.splits["train"]
    assert data.num_categories == (0, 3, 2)
    assert abs(train[:, 0].mean()) < 1e-12 and abs(train[:, 0].std() - 1) < 1e-12
    column = data.schema.columns[0]
    raw = np.array([float(r[0]) for r in rows])
    assert 45 < column.mean < 55 and 6 < column.std < 10
    # valid and test use the training statistics, not their own
    for split in ("valid", "test"):
        x = data.splits[split][:, 0] * column.std + column.mean
        assert set(np.round(x, 7)) <= set(np.round(raw, 7))
    # the whole table, decoded, is the file again
    expected = [[f"{float(a):.6g}", b, c] for a, b, c in rows]
    assert data.schema.decode(data.original["all"]) == expected
    assert data.schema.log_scale == pytest.approx(math.log(column.std))
    # and the schema survives its dict form
    assert TableSchema.from_dict(data.schema.to_dict()) == data.schema


def test_a_given_schema_encodes_new_rows_exactly_as_in_training(tmp_path):
    rows = [[str(i * 37 % 100), "pq"[i % 2]] for i in range(100)]  # integers, not a row count
    train = write_csv(tmp_path / "a.csv", ["v", "c"], rows)
    schema = load_data(str(train)).schema
    shifted = write_csv(tmp_path / "b.csv", ["v", "c"], [[str(i + 1000), "q"] for i in range(30)])
    data = load_data(str(shifted), schema=schema)
    col = schema.columns[0]
    assert col.integer  # read at the middle of each integer's unit interval
    expected = (np.arange(30) + 1000.5 - col.mean) / col.std
    assert np.allclose(data.original["all"][:, 0], expected)
    one = load_data(str(write_csv(tmp_path / "one.csv", ["v", "c"], [["5", "p"]])), schema=schema)
    assert one.original["all"].tolist() == [[(5.5 - col.mean) / col.std, 0.0]]  # scorable alone
    unknown = write_csv(tmp_path / "c.csv", ["v", "c"], [["1", "p"], ["2", "r"]])
    message = "c.csv: line 3, c is 'r'; expected one of its categories: p, q"
    with pytest.raises(DataError, match=message):
        load_data(str(unknown), schema=schema)
    renamed = write_csv(tmp_path / "d.csv", ["v", "colour"], [["1", "p"]] * 10)
    with pytest.raises(DataError, match="the model reads column 'c', which the file's header "
                       "does not name \\(it names v, colour\\)"):  # fmt: skip
        load_data(str(renamed), schema=schema)
    narrow = write_csv(tmp_path / "e.csv", ["v"], [["1"]] * 10)
    with pytest.raises(DataError, match="reads column 'c', which the file's header does not"):
        load_data(str(narrow), schema=schema)
    headless = tmp_path / "h.csv"
    headless.write_text("1\n2\n")
    with pytest.raises(DataError, match="1 columns, but the model's table has 2"):
        load_data(str(headless), schema=schema, header="no")
    # columns the model does not read (a label, a note) are left out, and said so
    wider = write_csv(tmp_path / "w.csv", ["note", "v", "c", "label"],
                      [["n", v, c, "1"] for v, c in rows[:20]])  # fmt: skip
    read = load_data(str(wider), schema=schema)
    assert any("left out 'note', 'label': columns the model does not" in n for n in read.notes)
    assert np.array_equal(read.original["all"],
                          load_data(str(write_csv(tmp_path / "s.csv", ["v", "c"], rows[:20])),
                                    schema=schema).original["all"])  # fmt: skip
    # the model's columns in another order (a file exported by another tool): matched by
    # name, and said so; the same rows, encoded exactly as in the model's order
    swapped = write_csv(tmp_path / "f.csv", ["c", "v"], [[c, v] for v, c in rows[:20]])
    same = write_csv(tmp_path / "g.csv", ["v", "c"], rows[:20])
    by_name = load_data(str(swapped), schema=schema)
    in_place = load_data(str(same), schema=schema)
    assert np.array_equal(by_name.original["all"], in_place.original["all"])
    assert any("matched by name" in note for note in by_name.notes)


def _table_with_outliers(path, n=400, seed=0):
    """y = 2x + small noise, and a category that follows the sign of x; rows 7, 150 and 333
    break both rules. x is normal within 2.5 standard deviations: a row of the rules far out
    in a tail (x = -3.8 at seed 0) is as improbable as a planted one."""
    g = np.random.default_rng(seed)
    x = g.normal(0, 1, n).clip(-2.5, 2.5)
    y = 2 * x + g.normal(0, 0.1, n).clip(-0.2, 0.2)  # no row of the rule is far off it
    kind = np.where(x > 0, "up", "down")
    for i in (7, 150, 333):
        y[i] = -2 * x[i]
        kind[i] = "up" if x[i] <= 0 else "down"
        x[i] = 1.5 if x[i] > 0 else -1.5
        y[i] = -2 * x[i]
    rows = [[f"{a:.5f}", f"{b:.5f}", k] for a, b, k in zip(x, y, kind, strict=True)]
    return write_csv(path, ["x", "y", "kind"], rows)


def test_train_score_and_sample_a_table_from_the_command_line(tmp_path, capsys):
    data = _table_with_outliers(tmp_path / "t.csv")
    run = tmp_path / "run"
    argv = ["train", "--data", str(data), "--out", str(run), "--hidden", "32,32", "--epochs",
            "60", "--device", "cpu", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    for name in ("samples.csv", "samples.png", "best.pt", "summary.json"):
        assert (run / name).is_file()
    model, payload, _ = load_run(run)
    schema = table_schema(payload)
    assert schema is not None and schema.num_categories == (0, 0, 2)
    assert model.config.num_categories == (0, 0, 2)
    capsys.readouterr()
    assert main(["score", str(run), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    with open(run / "scores.csv") as f:
        scores = list(csv.DictReader(f))
    header = ["index", "nll_nats_data_units", "bits_per_dim", "largest_term", "x", "y", "kind"]
    assert list(scores[0]) == header  # the unit, named: the table's own (as eval's)
    nll = np.array([float(r["nll_nats_data_units"]) for r in scores])
    assert sorted(np.argsort(-nll)[:3].tolist()) == [7, 150, 333]
    assert "highest-scoring rows" in printed and "kind=" in printed
    # each planted row is unlikely because of y given x, or the kind given both: said so
    assert {scores[i]["largest_term"] for i in (7, 150, 333)} <= {"y", "kind"}
    assert "largest terms -log p(column | columns before it): " in printed
    # the scores are the model's exact NLL of the rows encoded with the stored statistics, in
    # the table's own units (the standardisation's log-Jacobian added, and the share kind
    # keeps for a value never seen)
    x = torch.from_numpy(schema.encode([[r["x"], r["y"], r["kind"]] for r in scores], "t", 2))
    expected = -model.log_prob(x.float()).double() + schema.log_scale
    expected -= math.log1p(-schema.columns[2].novel)
    expected -= sum(math.log1p(-c.novel_gap) for c in schema.columns)  # gaps it never had
    assert np.allclose(nll, expected.detach().numpy(), atol=1e-4)
    # a category the model never saw: scored by the share kind keeps for one (as
    # MADEDensity.score_samples scores it); the other rows are scored as they were, the row
    # is written as the file has it, and the output says which cell it was
    novel = [[r["x"], r["y"], r["kind"]] for r in scores[:6]]
    novel[2][2] = "sideways"
    novel_csv = write_csv(tmp_path / "novel.csv", ["x", "y", "kind"], novel)
    capsys.readouterr()
    out_csv = tmp_path / "novel-scores.csv"
    argv = ["score", str(run), "--data", str(novel_csv), "--out", str(out_csv), "--device", "cpu"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    with open(out_csv) as f:
        novel_scores = list(csv.DictReader(f))
    got = [float(r["nll_nats_data_units"]) for r in novel_scores]
    terms = model.conditional_log_probs(x[2:3].float()).detach().double()[0]
    kind = schema.columns[2]
    own = (
        -float(terms[:2].sum()) + schema.nll_offset + math.log1p(-kind.novel) - math.log(kind.novel)
    )
    assert got[2] == pytest.approx(own, abs=1e-4) and got[2] > nll[2]
    assert np.allclose(np.delete(got, 2), np.delete(nll[:6], 2), atol=1e-5)
    assert novel_scores[2]["kind"] == "sideways" and novel_scores[2]["largest_term"] == "kind"
    assert "1 row holds a value the model never saw (first: " in printed
    assert "scored by the share the model keeps for values it never saw" in printed
    assert "impossible" not in printed
    assert "novel.csv: line 4, kind is 'sideways'" in printed
    # eval scores such rows as score does: of six rows each holding one, its test split's one
    # row scores as that row's line of scores.csv
    sideways = write_csv(tmp_path / "sideways.csv", ["x", "y", "kind"],
                         [[r[0], r[1], "sideways"] for r in novel])  # fmt: skip
    assert main(["score", str(run), "--data", str(sideways), "--out", str(out_csv),
                 "--device", "cpu"]) == 0  # fmt: skip
    with open(out_csv) as f:
        each = [float(r["nll_nats_data_units"]) for r in csv.DictReader(f)]
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(sideways), "--device", "cpu", "--json"]) == 0
    printed = capsys.readouterr()
    report = json.loads(printed.out)  # the note on stderr: stdout is the JSON alone
    assert "scored by the share the model keeps" in printed.err
    assert report["num_examples"] == 1
    assert min(abs(report["nll_original_units"] - v) for v in each) < 1e-5, (report, each)
    # samples come back in the table's own units and categories
    assert main(["sample", str(run), "-n", "50", "--device", "cpu"]) == 0
    with open(run / "sampled.csv") as f:
        samples = list(csv.DictReader(f))
    assert len(samples) == 50 and {r["kind"] for r in samples} <= {"up", "down"}
    ratio = np.median([float(r["y"]) / float(r["x"]) for r in samples])
    assert 1.5 < ratio < 2.5  # the model learnt y = 2x
    code = main(["sample", str(run), "--out", str(tmp_path / "s.png"), "--device", "cpu"])
    assert code == 2 and "--out must end in .csv, .jsonl or .npy" in capsys.readouterr().err
    # resuming on a table whose rows changed is refused, naming what changed; the run's
    # report is left as it was
    summary = (run / "summary.json").read_text()
    _table_with_outliers(data, seed=1)
    capsys.readouterr()
    assert main(["train", "--resume", "--out", str(run), "--device", "cpu", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is not the data this run was trained on: split 'test' has the same shape" in err
    assert (run / "summary.json").read_text() == summary


def test_named_tables_export_to_csv_and_read_back(tmp_path, capsys):
    pytest.importorskip("sklearn")
    wine = load_data("wine")
    assert wine.shape == (14,) and wine.num_categories[-1] == 3
    assert wine.num_categories[:13] == (0,) * 13
    out = tmp_path / "wine.csv"
    assert main(["data", "export", "wine", "--out", str(out)]) == 0
    again = load_data(str(out))
    assert again.num_categories == wine.num_categories and again.columns == wine.columns
    assert np.allclose(again.original["all"], wine.original["all"], atol=1e-6)
    assert main(["data", "show", "wine", "--out", str(tmp_path / "w.png")]) == 0
    assert (tmp_path / "w.png").stat().st_size > 0


def test_a_wide_table_draws_its_first_columns_only(tmp_path):
    from PIL import Image

    from made.plots import plot_columns

    g = np.random.default_rng(0)
    rows = [[f"{v:.3f}" for v in g.normal(size=100)] for _ in range(50)]
    data = load_data(str(write_csv(tmp_path / "wide.csv", [f"c{j}" for j in range(100)], rows)))
    plot_columns(data.schema, data.splits["train"], tmp_path / "wide.png", max_columns=8)
    width, height = Image.open(tmp_path / "wide.png").size
    assert (width, height) == (4 * 320, 2 * 240)  # 8 panels, 4 to a row, 100 dpi


def test_a_column_of_many_categories_draws_its_most_frequent_and_the_rest():
    """38 species' names in one panel overlapped into a smudge (dplyr's starwars): past
    ``MAX_BARS`` a panel shows the most frequent categories, in the column's order, and one
    bar for the others, which together hold every row."""
    from made.plots import MAX_BARS, _bar_groups

    values = [f"species {k:02d}" for k in range(38)]
    freq = np.random.default_rng(0).dirichlet(np.ones(38))
    groups, labels = _bar_groups(freq, values)
    assert len(groups) == len(labels) == MAX_BARS and labels[-1] == f"other ({39 - MAX_BARS})"
    top = np.concatenate(groups[:-1])
    assert (np.diff(top) > 0).all()  # in the column's order
    assert freq[top].min() >= freq[groups[-1]].max()  # the most frequent
    assert sum(freq[g].sum() for g in groups) == pytest.approx(1.0)
    assert labels[0] == "species "  # a name's first 8 characters
    few, names = _bar_groups(freq[:5] / freq[:5].sum(), values[:5])
    assert [g.tolist() for g in few] == [[0], [1], [2], [3], [4]] and len(names) == 5
