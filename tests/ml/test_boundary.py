import pkgutil
import subprocess
import sys
from pathlib import Path

import ml

ROOT = Path(__file__).resolve().parents[2]


def test_ml_imports_with_django_unimportable():
    modules = [f"ml.{m.name}" for m in pkgutil.iter_modules(ml.__path__)]
    code = "import sys; sys.modules['django'] = None\n" + "\n".join(f"import {m}" for m in modules)
    code += "\nassert 'django' not in {k.split('.')[0] for k, v in sys.modules.items() if v is not None}"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(modules) >= 4
