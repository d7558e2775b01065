"""The scope walker on its own: what is certainly assigned at each point of a cell."""

import ast

from jupyter_fairshare.notebook.scope import Scope


def walked(source: str) -> Scope:
    scope = Scope()
    scope.block(ast.parse(source).body)
    return scope


def test_a_name_assigned_in_both_branches_is_certain_and_in_one_is_not():
    scope = walked("if c:\n    x = y = 1\nelse:\n    x = 2\nprint(x, y)")
    assert list(scope.reads) == ["c", "print", "y"]
    assert scope.assigned == {"x"}


def test_a_name_assigned_in_a_loop_body_may_not_be_after_the_loop():
    scope = walked("for i in items:\n    last = i\nprint(last)")
    assert "last" in scope.reads and "items" in scope.reads and "i" not in scope.reads


def test_writes_are_kept_in_the_order_of_their_last_assignment():
    assert list(walked("a = 1\nb = 2\na = 3").writes) == ["b", "a"]
