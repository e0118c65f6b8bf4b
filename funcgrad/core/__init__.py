"""Layer 0, the core: the IR (plain data), tracers and trace state, abstract values, pytrees,
runtime config, error types and source locations. Imports nothing else from funcgrad."""
