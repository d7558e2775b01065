"""The cell analysis: which names are sent and which come back."""

import threading

import pytest

from jupyter_fairshare.client.errors import NotSerializable
from jupyter_fairshare.notebook.capture import analyse, check_serialisable, select_inputs


@pytest.mark.parametrize(
    ("source", "reads", "writes"),
    [
        ("y = x + 1", {"x"}, {"y"}),
        ("x = 1\ny = x", set(), {"x", "y"}),
        ("x += 1", {"x"}, {"x"}),
        ("a, *b = c", {"c"}, {"a", "b"}),
        ("[a, (b, c)] = d", {"d"}, {"a", "b", "c"}),
        ("n: int = m", {"m", "int"}, {"n"}),
        ("n: int", {"int"}, set()),
        ("for i in r:\n    s = s + i", {"r", "s"}, {"i", "s"}),
        ("while k:\n    k -= 1", {"k"}, {"k"}),
        ("with open(p) as fh:\n    data = fh.read()", {"open", "p"}, {"fh", "data"}),
        ("def f(a, b=d):\n    return a + g", {"d", "g"}, {"f"}),
        ("async def f():\n    await h()", {"h"}, {"f"}),
        ("class A(B):\n    v = w\n    def m(self):\n        return q", {"B", "w", "q"}, {"A"}),
        ("import numpy as np\nnp.zeros(n)", {"n"}, {"np"}),
        ("import os.path\nos.sep", set(), {"os"}),
        ("from math import pi as PI, tau", set(), {"PI", "tau"}),
        ("(t := 3) + t", set(), {"t"}),
        ("[i * k for i in L if i > m]", {"L", "m", "k"}, set()),
        ("{k: v for k, v in items}", {"items"}, set()),
        ("[y for y in range(3)]\ny", {"range", "y"}, set()),
        ("f = lambda a: a + k", {"k"}, {"f"}),
        ("d['k'] = v", {"d", "v"}, {"d"}),
        ("obj.attr += 1", {"obj"}, {"obj"}),
        ("del z", {"z"}, set()),
        ("z = 1\ndel z", set(), set()),
        ("def g():\n    global G\n    G = 1", set(), {"g", "G"}),
        ("def g():\n    def inner(u):\n        return u + outer\n    return inner", {"outer"}, {"g"}),
        ("print(x)\nx = 2", {"print", "x"}, {"x"}),
    ],
)
def test_reads_before_assignment_are_sent_and_assignments_come_back(source, reads, writes):
    names = analyse(source)
    assert set(names.reads) == reads
    assert set(names.writes) == writes


@pytest.mark.parametrize(
    ("source", "sent"),
    [
        ("if c:\n    x = 1\nprint(x)", True),
        ("if c:\n    x = 1\nelse:\n    x = 2\nprint(x)", False),
        ("for i in r:\n    x = i\nprint(x)", True),
        ("while c:\n    x = 1\nx", True),
        ("try:\n    x = f()\nexcept E:\n    pass\nx", True),
        ("try:\n    x = f()\nexcept E:\n    x = None\nx", False),
        ("try:\n    pass\nfinally:\n    x = 1\nx", False),
        ("match p:\n    case 1:\n        x = 1\nx", True),
        ("match p:\n    case 1:\n        x = 1\n    case _:\n        x = 2\nx", False),
        ("with c:\n    x = 1\nx", False),
    ],
)
def test_a_name_assigned_only_on_some_paths_is_still_sent(source, sent):
    assert ("x" in analyse(source).reads) is sent


def test_the_exception_name_does_not_come_back_because_python_unbinds_it():
    names = analyse("try:\n    f()\nexcept ValueError as e:\n    msg = str(e)")
    assert "e" not in names.writes and "msg" in names.writes and "e" not in names.reads


def test_match_captures_come_back():
    names = analyse("match p:\n    case [h, *rest]:\n        pass\n    case {'k': v, **more}:\n        pass")
    assert {"h", "rest", "v", "more"} <= set(names.writes)


def test_names_the_cell_imports_are_never_sent_even_if_read_first():
    names = analyse("np.zeros(3)\nimport numpy as np")
    assert "np" not in names.reads and names.imports == {"np"}


def test_reads_and_writes_keep_source_order():
    names = analyse("c = b + a\nd = e")
    assert names.reads == ("b", "a", "e") and names.writes == ("c", "d")


def test_a_syntax_error_is_raised_as_such():
    with pytest.raises(SyntaxError):
        analyse("x = = 1")


def test_select_inputs_keeps_defined_names_and_drops_builtins_and_shell_names():
    hidden_in = object()
    namespace = {"x": 1, "print": print, "max": 3, "In": hidden_in, "Out": {}}
    hidden = {"In": hidden_in, "Out": {}}
    chosen = select_inputs(["x", "print", "max", "In", "Out", "undefined"], namespace, hidden)
    assert chosen == ["x", "max", "Out"]


def test_an_unpicklable_variable_is_named_with_its_type():
    with pytest.raises(NotSerializable) as info:
        check_serialisable({"ok": [1, 2], "lock": threading.Lock()})
    assert info.value.name == "lock" and info.value.type == "_thread.lock"
    assert "'lock'" in str(info.value) and "_thread.lock" in str(info.value)


def test_picklable_values_pass_the_check():
    check_serialisable({"f": lambda v: v + 1, "data": {"a": [1.0]}})
