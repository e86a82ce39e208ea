"""made: MADE, the Masked Autoencoder for Distribution Estimation (Germain et al., 2015).

Exact, fast, tractable density models over binary and categorical vectors and images, and
over real-valued and mixed-type tables.
"""

from .calibration import calibrate  # noqa: E402
from .checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from .conditioner import MaskedMLP  # noqa: E402
from .config import MADEConfig, TrainConfig  # noqa: E402
from .distributions import MADEDistribution  # noqa: E402
from .evaluate import NLLResult, bits_per_dim, evaluate_nll  # noqa: E402
from .layers import MaskedLinear  # noqa: E402
from .model import LOG_SCALE_MIN, MADE  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = [
    "__version__",
    "LOG_SCALE_MIN",
    "MADE",
    "MADEConfig",
    "MADEDistribution",
    "MaskedLinear",
    "MaskedMLP",
    "NLLResult",
    "TrainConfig",
    "bits_per_dim",
    "calibrate",
    "evaluate_nll",
    "load_checkpoint",
    "save_checkpoint",
]
