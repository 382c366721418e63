"""The shipped path-dependent rules' compiled per-session steps, one module per rule.

A rule's declaration (strategies.<rule>) names its step as ``"strategies.steps.<rule>:<function>"``,
so the config models and `rulebook validate` never import numba; engine.sim.rule_kernels imports
a step when a simulation first needs it.
"""
