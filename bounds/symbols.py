"""Every SymPy symbol of :mod:`bounds`, declared once with its assumptions.

``Symbol("x") != Symbol("x", positive=True)`` in SymPy, so a symbol declared twice with
different assumptions silently breaks ``.subs`` and simplification.  Theorem modules therefore
import their symbols from here and never call ``Symbol()`` themselves (style.md §8).

Variables (docs/theory.md §1–§6)
---------------------------
========== ===================== =====================================================
name       assumptions           meaning
========== ===================== =====================================================
n          positive integer      number of training points
d          positive integer      input dimension
m          positive integer      hidden width
lambda_0   positive              λ0 = λ_min(H∞)
lambda_max positive              λ_max(H∞)
delta      positive              failure probability δ (hypothesis δ < 1)
eta        positive              step size η
kappa      positive              initialisation scale κ, w_r(0) ~ N(0, κ² I)
xi         positive              Bernoulli keep probability ξ (hypothesis ξ ≤ 1)
p          positive integer      number of subnetworks
tau        positive integer      local steps τ per global step
K          positive integer      number of global steps
k          nonnegative integer   iteration index (k in ``rate**k``)
epsilon    positive              accuracy ε (ADHLW19)
C          positive              label bound |y_i| ≤ C
b          nonnegative           ReLU shift (DHSWZ22)
alpha      positive              sparsity exponent, b = √(2α log m) (DHSWZ22)
delta_sep  positive              data separation δ_sep (DHSWZ22)
r0         nonnegative           initial residual norm ‖y − u(0)‖
y_Hinv_y   nonnegative           yᵀ(H∞)⁻¹y (ADHLW19 Thm 5.1)
S          nonnegative           Σ_r ‖σ(X w_r)‖² (LK22 exact identities, docs/theory.md §5)
h          nonnegative           an eigenvalue h_i of the finite NTK H(W) (docs/theory.md §8)
q          nonnegative           q_i = v_iᵀ Q(W) v_i on its eigenvector (docs/theory.md §8)
P_W        nonnegative           P(W) = (1/m) Σ_r ‖σ(X w_r)‖² (docs/theory.md §8)
========== ===================== =====================================================

Absolute constants
------------------
The constants hidden by O(·)/Ω(·) are positive symbols ``c_*`` whose default value is 1
(:data:`CONSTANT_DEFAULTS`).  A theorem copies these defaults; they are overridden per call
(``evaluate("width", c_width=4, ...)``) or per theorem (:meth:`Theorem.with_constants`).
The exponents of the LK22 [STRUCT] templates are positive symbols ``e_*``; their defaults
are documented in :mod:`bounds.theorems.liao2022`.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "n", "d", "m", "lambda_0", "lambda_max", "delta", "eta", "kappa", "xi", "p", "tau", "K",
    "k", "epsilon", "C", "b", "alpha", "delta_sep", "r0", "y_Hinv_y", "S", "h", "q", "P_W",
    "c_width", "c_eta", "c_radius", "c_rate", "c_move", "c_kappa", "c_bias", "c_var",
    "c_local", "c_err", "c_fire", "c_cost",
    "e_n", "e_K", "e_lambda", "e_delta", "e_kappa", "e_theta",
    "SYMBOLS", "CONSTANTS", "CONSTANT_DEFAULTS", "TEMPLATE_EXPONENTS", "LATEX_NAMES",
    "ASSUMPTION_KEYS", "get_symbol", "assumptions_of", "make_symbol",
]

# --- variables -------------------------------------------------------------------------
n, d, m = sp.symbols("n d m", positive=True, integer=True)
p, tau, K = sp.symbols("p tau K", positive=True, integer=True)
k = sp.Symbol("k", nonnegative=True, integer=True)
lambda_0, lambda_max = sp.symbols("lambda_0 lambda_max", positive=True)
delta, eta, kappa, xi = sp.symbols("delta eta kappa xi", positive=True)
epsilon, C, alpha, delta_sep = sp.symbols("epsilon C alpha delta_sep", positive=True)
b = sp.Symbol("b", nonnegative=True)
r0, y_Hinv_y, S = sp.symbols("r0 y_Hinv_y S", nonnegative=True)
# the plateau model of docs/theory.md §8: an eigenvalue h of H(W), q = v^T Q(W) v on its
# eigenvector, and P(W) = (1/m) sum_r ||relu(X w_r)||^2
h, q, P_W = sp.symbols("h q P_W", nonnegative=True)

# --- absolute constants hidden by O / Omega (default 1) --------------------------------
c_width, c_eta, c_radius, c_rate, c_move, c_kappa = sp.symbols(
    "c_width c_eta c_radius c_rate c_move c_kappa", positive=True
)
c_bias, c_var, c_local, c_err, c_fire, c_cost = sp.symbols(
    "c_bias c_var c_local c_err c_fire c_cost", positive=True
)

# --- exponents of the LK22 [STRUCT] width templates (defaults in theorems/liao2022.py) --
e_n, e_K, e_lambda, e_delta, e_kappa, e_theta = sp.symbols(
    "e_n e_K e_lambda e_delta e_kappa e_theta", positive=True
)

_VARIABLES = (n, d, m, lambda_0, lambda_max, delta, eta, kappa, xi, p, tau, K, k, epsilon,
              C, b, alpha, delta_sep, r0, y_Hinv_y, S, h, q, P_W)

#: Absolute constants, each a positive symbol.
CONSTANTS: tuple[sp.Symbol, ...] = (c_width, c_eta, c_radius, c_rate, c_move, c_kappa,
                                    c_bias, c_var, c_local, c_err, c_fire, c_cost)
#: Default value of every absolute constant: 1.
CONSTANT_DEFAULTS: dict[sp.Symbol, sp.Integer] = {c: sp.Integer(1) for c in CONSTANTS}
#: Exponent parameters of the LK22 templates (no global default; see liao2022.py).
TEMPLATE_EXPONENTS: tuple[sp.Symbol, ...] = (e_n, e_K, e_lambda, e_delta, e_kappa, e_theta)

#: Plain name -> symbol, for every symbol declared here.
SYMBOLS: dict[str, sp.Symbol] = {s.name: s for s in _VARIABLES + CONSTANTS + TEMPLATE_EXPONENTS}

#: LaTeX spellings that SymPy's default printer would mangle.
LATEX_NAMES: dict[sp.Symbol, str] = {
    lambda_max: r"\lambda_{\max}",
    delta_sep: r"\delta_{\mathrm{sep}}",
    y_Hinv_y: r"y^{\top} (H^{\infty})^{-1} y",
    r0: r"\|y - u(0)\|",
}

#: Assumption keywords a user theorem (TOML) may declare for a symbol.
ASSUMPTION_KEYS = ("positive", "nonnegative", "negative", "nonpositive", "nonzero", "integer",
                   "real")


def get_symbol(name: str) -> sp.Symbol:
    """Return the built-in symbol called `name`.

    Raises
    ------
    KeyError
        If no built-in symbol has that name; the message lists the known names.
    """
    try:
        return SYMBOLS[name]
    except KeyError:
        raise KeyError(f"unknown symbol {name!r}; known: {sorted(SYMBOLS)}") from None


def assumptions_of(symbol: sp.Symbol) -> dict[str, bool]:
    """The declared assumptions of `symbol`, restricted to :data:`ASSUMPTION_KEYS`."""
    return {key: bool(value) for key, value in symbol._assumptions_orig.items()
            if key in ASSUMPTION_KEYS}


def make_symbol(name: str, assumptions: dict[str, bool]) -> sp.Symbol:
    """Return the symbol `name` with `assumptions`, reusing the built-in one when it exists.

    Used by the TOML loader (:mod:`bounds.parse`) for symbols a user theorem declares.  A
    built-in name must be declared with exactly the built-in assumptions (otherwise two
    different SymPy symbols would share a name).

    Parameters
    ----------
    name : str
        A Python identifier.
    assumptions : dict of str to bool
        Keys from :data:`ASSUMPTION_KEYS`.  An empty dict declares a real symbol.

    Raises
    ------
    ValueError
        If `name` is built-in but `assumptions` differ from the built-in declaration, or if
        the assumptions are inconsistent.
    """
    if name in SYMBOLS:
        builtin = SYMBOLS[name]
        declared = {key: val for key, val in assumptions.items() if val}
        wanted = {key: val for key, val in assumptions_of(builtin).items() if val}
        if declared and declared != wanted:
            raise ValueError(
                f"`{name}` is a built-in symbol declared with {wanted}, got {declared}; "
                f"declare it as {wanted} or use another name"
            )
        return builtin
    kwargs = dict(assumptions) if assumptions else {"real": True}
    try:
        return sp.Symbol(name, **kwargs)
    except Exception as exc:  # sympy raises InconsistentAssumptions (a ValueError) etc.
        raise ValueError(f"inconsistent assumptions {assumptions} for `{name}`: {exc}") from None
