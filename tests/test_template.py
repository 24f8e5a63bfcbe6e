"""`grade assign`'s template: one stub per function with the reference's real signature, the
rubric's `template_imports`, and a notebook that names its Python 3 kernel."""

from __future__ import annotations

import ast
import inspect

import nbformat
import pytest
import yaml

from grader.assign import build_release
from grader.errors import RubricError
from grader.reference import load_reference, prepare
from grader.rubric import load_rubric

REFERENCE = '''
import numpy as np


def scale(x: np.ndarray, factor: float = 2.0, *, dtype=np.float64, name: str = "s") -> np.ndarray:
    return np.asarray(x, dtype=dtype) * factor


def shift(x, /, by=(1, 2), *more, **options):
    return x + by[0]


COUNT = 3
'''


def rubric_data(**top) -> dict:
    return {
        "title": "Template",
        "reference": "ref.py",
        "entry": "sheet.py",
        **top,
        "questions": [
            {"id": "1a", "title": "Scaling", "checks": [
                {"id": "scale_small", "kind": "function", "name": "scale", "points": 1, "cases": [{"x": 1.0}],
                 "docstring": "Multiply x by factor."},
                {"id": "scale_big", "kind": "function", "name": "scale", "points": 1,
                 "cases": [{"x": 100.0, "factor": 3.0}]},
                {"id": "shift", "kind": "function", "name": "shift", "points": 1, "cases": [{"x": 1.0}]},
            ]},
            {"id": "1b", "title": "Again", "checks": [
                {"id": "scale_again", "kind": "function", "name": "scale", "points": 1, "cases": [{"x": 5.0}]},
                {"id": "COUNT", "kind": "value", "name": "COUNT", "type": "int", "points": 1},
                {"id": "COUNT_again", "kind": "value", "name": "COUNT", "type": "int", "points": 1},
            ]},
            {"id": "1c", "checks": [
                {"id": "answer", "kind": "text", "points": 1,
                 "criteria": [{"points": 1, "description": "why", "any": ["because"]}]},
            ]},
        ],
    }


def release(tmp_path, data=None):
    (tmp_path / "ref.py").write_text(REFERENCE)
    path = tmp_path / "rubric.yaml"
    path.write_text(yaml.safe_dump(data or rubric_data(), sort_keys=False))
    out = tmp_path / "release"
    build_release(prepare(load_rubric(path)), out)
    return out


def defined(source: str) -> list[str]:
    return [node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]


def assigned(source: str) -> list[str]:
    return [target.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)]


def code_of(notebook) -> str:
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def test_one_stub_per_function_and_one_placeholder_per_value(tmp_path):
    out = release(tmp_path)
    module = (out / "sheet.py").read_text()
    notebook = nbformat.read(out / "sheet.ipynb", as_version=4)
    for source in (module, code_of(notebook)):
        assert defined(source) == ["scale", "shift"]
        assert assigned(source).count("COUNT") == 1
    cells = {cell.source.split("(")[0].split(" =")[0]: cell for cell in notebook.cells if cell.cell_type == "code"}
    assert cells["def scale"].metadata["tags"] == ["check:1a/scale_small", "check:1a/scale_big", "check:1b/scale_again"]
    assert cells["COUNT"].metadata["tags"] == ["check:1b/COUNT", "check:1b/COUNT_again"]
    assert "Multiply x by factor." in cells["def scale"].source  # the first docstring the checks give
    # the later question says where its function is, instead of a second stub
    notes = [cell.source for cell in notebook.cells
             if cell.cell_type == "markdown" and "checked here too" in cell.source]
    assert notes == ["`scale` (in 1a above) is checked here too."]
    assert "# scale (in 1a above) is checked here too." in module


def test_stubs_have_the_reference_signature_without_annotations(tmp_path):
    out = release(tmp_path)
    module = (out / "sheet.py").read_text()
    assert "def scale(x, factor=2.0, *, dtype=np.float64, name='s'):" in module
    assert "def shift(x, /, by=(1, 2), *more, **options):" in module
    namespace: dict = {}
    exec(compile(module, "sheet.py", "exec"), namespace)  # the template runs as it is
    reference = load_reference(load_rubric(tmp_path / "rubric.yaml"))
    for name in ("scale", "shift"):
        mine, theirs = inspect.signature(namespace[name]), inspect.signature(getattr(reference, name))
        assert [(p.name, p.kind, p.default) for p in mine.parameters.values()] == \
            [(p.name, p.kind, p.default) for p in theirs.parameters.values()]
        with pytest.raises(NotImplementedError):
            namespace[name](1.0)


def test_the_rubric_lists_the_template_imports(tmp_path):
    out = release(tmp_path, rubric_data(template_imports=["numpy as np", "pandas as pd", "from math import pi"]))
    module = (out / "sheet.py").read_text()
    assert "\nimport numpy as np\nimport pandas as pd\nfrom math import pi\n" in module
    notebook = nbformat.read(out / "sheet.ipynb", as_version=4)
    imports = [cell.source for cell in notebook.cells if cell.cell_type == "code"][0]
    assert imports == "import numpy as np\nimport pandas as pd\nfrom math import pi"


def test_without_template_imports_the_template_imports_numpy(tmp_path):
    out = release(tmp_path)
    assert "\nimport numpy as np\n" in (out / "sheet.py").read_text()
    notebook = nbformat.read(out / "sheet.ipynb", as_version=4)
    assert [cell.source for cell in notebook.cells if cell.cell_type == "code"][0] == "import numpy as np"
    assert load_rubric(tmp_path / "rubric.yaml").template_imports == ["numpy as np"]


def test_a_template_import_that_is_not_an_import_is_refused(tmp_path):
    path = tmp_path / "rubric.yaml"
    path.write_text(yaml.safe_dump(rubric_data(template_imports=["numpy as np", "os; os.remove('x')"]),
                                   sort_keys=False))
    with pytest.raises(RubricError, match=r"field `template_imports`: .* is not an import"):
        load_rubric(path)


def test_the_notebook_names_the_python_3_kernel(tmp_path):
    notebook = nbformat.read(release(tmp_path) / "sheet.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3", "language": "python"}
    assert notebook.metadata["language_info"]["name"] == "python"
    assert notebook.metadata["language_info"]["file_extension"] == ".py"
