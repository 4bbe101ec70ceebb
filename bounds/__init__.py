"""bounds: NTK convergence theorems encoded as SymPy objects (pure mathematics, no ntkcheck import)."""
