"""MADE as a scikit-learn estimator: a density and outlier detector for tables and arrays.

``MADEDensity`` fits a MADE to the rows of a numpy array or a pandas DataFrame (numeric,
boolean, text and categorical columns, typed as ``made.data.columns`` says) with the settings
``made train`` would choose for them (the ``auto`` recipe, sized to the data, trained until a
held-out tenth stops improving), and then behaves like scikit-learn's density and outlier
estimators: ``score_samples`` is the exact log-density of each row in nats, in the data's own
units (as ``GaussianMixture.score_samples`` and ``KernelDensity.score_samples`` give it),
``score`` its mean, ``sample`` draws rows, and ``decision_function``/``predict`` flag the
``contamination`` share of least likely rows, as ``IsolationForest`` does. Rows that are
images (``image_shape``) can be ranked as outliers by likelihood corrected for the image's
complexity (``made.complexity``, ``outlier_score="complexity"``); by default they are ranked
by likelihood, which ranks better on average over seven image tasks. It clones,
pickles, and works in ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.

scikit-learn is an optional extra (``pip install made[sklearn]``); made never needs it.

    >>> from made.sklearn import MADEDensity
    >>> density = MADEDensity(random_state=0).fit(table)        # doctest: +SKIP
    >>> density.score_samples(new_rows)                         # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import math
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

try:
    from sklearn.base import BaseEstimator, DensityMixin, OutlierMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import check_array, check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError(
        "made.sklearn needs scikit-learn >= 1.6: pip install 'made[sklearn]'"
    ) from exc

from .complexity import check_pixels, png_bits
from .config import TrainConfig
from .data.columns import (
    column_arrays,
    decode_columns,
    encode_columns,
    gaps_of,
    infer_column_schema,
    novel_log_probs,
    numpy_times,
    pixel_schema,
    total_row,
)
from .data.novel import log_kept, novel_nll
from .data.rules import keep_rules
from .devices import resolve_device
from .impute import gaps, impute
from .model import MADE
from .scoring import score_rows
from .settings import resolve
from .train import fit

__all__ = ["MADEDensity"]

# n_models="auto": a mixture of this many fold models for a table of up to this many cells
SMALL_MODELS = 5
SMALL_TABLE = 100_000
# ... and this many for a table of fewer rows than FEW_ROWS: two rounds of 8 folds, each
# model training on 7/8 of the rows, not 4/5, the mixture holding more orderings and each
# row held out twice (held out, 8 folds beat 5 on all 8 tables of fewer than 200 training
# rows they were chosen on, by 0.17 nats a row on average, and on 7 of 12 tiny tables held
# back, by 0.08; a second round of 8 gains again on 18 of 21 such tables, by 0.05 on
# average (wine 0.25, davis 0.23), the others losing at most 0.05, at twice the fit time;
# benchmarks/README.md, "A second round of 8 folds")
FEW_MODELS = 16
FEW_ROWS = 200
# A mixture of more models than this is rounds of this many folds, each round its own
# partition of the rows (more folds would hold out too few rows to choose an epoch on).
MAX_FOLDS = 8
OUTLIER_SCORES = ("auto", "likelihood", "complexity")


class MADEDensity(OutlierMixin, DensityMixin, BaseEstimator):
    """A MADE density over the rows of a table, as a scikit-learn estimator.

    Parameters left as None take the ``auto`` recipe's value for the data (``made train
    --data``): its hidden layers, dropout, masks and learning rate are sized to the number of
    rows per column, and it trains until ``validation_fraction`` of the rows stops improving
    for ``patience`` epochs.

    Args:
        hidden_sizes: hidden layer sizes (None: the recipe's).
        num_masks: masks trained (order-agnostic, scored as their mixture); None: the recipe's.
        dropout: hidden-unit dropout while training; None: the recipe's.
        num_components: Gaussians in each real column's conditional density; None: the
            recipe's (4).
        n_models: MADEs whose mixture (of probabilities) is the density, model k holding
            out the k-th of as many folds to choose its epoch (beyond 8, rounds of 8 folds,
            each round its own partition of the rows); ``"auto"``: 5 for a small table
            (rows x columns up to 100,000: on wine and breast cancer the mixture of 5 scores
            1.7 and 2.4 nats a row better on held-out rows than one), 16 under 200 rows (two
            rounds of 8 folds: 8 folds score 0.17 nats a row better than 5 on such tables,
            the second round 0.05 more; 8 for images), else 1. The
            first model takes the columns in their order; each other one of a table's
            mixture draws its own random ordering (held out: as good or better on 16 real
            tables of 18, by 0.21 nats a row on average).
        lr: Adam's learning rate; None: the recipe's.
        max_epochs: at most this many epochs (None: the recipe's 1,000).
        patience: stop after this many epochs without a better held-out NLL; None: the
            recipe's (10).
        min_epochs: choose the best epoch from this one on (``TrainConfig.min_epochs``);
            None: the recipe's (20 under 200 training rows, where a fold model's held-out
            fold is too small to stop earlier on; else 0).
        noise: the standard deviation of Gaussian noise added afresh at every step to the
            real columns of the training rows, in standard deviations of each column
            (``TrainConfig.noise``); None: the recipe's (0). It smooths what a few rows of
            many columns teach the model, and how much helps differs by table (held out:
            0.3 gains 0.48 nats a row on wine, 0.1 loses 1 to 7 on breast cancer, diabetes
            and grunfeld), so choose it on held-out rows, e.g. with ``GridSearchCV``.
        batch_size: rows per step; ``"auto"``: the recipe's, 16 for a small table (up to
            100,000 training cells; 8 under 200 training rows of at most 16 columns, 32
            from 400 training rows on), else 128. At 128 an
            epoch of a hundred rows is one step, and early stopping ends the training after
            a few dozen steps: batches of 16 score 0.5 (wine) and 3.3 (breast cancer) nats
            a row better on held-out rows.
        calibrate: after each model trains, widen or sharpen each column's conditional
            to fit the rows it held out (``made.calibrate``: a real column's scales, a
            categorical or binary one's temperature), as the auto recipe does: held out,
            0.16 nats a row better on average over 18 real tables (12 gain, 6 lose at most
            0.07), and samples nearly as spread as the data (``benchmarks/README.md``,
            "Calibrated conditionals").
        validation_fraction: with one model, the share of rows held out to choose the epoch
            (none with fewer than 10 rows: the training rows are used).
        contamination: the share of training rows ``predict`` calls outliers (``offset_`` is
            their outlier score's quantile), in (0, 0.5].
        image_shape: ``(height, width)`` when each row is an image of 8-bit pixels
            (integers 0-255, or 0/1), row by row: every pixel is then on one scale, an
            integer grey level (a binary category for 0/1 images;
            ``made.data.columns.pixel_schema``: a pixel that kept one level in training is
            unlikely elsewhere, not impossible), and it is what the ``"complexity"`` outlier
            score compresses. ``column_types`` does not apply.
        outlier_score: what ``decision_function`` and ``predict`` rank rows by (higher:
            more normal). ``"likelihood"``: the log-density, ``score_samples``.
            ``"complexity"``: the log-density plus the image's PNG size in nats (Serra et
            al., 2020; ``made.complexity``): better where anomalies are simpler than the
            normal images (one-class Fashion-MNIST, AUROC 0.894 against 0.858), worse where
            they are more complex or the images are small (digits, normal 0-4: 0.805 against
            0.928; Fashion-MNIST normal, MNIST anomalies: 0.593 against 0.757). ``"auto"``:
            likelihood, which has the higher mean AUROC over seven image tasks (0.907
            against 0.872; ``benchmarks/image_outliers.py``).
        column_types: ``{column name: "categorical" | "real" | "log" | "linear"}`` (the last
            two: real, on a log scale or on its own) overriding the inferred type
            (an array's columns are named "0", "1", ...).
        precision: the training steps' products (``TrainConfig.precision``).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        random_state: seeds the split, the weights, the masks and the batches.
        verbose: print which model of the mixture trains, and one line per epoch (with
            ``n_jobs``, a line as each model is done). Without it, a fit still running after
            5 seconds shows a progress bar on a terminal (the model of the mixture, its
            epoch and held-out NLL), and nothing otherwise.
        n_jobs: fold models trained at once on the CPU, each in a process of its own
            (joblib's convention: None is 1 unless set by ``joblib.parallel_config``, -1
            every core). A small table's models are seconds each of small products, which
            one core computes about as fast as two, so the mixture trains about as many
            times faster as there are cores (``benchmarks/README.md``, "Fold models in
            parallel"). Each process computes with the threads the fit has divided by
            ``n_jobs``: with one thread each, the models are the ones a one-thread fit
            trains, to the last digit.

    Attributes: ``models_`` (the fitted ``MADE`` models, in float64), ``fit_results_``
    (their ``made.train.FitResult``), ``schema_`` (the columns' types, categories and
    statistics), ``n_features_in_``, ``feature_names_in_`` (for a DataFrame with string column
    names), ``offset_``, ``outlier_score_`` (``"likelihood"`` or ``"complexity"``) and, with
    complexity, ``binary_images_`` (the images are compressed at 1 bit a pixel).
    """

    def __init__(
        self,
        hidden_sizes: tuple[int, ...] | None = None,
        *,
        num_masks: int | None = None,
        dropout: float | None = None,
        num_components: int | None = None,
        n_models: int | str = "auto",
        lr: float | None = None,
        max_epochs: int | None = None,
        patience: int | None = None,
        min_epochs: int | None = None,
        noise: float | None = None,
        batch_size: int | str = "auto",
        calibrate: bool = True,
        validation_fraction: float = 0.1,
        contamination: float = 0.1,
        image_shape: tuple[int, int] | None = None,
        outlier_score: str = "auto",
        column_types: Mapping[str, str] | None = None,
        precision: str = "auto",
        device: str = "cpu",
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
        n_jobs: int | None = None,
    ) -> None:
        self.hidden_sizes = hidden_sizes
        self.num_masks = num_masks
        self.dropout = dropout
        self.num_components = num_components
        self.n_models = n_models
        self.lr = lr
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_epochs = min_epochs
        self.noise = noise
        self.batch_size = batch_size
        self.calibrate = calibrate
        self.validation_fraction = validation_fraction
        self.contamination = contamination
        self.image_shape = image_shape
        self.outlier_score = outlier_score
        self.column_types = column_types
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    # ---------------------------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any = None) -> MADEDensity:
        """Fit the density to the rows of ``X`` (``y`` is ignored)."""
        self._check_params()
        columns, names, dtypes = self._columns(X, reset=True)
        label = total_row(columns) if self.image_shape is None else None
        if label is not None:  # as the command line leaves a CSV file's line of totals out
            columns = [col[:-1] for col in columns]
            warnings.warn(f"the last row ({label!r}) holds the totals of the rows above: left "
                          "out of the fit", UserWarning, stacklevel=2)  # fmt: skip
        if self.image_shape is not None:  # checked before the training, not after
            pixels = check_pixels(self._pixels(columns))  # on one scale (made.data.columns)
            schema = pixel_schema(pixels.reshape(len(pixels), -1), names)
        else:
            schema = infer_column_schema(columns, names, dtypes, self.column_types)
        if schema.dropped:  # said, as the command line's column types say it
            ids = len(schema.dropped) > len(schema.free_text)  # free text cannot be kept
            keep = "; column_types={name: 'categorical' or 'real'} keeps a column" if ids else ""
            warnings.warn(f"{schema.left_out()}{keep}", UserWarning, stacklevel=2)
        x, _ = encode_columns(schema, columns)
        # a table's rules (pairs never seen, columns that determine others, orders, cuts,
        # sums); an image's pixels are not a table's columns, and 64 of them over a few
        # hundred images would show dependencies that are chance
        self.schema_ = schema.with_rules(x) if self.image_shape is None else schema
        self.outlier_score_ = self._resolve_outlier_score()
        if self.outlier_score_ == "complexity":  # images only (_check_params)
            self.binary_images_ = bool(np.all(pixels <= 1))
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(2**31 - 1))
        order = rng.permutation(len(x))
        count = self._n_models(x.shape)
        # one row order a round of folds: the first as drawn above, then one more a round
        orders = [order] + [rng.permutation(len(x)) for _ in range(1, -(-count // MAX_FOLDS))]
        batch = self._batch_size()
        # integer columns: training rows drawn within each integer's grid interval, the rest
        # (and every row scored) at its middle (made.data.table)
        noisy = self.schema_.dequantise(x, torch.Generator().manual_seed(seed))
        x = self.schema_.dequantise(x)
        self.models_, self.fit_results_ = [], []
        from tqdm.auto import tqdm

        # shown only on a long fit, on a terminal: a fit of seconds prints nothing
        bar = tqdm(total=count, unit="model", delay=5, leave=False,
                   disable=True if self.verbose else None)  # fmt: skip
        # model k's rows and settings; each is calibrated on the rows it held out (fit),
        # where it held out any
        splits = [self._split(orders, k, count) for k in range(count)]
        tasks = [(noisy[train_rows], x[valid_rows], (seed + k) % (2**31), batch,
                  self._ordering(k, count), len(valid_rows) < len(order), count > 1)
                 for k, (train_rows, valid_rows) in enumerate(splits)]  # fmt: skip
        jobs = self._jobs(count)
        try:
            if jobs > 1:
                bar.set_description(f"MADEDensity: {count} models, {jobs} at once")
                for k, (model, result) in enumerate(self._fit_in_processes(tasks, jobs)):
                    if self.verbose:
                        print(f"model {k + 1} of {count} trained: best epoch "
                              f"{result.best_epoch}", flush=True)  # fmt: skip
                    self.models_.append(model)
                    self.fit_results_.append(result)
                    bar.update(1)
            for k, task in enumerate(tasks if jobs == 1 else []):
                if self.verbose:
                    print(f"model {k + 1} of {count}: {len(task[0])} rows, "
                          f"{len(task[1])} held out", flush=True)  # fmt: skip
                bar.set_description(f"MADEDensity: model {k + 1} of {count}")
                model, result = self._fit_one(*task, bar=bar)
                self.models_.append(model)
                self.fit_results_.append(result)
                bar.update(1)
        finally:
            bar.close()
        normal = self._outlier_scores(x, np.zeros(x.shape, dtype=bool), columns)
        self.offset_ = float(np.quantile(normal, self.contamination))
        return self

    def _jobs(self, count: int) -> int:
        """How many of ``count`` models train at once (``n_jobs``; one on a GPU)."""
        if count < 2 or torch.device(self._device()).type != "cpu":
            return 1
        from joblib import effective_n_jobs

        return max(1, min(count, effective_n_jobs(self.n_jobs)))

    def _fit_in_processes(self, tasks: list[tuple[Any, ...]], jobs: int) -> Iterator[Any]:
        """``_fit_one`` of each task, ``jobs`` processes at once (joblib's loky), each with
        the fit's threads divided among them; in the tasks' order, as each is done."""
        from joblib import Parallel, delayed

        threads = max(1, torch.get_num_threads() // jobs)
        run = Parallel(n_jobs=jobs, backend="loky", return_as="generator")
        return run(delayed(self._fit_in_process)(task, threads) for task in tasks)

    def _fit_in_process(self, task: tuple[Any, ...], threads: int) -> tuple[MADE, Any]:
        """``_fit_one(*task)`` in a worker process of ``threads`` threads (``n_jobs``)."""
        torch.set_num_threads(threads)
        return self._fit_one(*task)

    def _resolve_outlier_score(self) -> str:
        if self.outlier_score == "auto":
            return "likelihood"  # on images too: the better mean (benchmarks/README.md)
        return self.outlier_score

    def _n_models(self, shape: tuple[int, ...]) -> int:
        if self.n_models != "auto":
            return int(self.n_models)
        if not _small(shape):
            return 1
        if shape[0] >= FEW_ROWS:
            return SMALL_MODELS
        # the second round was chosen on tables; images keep one (digits: 32 s a fit of 8
        # models of 64 pixels, which a second round would double)
        return FEW_MODELS if self.image_shape is None else MAX_FOLDS

    def _batch_size(self) -> int | None:
        """Rows per step; None: the recipe's."""
        return None if self.batch_size == "auto" else int(self.batch_size)

    def _split(self, orders: list[np.ndarray], k: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Model ``k``'s training and held-out rows, of ``count`` models: fold ``k`` of
        ``count`` held out (of ``MAX_FOLDS``, in round ``k // MAX_FOLDS``, whose row order is
        ``orders[k // MAX_FOLDS]``, for a mixture of more models), or with one model
        ``validation_fraction`` of the rows (none under 10 rows: the training rows
        themselves choose the epoch)."""
        folds, order = min(count, MAX_FOLDS), orders[k // MAX_FOLDS]
        if count > 1 and len(order) >= folds:
            held = np.zeros(len(order), dtype=bool)
            held[k % folds :: folds] = True
            return order[~held], order[held]
        n_valid = int(round(self.validation_fraction * len(order))) if len(order) >= 10 else 0
        if n_valid == 0:
            return order, order
        return order[n_valid:], order[:n_valid]

    def _ordering(self, k: int, count: int) -> str:
        """Model ``k``'s ordering, of ``count`` models: the columns' own for the first (the
        one ``explain`` reads) and for rows that are images (their raster order, which
        scores better than a random one on MNIST), a random one (from its seed) for every
        other fold model of a table's mixture. Models that saw the columns in different
        orders err differently, and their mixture gains from it at no cost: held out, 16
        real tables of 18 gain or tie, by 0.21 nats a row on average (benchmarks/README.md,
        "Fold models that see the columns in different orders")."""
        return "random" if count > 1 and k > 0 and self.image_shape is None else "natural"

    def _fit_one(
        self,
        train: np.ndarray,
        valid: np.ndarray,
        seed: int,
        batch: int | None,
        ordering: str,
        held_out: bool,
        mixture: bool = False,
        bar: Any = None,
    ) -> tuple[MADE, Any]:
        """One model of the mixture (``mixture``: of more than one; ``bar``: the fit's
        progress bar, in its own process)."""
        settings, config = self._settings(len(train), train.shape[1], batch, seed, held_out,
                                          mixture)  # fmt: skip
        settings["ordering"] = ordering
        model = MADE(train.shape[1], num_categories=self.schema_.num_categories,
                     missing=self.schema_.missing_dims, fixed=self.schema_.fixed,
                     **settings).to(self._device())  # fmt: skip

        def on_epoch(record: dict[str, Any]) -> None:
            if bar is None:  # in a process of its own (n_jobs): the fit says when it is done
                return
            bar.set_postfix(epoch=record["epoch"], valid=f"{record['valid_nll']:.3f}")
            if self.verbose:
                print(f"epoch {record['epoch']:4d}  train {record['train_loss']:.4f}  "
                      f"valid {record['valid_nll']:.4f} nats", flush=True)  # fmt: skip

        result = fit(model, self._tensor(train, model), self._tensor(valid, model), config,
                     on_epoch=on_epoch)  # fmt: skip
        # Scores in float64: a row's score then does not depend on the rows scored with it
        # (float32 products differ in the last digit with the batch's size).
        return model.double(), result

    def _check_params(self) -> None:
        resolve_device(self.device)  # refused before anything is read or trained
        if self.n_jobs is not None and (
            isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, int | np.integer)
            or self.n_jobs == 0
        ):  # fmt: skip
            raise ValueError(f"n_jobs must be None or a nonzero int (-1: every core); got "
                             f"{self.n_jobs!r}")  # fmt: skip
        if not (isinstance(self.contamination, float | int) and 0 < self.contamination <= 0.5):
            raise ValueError(f"contamination must be in (0, 0.5]; got {self.contamination!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1); got {self.validation_fraction!r}"
            )
        if self.n_models != "auto" and not (
            isinstance(self.n_models, int | np.integer) and self.n_models >= 1
        ):
            raise ValueError(f"n_models must be 'auto' or an int >= 1; got {self.n_models!r}")
        if self.batch_size != "auto" and not (
            isinstance(self.batch_size, int | np.integer) and self.batch_size >= 1
        ):
            raise ValueError(f"batch_size must be 'auto' or an int >= 1; got {self.batch_size!r}")
        if self.outlier_score not in OUTLIER_SCORES:
            raise ValueError(
                f"outlier_score must be one of {OUTLIER_SCORES}; got {self.outlier_score!r}"
            )
        if self.image_shape is not None:
            shape = tuple(self.image_shape)
            if len(shape) != 2 or not all(isinstance(n, int | np.integer) and n >= 1
                                          for n in shape):  # fmt: skip
                raise ValueError(
                    f"image_shape must be (height, width), two positive ints; got {shape!r}"
                )
            if self.column_types:
                raise ValueError("column_types does not apply to images: with image_shape "
                                 "every pixel is on one scale, an 8-bit level")  # fmt: skip
        elif self.outlier_score == "complexity":
            raise ValueError("outlier_score='complexity' reads rows as images: give image_shape")

    def _settings(
        self, num_train: int, num_dims: int, batch: int | None, seed: int, held_out: bool = True,
        mixture: bool = False,
    ) -> tuple[dict[str, Any], TrainConfig]:  # fmt: skip
        """The auto recipe sized to the data, with every parameter given in its place
        (``made.settings.resolve``, as ``made train`` does). ``held_out``: the model has rows
        of its own to validate on (not its training rows), which calibration needs;
        ``mixture``: it is one of several (the recipe trains such a model on where few rows
        are, ``made.recipes.recipe``)."""
        given = {"hidden_sizes": self.hidden_sizes, "num_masks": self.num_masks,
                 "dropout": self.dropout, "num_components": self.num_components, "lr": self.lr,
                 "epochs": self.max_epochs, "patience": self.patience,
                 "min_epochs": self.min_epochs, "noise": self.noise,
                 "precision": self.precision, "batch_size": batch, "seed": seed}  # fmt: skip
        if given["hidden_sizes"] is not None:
            given["hidden_sizes"] = tuple(given["hidden_sizes"])
        if not (self.calibrate and held_out):
            given["calibrate"] = False
        chosen = resolve("auto", {k: v for k, v in given.items() if v is not None},
                         num_train, num_dims, mixture)  # fmt: skip
        return chosen.model, chosen.train

    # ---------------------------------------------------------------------------- scoring
    def score_samples(self, X: Any) -> np.ndarray:
        """The log-density of each row, nats, in the data's own units (real columns as
        given, not standardised; categorical columns contribute log-probabilities). A value
        the fitted rows never showed in a categorical column, or a gap in a column that had
        none, is scored by the share of probability its column keeps for one
        (``made.data.novel``: a new category as one outcome, a new whole number spread over
        the whole numbers not seen); a value of probability zero (2.5 in a column of whole
        numbers) scores ``-inf``."""
        return self._density(*self._encoded(X))

    def _density(self, x: np.ndarray, unknown: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
        """The log-density of encoded rows, those with cells ``unknown`` marks included."""
        if not unknown.any():
            return self._log_density(x)
        new = novel_log_probs(self.schema_, columns, unknown)
        if np.isneginf(new).any():
            i, j = np.argwhere(np.isneginf(new))[0]
            value = columns[self.schema_.positions[j]][i]
            warnings.warn(
                f"{int(np.isneginf(new).sum())} cells hold a value of probability zero under "
                f"the model (the first: row {i}, column {self.schema_.names[j]!r}, {value!r}): "
                "their rows score -inf", UserWarning, stacklevel=3)  # fmt: skip
        return self._log_density(x, unknown) - novel_nll(self.schema_.columns, new)

    def _encoded(
        self, X: Any, gaps_anywhere: bool = False
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """``X`` checked and encoded (codes and standardised values), with a category the
        fitted rows never showed read as the first; a boolean array of where those are; and
        the columns as given. ``gaps_anywhere``: rows to impute (``encode_columns``)."""
        check_is_fitted(self)
        columns, _, _ = self._columns(X, reset=False)
        x, unknown = encode_columns(self.schema_, columns, unknown="mark",
                                    gaps_anywhere=gaps_anywhere)  # fmt: skip
        # a gap where the column had none is NaN in a real column: 0 stands in for it
        return self.schema_.dequantise(np.where(unknown & np.isnan(x), 0, x)), unknown, columns

    def _outlier_scores(
        self, x: np.ndarray, unknown: np.ndarray, columns: list[np.ndarray]
    ) -> np.ndarray:
        """The outlier score (``outlier_score_``) of encoded rows; higher: more normal."""
        log_p = self._density(x, unknown, columns)
        if self.outlier_score_ == "likelihood":
            return log_p
        return log_p + math.log(2) * png_bits(self._pixels(columns), self.binary_images_)

    def _pixels(self, columns: list[np.ndarray]) -> np.ndarray:
        """The rows as (N, height, width) images (``check_pixels`` and ``png_bits`` check
        that the values are pixels), or ValueError if the shape does not hold the columns."""
        height, width = self.image_shape  # type: ignore[misc]
        if height * width != len(columns):
            raise ValueError(
                f"image_shape {tuple(self.image_shape)} holds {height * width} pixels; the "
                f"rows have {len(columns)} columns"
            )
        return np.column_stack(columns).reshape(-1, height, width)

    def _log_density(self, x: np.ndarray, leave_out: np.ndarray | None = None) -> np.ndarray:
        """The log-density of rows already encoded, in the data's units: the mixture of the
        models, as probabilities (``leave_out``: cells whose terms are left out, in each
        model, ``score_rows``)."""
        data = self._tensor(x, self.models_[0])  # every model is float64 on one device
        drop = None if leave_out is None else torch.as_tensor(leave_out)
        members = []
        for model in self.models_:
            ensemble = model.num_masks if model.num_masks > 1 else None
            members.append(-score_rows(model, data, ensemble=ensemble, leave_out=drop).nll)
        log_p = torch.logsumexp(torch.stack(members), 0) - math.log(len(members))
        return log_p.numpy() - self.schema_.nll_offsets(x, leave_out)

    def score(self, X: Any, y: Any = None) -> float:
        """The mean log-density of the rows of ``X``, nats (higher is better: the criterion
        ``GridSearchCV`` and ``cross_val_score`` maximise)."""
        return float(np.mean(self.score_samples(X)))

    def decision_function(self, X: Any) -> np.ndarray:
        """The outlier score (``outlier_score``; with likelihood, ``score_samples(X)``)
        less ``offset_``: negative for the rows ``predict`` calls outliers."""
        return self._outlier_scores(*self._encoded(X)) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """+1 for an inlier, -1 for an outlier (an outlier score below ``offset_``)."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def explain(self, X: Any) -> np.ndarray:
        """Per row and column, ``-log p(column | the columns before it)`` in nats (the
        column's own units for real ones): they sum to ``-score_samples`` for a single-mask
        model, and the largest says where a row departs from what the model expects. (With
        several models or masks, the terms are the first model's first mask's, in the columns'
        order: they sum to its own score.) A category never seen in fit is scored as
        ``score_samples`` scores it, and the columns after it read it as
        ``made.data.novel`` says."""
        x, unknown, columns = self._encoded(X)
        model = self.models_[0]
        data = self._tensor(x, model)
        terms = score_rows(model, data, terms=True).terms.numpy()
        # the units: a real column's log standard deviation (and on a log scale, the log of
        # the row's value: its Jacobian), and the share each column keeps
        units = np.array([(math.log(c.std) if c.kind == "real" else 0.0) - log_kept(c)
                          for c in self.schema_.columns])  # fmt: skip
        per_row = np.column_stack([c.log_jacobian(x[:, j])
                                   for j, c in enumerate(self.schema_.columns)])  # fmt: skip
        novel = novel_log_probs(self.schema_, columns, unknown)
        return np.where(unknown, -novel, terms + units + per_row)

    # --------------------------------------------------------------------------- sampling
    def sample(self, n_samples: int = 1, random_state: Any = None) -> Any:
        """``n_samples`` rows drawn from the density: a DataFrame like the one fitted, or a
        numpy array (numbers, or objects for text columns)."""
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
            raise ValueError(f"n_samples must be a positive int; got {n_samples!r}")
        if n_samples < 1:
            raise ValueError(f"n_samples must be a positive int; got {n_samples!r}")
        rng = check_random_state(random_state)
        generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))

        bounds = self.schema_.sample_bounds()  # draws within each column's plausible range

        def draw(count: int) -> np.ndarray:
            which = rng.randint(len(self.models_), size=count)  # each row's model
            drawn = np.empty((count, len(self.schema_.columns)))
            for k, model in enumerate(self.models_):
                rows = np.flatnonzero(which == k)
                if len(rows):
                    ensemble = model.num_masks if model.num_masks > 1 else None
                    part = model.sample(len(rows), generator=generator, ensemble=ensemble,
                                        bounds=bounds)  # fmt: skip
                    drawn[rows] = part.double().cpu().numpy().reshape(len(rows), -1)
            return self.schema_.derive(drawn)  # a total from its terms (made.data.rules)

        drawn = keep_rules(self.schema_.violations, draw, int(n_samples))
        return self._as_given(decode_columns(self.schema_, drawn, samples=True))

    def impute(self, X: Any, random_state: Any = None) -> Any:
        """``X`` with its missing values (NaN, None, pandas' NA, blank text) filled from the
        model: each drawn from the model's conditional given the row's other values, and
        given that it is there (``made.impute``), the values present kept as they are, in
        any column (one with no gaps when fitted too). A DataFrame like ``X`` (its index too),
        or an array."""
        # a gap in a column that had none in training is drawn like any other (NaN there)
        x, unknown, columns = self._encoded(X, gaps_anywhere=True)
        holes = gaps(self.schema_, x)  # the gaps to fill (an unseen value is no gap)
        if unknown.any():  # the model cannot condition on it: drawn as a gap is, then kept
            i, j = np.argwhere(unknown)[0]
            warnings.warn(
                f"{int(unknown.sum())} cells hold a value the fitted rows never showed (the "
                f"first: row {i}, column {self.schema_.names[j]!r}), which the model cannot "
                "condition on: each is drawn as a gap is, for the gaps after it to condition "
                "on, and kept as it was", UserWarning, stacklevel=2)  # fmt: skip
        rng = check_random_state(random_state)
        generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
        model = self.models_[0]
        ensemble = model.num_masks if model.num_masks > 1 else None
        filled = impute(model, self.schema_, x, generator, ensemble=ensemble, unknown=unknown)
        decoded = decode_columns(self.schema_, filled, samples=True)
        out = [c.copy() for c in columns]
        for j, at in enumerate(self.schema_.positions):
            keep = ~holes[:, j]
            numeric = decoded[j].dtype.kind == "f" and out[at].dtype.kind == "f"
            values = decoded[j].astype(np.float64 if numeric else object)  # numbers stay so
            values[keep] = out[at][keep]
            out[at] = values
        return self._as_given(out, every=True, index=getattr(X, "index", None))

    def _as_given(self, columns: list[np.ndarray], every: bool = False, index: Any = None) -> Any:
        """Columns as the fitted data was given: a DataFrame with its names (the modelled
        columns, or ``every`` column; ``index``, a DataFrame's rows given, or 0, 1, ...), or
        an array (numbers, or objects for text)."""
        if getattr(self, "_frame", False):
            import pandas as pd

            names = self._frame_columns
            if not every:
                names = [names[at] for at in self.schema_.positions]
            dtypes = getattr(self, "_frame_dtypes", {})
            kinds = getattr(self, "_frame_pytypes", {})
            pairs = zip(names, columns, strict=True)
            frame = pd.DataFrame({
                name: _as_python(_as_dtype(values, dtypes.get(name)), kinds.get(name))
                for name, values in pairs
            })  # fmt: skip
            if index is not None:  # set, not aligned: each row is the one given
                frame.index = index
            if getattr(self, "_polars", False):
                import polars

                return polars.from_pandas(frame)
            return frame
        if all(c.dtype.kind in "fb" for c in columns):
            array = np.column_stack([c.astype(np.float64) for c in columns])
            return _as_dtype(array, getattr(self, "_array_dtype", None))
        return np.column_stack([c.astype(object) for c in columns])

    # ----------------------------------------------------------------------------- helpers
    def _columns(self, X: Any, reset: bool) -> tuple[list[np.ndarray], list[str], list[Any]]:
        """Check ``X`` as scikit-learn does (feature names and count, finite numbers, at
        least one row) and split it into typed columns. A polars DataFrame is read as
        pandas reads it (``to_pandas``)."""
        polars = type(X).__module__.split(".")[0] == "polars" and hasattr(X, "to_pandas")
        if polars:
            X = X.to_pandas(use_pyarrow_extension_array=True)  # its types kept, gaps too
        frame = hasattr(X, "columns") and hasattr(X, "dtypes")
        if frame:
            validate_data(self, X, reset=reset, skip_check_array=True)
            if len(X) == 0:
                raise ValueError("Found array with 0 sample(s) (shape=(0, ...)); at least 1 needed")
        else:
            kept = check_array(X, dtype=None, ensure_all_finite=False)
            numeric = kept.dtype.kind in "iufb"
            kept = check_array(X, dtype=None if not numeric else "numeric",
                               ensure_all_finite="allow-nan" if numeric else False)  # fmt: skip
            validate_data(self, kept, reset=reset, skip_check_array=True)
            X = kept
        if reset:
            self._frame = frame
            self._polars = polars  # samples and imputed rows given back as polars' too
            self._frame_columns = list(X.columns) if frame else None
            # what samples and imputed tables are given back as: integers stay integers
            self._frame_dtypes = dict(zip(X.columns, X.dtypes, strict=True)) if frame else {}
            # and a column of Python dates or times (a database's DATE, TIME) as such
            self._frame_pytypes = _python_times(X) if frame else {}
            self._array_dtype = None if frame else X.dtype
        return column_arrays(_in_fitted_zones(X, getattr(self, "_frame_dtypes", {})))

    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def _tensor(self, x: np.ndarray, model: MADE) -> torch.Tensor:
        """Encoded rows as ``model`` takes them: integer codes when every column is
        categorical, else codes and standardised values in the model's dtype."""
        weight = next(model.parameters())
        if self.schema_.has_real:
            return torch.as_tensor(x, dtype=weight.dtype, device=weight.device)
        return torch.as_tensor(np.rint(x), dtype=torch.long, device=weight.device)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True  # a missing value, modelled (made.data.table)
        return tags


def _as_dtype(values: np.ndarray, dtype: Any) -> Any:
    """Sampled or imputed ``values`` in the ``dtype`` the fitted column (or array) had, where
    they fit it: integers as integers (pandas' nullable ``Int64`` where a DataFrame column
    has a gap), pandas' nullable and categorical columns as such (a category that is no text,
    a number, an interval or a date, as itself); anything else as it is.
    pandas is imported only for a DataFrame's column: an array needs numpy alone."""
    if dtype is None:
        return values
    if numpy_times(dtype) is not dtype:  # pyarrow's times: drawn as pandas' own, given back
        import pandas as pd

        return pd.Series(_as_dtype(values, numpy_times(dtype))).astype(dtype).array
    if getattr(dtype, "kind", None) == "M":  # dates and times, as read: back as datetimes
        return _as_datetimes(values, dtype)
    if getattr(dtype, "kind", None) == "m":  # durations, read as seconds
        import pandas as pd

        return pd.to_timedelta(values.astype(np.float64), unit="s").astype(dtype).to_numpy()
    if isinstance(dtype, np.dtype):
        if dtype.kind not in "iufb":
            return values
        if dtype.kind in "iu" and any(isinstance(v, str) for v in values):  # integers past
            exact = [None if v is None else int(v) for v in values]  # 2**53, held as text
            if None not in exact:
                return np.array(exact, dtype=dtype)
            import pandas as pd

            return pd.array(exact, dtype="UInt64" if dtype.kind == "u" else "Int64")
        try:
            numbers = values.astype(np.float64)  # a gap (None) reads as NaN
        except (TypeError, ValueError):  # values the dtype cannot hold: as drawn
            return values
        if dtype.kind == "f" or not np.isnan(numbers).any():
            return numbers.astype(dtype)
        if dtype.kind in "iu" and values.ndim == 1:  # a DataFrame's column: pandas is there
            import pandas as pd

            return pd.array(numbers, dtype="Int64")
        return values
    import pandas as pd  # a pandas dtype: the fitted data was a DataFrame

    categories = getattr(dtype, "categories", None)
    if categories is not None:  # modelled as its categories' text (infer_column): back to them
        text = {str(c): c for c in categories}
        values = np.array([text.get(v, v) if isinstance(v, str) else v for v in values],
                          dtype=object)  # fmt: skip
    try:
        return pd.Series(values, dtype=object).where(pd.notna(values), None).astype(dtype)
    except (TypeError, ValueError):
        return values


def _python_times(X: Any) -> dict[Any, type]:
    """The columns of a DataFrame whose values are all Python dates (``datetime.date``, as
    a database's DATE reads) or all times of day (``datetime.time``), gaps aside, pandas
    holding them as objects: ``{name: datetime.date or datetime.time}``."""
    found = {}
    for name in X.columns:
        if X[name].dtype != object:
            continue
        values = X[name].to_numpy(dtype=object)
        present = values[~gaps_of(values)]
        for kind in (datetime.date, datetime.time):
            if len(present) and all(type(v) is kind for v in present):
                found[name] = kind
    return found


def _as_python(values: Any, kind: type | None) -> Any:
    """Drawn values of a column fitted as Python dates or times (``_python_times``), text
    as ``made.data.times`` writes them (``2021-03-04``, ``14:05:00``), as those objects
    again (None for a gap; a value kept, as imputing keeps it); any other column's as they
    are."""
    if kind is None:
        return values
    return np.array([kind.fromisoformat(v) if isinstance(v, str) else v if isinstance(v, kind)
                     else None for v in values], dtype=object)  # fmt: skip


def _in_fitted_zones(X: Any, dtypes: dict[Any, Any]) -> Any:
    """A DataFrame whose columns of times in a time zone are moved to the zone each was
    fitted in (its times are read at that zone's wall time): rows to score given in UTC
    read as the same instants as the Oslo times fitted. Anything else as it is."""
    moved = {}
    for name, dtype in dtypes.items():
        zone = getattr(numpy_times(dtype), "tz", None)
        if zone is None or name not in getattr(X, "columns", ()):
            continue
        given = getattr(numpy_times(X[name].dtype), "tz", None)
        if given is not None and str(given) != str(zone):
            moved[name] = X[name].dt.tz_convert(zone)
    return X.assign(**moved) if moved else X


def _as_datetimes(values: np.ndarray, dtype: Any) -> Any:
    """A date or date-and-time column's drawn values (text as ``column_arrays`` wrote the
    fitted ones, None for a gap) as the ``datetime64`` column it was fitted from (NaT for a
    gap), in its time zone where it had one: a drawn wall time that the zone's clocks skip
    is moved on to the next that exists, and one they show twice is read as standard time."""
    import pandas as pd

    times = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")
    zone = getattr(dtype, "tz", None)
    if zone is None:
        return times.astype(dtype).to_numpy()
    at = times.dt.tz_localize(zone, ambiguous=np.zeros(len(times), dtype=bool),
                              nonexistent="shift_forward")  # fmt: skip
    return at.astype(dtype).array


def _small(shape: tuple[int, ...]) -> bool:
    """A small table (rows x columns up to ``SMALL_TABLE``): the fold mixture, small batches."""
    return shape[0] * shape[1] <= SMALL_TABLE
