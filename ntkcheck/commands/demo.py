"""``ntkcheck demo``: kernels and eigenvalues on built-in data (placeholder for the main job)."""
