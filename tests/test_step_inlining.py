"""The rules' steps run inlined where the session step calls them (engine.sim.rule_kernels.compiled):
a call per held name and session was about a quarter of the simulation's time."""

from __future__ import annotations

import re

import pytest
from numba import njit

from engine.sim.rule_kernels import SIGNATURES, compiled
from strategies.registry import kernel_layout


def name_caller(step):
    def call(i, col, k, pos, price, w_fill, equity, due, target, marks, rules, p, state, s, log, log_count, c):
        return step(i, col, k, pos, price, w_fill, equity, due, target, marks, rules, p, state, s, log, log_count, c)
    return call


def book_caller(step):
    def call(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, p, members, group_cap, log,
             log_count, c, target, forced, scratch, group_scratch):
        step(i, from_col, to_col, w_prev, w_fill, tradable, gross_limit, rules, p, members, group_cap, log,
             log_count, c, target, forced, scratch, group_scratch)
    return call


@pytest.mark.parametrize("rule", kernel_layout().rules, ids=lambda rule: rule.name)
def test_a_compiled_step_leaves_no_call_in_the_code_calling_it(rule):
    step = compiled(rule)
    (compiled_step,) = step.overloads.values()
    name = compiled_step.fndesc.llvm_func_name
    caller = njit(_nrt=False, error_model="numpy")((book_caller if rule.phase == "book" else name_caller)(step))
    signature = SIGNATURES[rule.phase].args
    caller.compile(signature)
    code = caller.inspect_llvm(signature)
    assert "define" in code and not re.search(rf"(call|invoke) [^\n]*{re.escape(name)}", code)
