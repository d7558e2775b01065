"""The scope walker on its own: what is certainly assigned at each point of a cell."""

import ast

import pytest

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


@pytest.mark.parametrize(
    ("source", "changes"),
    [
        ("model.fit(X, y)", ["model", "X", "y"]),
        ("L.append(v)", ["L", "v"]),
        ("d.update(other)", ["d", "other"]),
        ("setattr(obj, 'a', 1)", ["obj"]),
        ("del x", ["x"]),
        ("n = rng.random()", ["rng"]),
        ("a.b[1].c()", ["a"]),
        ("np.copyto(dst, src)", ["np", "dst", "src"]),
        ("print(df)\nn = len(L)\nsorted(s)", []),
        ("def f():\n    L.append(1)\nf()", ["L"]),
        ("def f():\n    return len(L)\nf()", []),
    ],
)
def test_names_the_cell_may_change_in_place_are_found(source, changes):
    # Failed before the change: Scope recorded no changes, so in-place changes were lost.
    assert list(walked(source).changes) == changes


@pytest.mark.parametrize("source", ["obj.attr = v", "x[i] = v", "del x[0]", "x[0] += 1"])
def test_an_item_or_attribute_stored_brings_its_object_back(source):
    assert list(walked(source).writes) == [source.split("[")[0].split(".")[0].split()[-1]]


def test_reads_by_a_function_are_not_certain_and_later_definitions_count():
    scope = walked("def f():\n    return g() + h\ndef g():\n    return 1\nprint(f(), nowhere)")
    assert list(scope.direct) == ["print", "nowhere"]
    assert {"f", "g"} <= scope.bound and "h" in scope.reads
