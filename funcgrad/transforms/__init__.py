"""Layer 2, the transforms: interpreters over the IR built from the primitive table —
reverse mode, forward mode, batching, jit (passes + code generation), custom rules and
checkpointing, and the control-flow primitives whose rules transform their sub-IRs."""
