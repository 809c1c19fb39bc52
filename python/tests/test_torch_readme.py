"""The README's Python snippet runs as pasted: it is read out of README.md (so the README cannot drift)
and run from a folder laid out like the repository root, with ../shared beside it."""

import os
import pathlib
import re
import subprocess
import sys

from support import REPO, TempDirTest, shared_path


def readme_python_snippet() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("\n## Python\n"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    if len(blocks) != 1:
        raise AssertionError(f"README.md's Python section should have one python block, has {len(blocks)}")
    return blocks[0]


class ReadmeSnippet(TempDirTest):
    def test_the_snippet_runs_as_pasted(self):
        root = self.tmp / "repo"
        root.mkdir()
        (self.tmp / "shared").symlink_to(shared_path("."), target_is_directory=True)
        done = subprocess.run([sys.executable, "-c", readme_python_snippet()], cwd=root, env=dict(os.environ),
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("mean_sqnr_db", done.stdout)
        self.assertTrue((root / "stories260K-hif8" / "model.safetensors").exists(), sorted(p.name for p in root.rglob("*")))
